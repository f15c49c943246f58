// --validate: the symbolic verifier on every rank of a job small enough, and message matching
// between sampled ranks and their peers at full scale.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "algo/plan.h"
#include "algo/select.h"
#include "perf/sim/job.h"
#include "perf/sim/sample.h"

namespace tutti::sim {

// Symbolic verification runs all ranks of jobs up to this size, at sizes where ranks^2 x count
// symbolic contributions (each output element carries one per contributing rank) stay within
// kVerifyBudget; larger jobs are verified at the same ranks per host on fewer hosts.
constexpr int kVerifyMaxRanks = 128;
constexpr double kVerifyBudget = 1 << 21;

struct Validation {
  std::string scope;  // what the symbolic part covered
  long verified = 0;  // calls verified symbolically
  long pairs = 0;     // rank pairs matched at full scale
  std::vector<std::string> problems;
};

// hosts x perHost ranks, host-major.
std::vector<int> hostMajor(int hosts, int perHost);

// Every rank's plan of one call, verified symbolically out of place and in place; the problem
// or empty.
std::string verifyAll(Algorithm algorithm, Collective collective,
                      const std::vector<int>& hostOfRank, size_t count);

// Sampled ranks at full scale: what a rank sends to each peer, in order and size, is what the
// peer's plan receives from it, and the other way round. The problem or empty; *pairs counts
// the rank-peer pairs matched.
std::string matchPeers(const Job& job, const Sample& sample, Algorithm algorithm,
                       Collective collective, size_t count, long* pairs);

}  // namespace tutti::sim
