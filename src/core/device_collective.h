// Collectives on device buffers, on the caller's stream (NCCL's semantics: the call enqueues and
// returns; completion is the stream's).
//
// The path staged through page-locked host memory, which every transport can move:
//   stream:   copy send buffer -> pinned staging; host function "staged"
//   progress: (waits for "staged") the host collective on the staging buffers, as any queued
//             operation, on the communicator's progress thread; then raises the stream flag to
//             the operation's sequence number
//   stream:   wait until flag >= sequence; copy pinned staging -> receive buffer; host function
//             returning the staging buffers
// The stream waits on a flag (a kernel on CUDA, a task on the emulated device), never in a host
// function, so that two communicators on two streams cannot deadlock on the one thread CUDA runs
// host functions on. A failed operation raises the flag too (the receive buffer is then
// undefined) and makes the communicator's error sticky: tuttiCommGetAsyncError reports it.
#pragma once

#include "base/status.h"
#include "core/comm.h"
#include "core/operation.h"

namespace tutti {

// At init: the communicator's device (the calling thread's current device; under a launcher that
// exported a local rank, LOCAL_RANK mod the device count when the program set none) and its stream
// flag. Without a device runtime, device stays -1.
Status chooseCommDevice(tuttiComm* comm);

// Whether the call's buffers are device memory: tuttiInvalidArgument when the buffers it uses mix
// host and device memory, or lie on another device than the communicator's.
Status classifyBuffers(const tuttiComm* comm, const CollectiveArgs& args, bool* onDevice);

// Enqueues the collective on `stream` (a device stream of the active runtime; nullptr is the
// default stream). The caller holds callMutex and has checked the arguments.
Status issueDeviceCollective(tuttiComm* comm, const CollectiveArgs& args, void* stream);

}  // namespace tutti
