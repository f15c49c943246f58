// Symbolic verification of plans: runs every rank's plan in memory, each element carrying the
// multiset of (rank, index) contributions reduced into it, the number of times it was finalized
// and a hash of its reduction tree, then checks every output element holds exactly what the
// collective promises: every rank's contribution exactly once, finalized exactly once for
// reductions and never reduced further once finalized, and for all-reduce the same grouping of
// the reduction on every rank (floating-point results bit-identical across ranks). Detects
// deadlocks (a step waiting for a message nobody sends), size mismatches, out-of-bounds regions,
// and leftover messages. Used by unit tests and tutti-sim.
#pragma once

#include <string>
#include <vector>

#include "algo/plan.h"

namespace tutti {

struct VerifyResult {
  bool ok = true;
  std::string problem;  // the first problem found
};

// plans[r] is rank r's plan for the same call (the same root for rooted collectives). Every
// rank's buffers have NCCL's shapes for its role (recvBufferCount, sendBufferCount: empty where
// it does not use one), and besides the outputs, the verifier checks that no send buffer
// element changes unless an in-place output lies on it. inPlace aliases buffers as NCCL's
// in-place calls do: all-reduce, broadcast and reduce: send == recv (where the rank has both);
// all-gather and gather: send == recv + rank*count; reduce-scatter and scatter: recv == send +
// rank*count. All-to-all is never aliased (the core runs it in place from a copy).
VerifyResult verifyPlans(const std::vector<Plan>& plans, bool inPlace);

}  // namespace tutti
