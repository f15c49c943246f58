// Everything a torch.distributed backend depends on that differs between torch 1.13 (Debian 12's
// python3-torch) and torch 2.x, in one place, so that a port touches only this file.
//
// torch 1.13: a backend is a c10d::ProcessGroup subclass, made by a creator function that
// Backend.register_backend receives; torch 2.x: a c10d::Backend subclass (ProcessGroup became the
// dispatching front that holds one Backend per device type), its header
// <torch/csrc/distributed/c10d/Backend.hpp>, and register_backend takes the devices it serves.
// The options structs (AllreduceOptions ...), ReduceOp, OpType and c10d::Work are alike in both.
// Coalescing (batch_isend_irecv) differs: 1.13's endCoalescing(reqs) returns nothing, 2.x's
// endCoalescing() returns one Work for the whole group (process_group.h overrides the 1.13 form).
#pragma once

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

namespace tutti_torch {

// The class a backend derives from (2.x: c10d::Backend).
using BackendBase = c10d::ProcessGroup;

}  // namespace tutti_torch
