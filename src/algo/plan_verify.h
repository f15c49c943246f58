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

// plans[r] is rank r's plan for the same call. inPlace aliases buffers as NCCL's in-place calls
// do (all-reduce: send == recv; all-gather: send == recv + rank*count; reduce-scatter:
// recv == send + rank*count).
VerifyResult verifyPlans(const std::vector<Plan>& plans, bool inPlace);

}  // namespace tutti
