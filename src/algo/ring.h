// Ring algorithms (Patarasuk and Yuan, "Bandwidth optimal all-reduce algorithms for clusters of
// workstations", JPDC 2009; NCCL's ring). Rank r sends to r+1 and receives from r-1.
//   reduce-scatter: n-1 steps; after step t each rank holds t+2 contributions of one chunk.
//   all-gather:     n-1 steps forwarding finished chunks.
//   all-reduce:     reduce-scatter then all-gather over count/n-element chunks.
//   broadcast:      a chain from the root along the ring, forwarded slice by slice.
//   reduce:         a chain along the ring ending at the root, partial results in scratch.
// Bytes each rank sends: all-reduce 2(n-1)/n * S, all-gather and reduce-scatter (n-1)/n * S,
// broadcast and reduce S (all but one rank), S being the larger buffer's size: the busbw
// factors of nccl-tests' PERFORMANCE.md.
#pragma once

#include "algo/algorithm.h"
#include "algo/plan.h"

namespace tutti {

// Serves its collectives (all but all-to-all, gather and scatter) at every rank count: their
// fallback (algorithm.h).
extern const AlgorithmEntry kRingAlgorithm;

bool ringSupports(Collective collective);

// root: the call's root for broadcast and reduce. A collective ring does not support gets a
// plan without steps.
Plan ringPlan(Collective collective, int nranks, int rank, size_t count, int root = 0);

}  // namespace tutti
