// Direct exchange: every message goes straight from the rank that holds the data to the rank
// that wants it. Algorithm name "direct" (alias "pairwise"). Serves all-to-all, gather and
// scatter, and is their fallback (algorithm.h).
//   all-to-all: rank r sends block j of its send buffer to rank j and receives rank j's block r
//     into block j of its recv buffer. Messages are issued in pairwise-exchange order (round k:
//     to r + k, from r - k; Thakur, Rabenseifner and Gropp, IJHPCA 2005), all sends first: the
//     executor posts the receives ahead and overlaps everything, so this is the direct
//     algorithm (NCCL's) with a contention-free order. (n-1)/n x S sent per rank in one round.
//   gather: every rank sends its block to the root, which receives them in the same rotated
//     order (root + 1, root + 2, ...); (n-1)/n x S arrives at the root.
//   scatter: the root sends block j to rank j, in that order.
// Copies of a rank's own block come after its first message, so the transfer overlaps them.
// Every pair of ranks may talk: a communicator connects its full mesh at init for it
// (docs/architecture.md).
#pragma once

#include <optional>
#include <vector>

#include "algo/algorithm.h"
#include "algo/plan.h"

namespace tutti {

extern const AlgorithmEntry kDirectAlgorithm;

bool directSupports(Collective collective);  // all-to-all, gather, scatter

// Rank `rank`'s plan (root for gather and scatter). nullopt for other collectives or a rank or
// root outside [0, nranks). In place, an all-to-all's receive of block j would have to wait
// for its own send of block j to finish, which waits for the peer's receive, which may wait the
// same way for a third rank: a cycle once messages span several slices. So the core runs an
// in-place all-to-all from a copy of the input, and its plans are never run aliased.
std::optional<Plan> directPlan(Collective collective, int nranks, int rank, size_t count,
                               int root = 0);

// Every other rank.
std::vector<int> directPeers(int nranks, int rank);

}  // namespace tutti
