// Which ranks' plans tutti-sim generates at full scale, and those plans, made on demand.
#pragma once

#include <cstddef>
#include <map>
#include <vector>

#include "algo/plan.h"
#include "perf/sim/job.h"

namespace tutti::sim {

// Jobs up to this many ranks sample every rank.
constexpr int kSampleAllRanksUpTo = 64;

struct Sample {
  std::vector<int> hosts;  // every rank of these hosts is sampled
  std::vector<int> ranks;  // sorted
};

Sample sampleRanks(const Job& job);

// Plans of one call, generated on demand.
class PlanSet {
 public:
  PlanSet(const Job& job, Algorithm algorithm, Collective collective, size_t count)
      : job_(job), algorithm_(algorithm), collective_(collective), count_(count) {}
  const Plan& plan(int rank) {
    auto it = plans_.find(rank);
    if (it == plans_.end()) {
      it = plans_
               .emplace(rank, makePlan(algorithm_, collective_, job_.nranks, rank, count_,
                                       job_.hostOfRank))
               .first;
    }
    return it->second;
  }
  size_t generated() const { return plans_.size(); }

 private:
  const Job& job_;
  Algorithm algorithm_;
  Collective collective_;
  size_t count_;
  std::map<int, Plan> plans_;
};

}  // namespace tutti::sim
