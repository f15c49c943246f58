// TUTTI_ALGO, parsed: which algorithms the user allows, per collective and size range.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "algo/algorithm.h"
#include "algo/plan.h"
#include "base/status.h"

namespace tutti {

// Syntax (NCCL_ALGO's, plus size ranges):
//   "ring"                         every collective uses ring where it applies
//   "^rd"                          never rd
//   "allreduce:rd;allgather:ring"  per collective (allreduce, allgather, reducescatter,
//                                  broadcast, reduce, alltoall, gather, scatter)
//   "allreduce:0-64K:rd,64K-:ring" per size range of the call's bytes, [lo, hi), K/M/G = 2^10..
// Unnamed collectives and uncovered sizes choose by the model among the allowed algorithms.
// Algorithm names are the table's (algorithms.cc), with their aliases.
class AlgoSpec {
 public:
  static Status parse(const std::string& text, AlgoSpec* out);

  // Algorithms allowed for (collective, bytes); empty means the spec says nothing.
  std::vector<Algorithm> allowed(Collective collective, size_t bytes) const;
  // Whether any rule could ever pick `algorithm` (to connect only the peers that may be needed).
  bool mayUse(Algorithm algorithm) const;

 private:
  struct Rule {
    int collective = -1;  // -1: any
    size_t lo = 0;
    size_t hi = SIZE_MAX;
    std::vector<Algorithm> algorithms;
  };
  std::vector<Rule> rules_;
  std::vector<Algorithm> excluded_;
};

}  // namespace tutti
