// Binomial tree broadcast and reduce, the latency-optimal shape for small messages (MPICH's
// short-message MPI_Bcast and MPI_Reduce: Thakur, Rabenseifner and Gropp, IJHPCA 2005).
// Algorithm name "binomial".
//
// Shape. Positions are ranks relative to the root, v = (rank - root) mod n. Position v's parent
// is v with its lowest set bit cleared; its children are v + m for the powers of two m below
// that bit (below n at the root), while v + m < n. The tree is ceil(log2 n) deep, and every
// edge joins ranks a power of two apart, so for any root a rank's peers are rank +- 2^k mod n.
//
// Steps. The buffer is cut into chunks (defaultBinomialChunks); per chunk, a broadcast receives
// from the parent, forwards to the largest subtree in the same pass and then sends to the other
// children, largest first; a reduce folds each child's partial result in, smallest subtree
// first (it finishes first), and passes the sum to the parent, the root finalizing. Partial
// results off the root live in scratch, so those ranks never write recv. Chunks pipeline: a
// rank works on chunk k + 1 while its children work on chunk k.
//
// Cost, S the buffer size: ceil(log2 n) rounds against the chain's n - 1, but the root sends
// (broadcast) or reduces (reduce) S per child, ceil(log2 n) x S: it wins while latency
// dominates, the chain (ring.h) once bandwidth does.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "algo/algorithm.h"
#include "algo/plan.h"

namespace tutti {

// Named "binomial" (alias "binomial_tree"); broadcast and reduce.
extern const AlgorithmEntry kBinomialTreeAlgorithm;

bool binomialTreeSupports(Collective collective);

// Chunks of about kBinomialChunkElements elements, at most kBinomialMaxChunks.
constexpr size_t kBinomialChunkElements = 32768;
constexpr int kBinomialMaxChunks = 64;
int defaultBinomialChunks(size_t count);

// Rank `rank`'s plan for a call rooted at `root`; chunks <= 0: defaultBinomialChunks(count).
// nullopt for other collectives or a rank or root outside [0, nranks).
std::optional<Plan> binomialTreePlan(Collective collective, int nranks, int rank, size_t count,
                                     int root, int chunks = 0);

// Every peer a binomial plan of `rank` may use for any root: rank +- 2^k mod n, sorted.
std::vector<int> binomialTreePeers(int nranks, int rank);

}  // namespace tutti
