// Latency-optimal algorithms for small messages: log2 rounds instead of the ring's n-1 (Thakur,
// Rabenseifner and Gropp, "Optimization of collective communication operations in MPICH", IJHPCA
// 2005). Algorithm name "rd". S is the larger buffer's size, p the largest power of two <= n.
//   all-reduce, recursive doubling: each round exchanges the whole vector with rank ^ mask and
//     reduces it. n = p: log2(n) rounds, log2(n) * S sent per rank. Otherwise the first 2(n-p)
//     ranks fold in pairs first (the odd rank sends its input to the even one) and get the result
//     back at the end: log2(p) + 2 rounds; the even rank of a pair sends (log2(p) + 1) * S, the
//     odd one S, the other ranks log2(p) * S.
//   all-gather, recursive doubling (n a power of two): round k exchanges the 2^k chunks a rank
//     holds for its partner's adjacent 2^k. log2(n) rounds, (n-1)/n * S sent per rank.
//   reduce-scatter, recursive halving (n a power of two): round k sends the half of the live
//     range the rank does not keep and reduces the half it keeps. log2(n) rounds, (n-1)/n * S.
// Ring sends 2(n-1)/n * S (all-reduce) and (n-1)/n * S in 2(n-1) and n-1 rounds: recursive
// doubling wins while per-message latency dominates, ring once bandwidth does.
//
// All-reduce results are bit-identical on every rank: both partners of a round reduce the same
// two values (a op b, b op a; the ops are commutative), so every rank's reduction tree is the same.
#pragma once

#include <optional>
#include <vector>

#include "algo/algorithm.h"
#include "algo/plan.h"

namespace tutti {

// Named "rd" (alias "recursive_doubling").
extern const AlgorithmEntry kRecursiveDoublingAlgorithm;

// All-reduce for any nranks >= 1; all-gather and reduce-scatter for powers of two.
bool recursiveDoublingSupports(Collective collective, int nranks);

// Rank `rank`'s plan, same buffer shapes as ringPlan; nullopt where not supported (use ring).
std::optional<Plan> recursiveDoublingPlan(Collective collective, int nranks, int rank,
                                          size_t count);

// Every peer a recursive doubling plan of `rank` may exchange messages with, for any supported
// collective and count, sorted. Symmetric: a lists b iff b lists a.
std::vector<int> recursiveDoublingPeers(int nranks, int rank);

}  // namespace tutti
