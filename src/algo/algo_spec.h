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

enum class P2pAlgorithm : uint8_t;  // algo/p2p_choice.h

// Syntax (NCCL_ALGO's, plus size ranges):
//   "ring"                         every collective uses ring where it applies
//   "^rd"                          never rd
//   "allreduce:rd;allgather:ring"  per collective (allreduce, allgather, reducescatter,
//                                  broadcast, reduce, alltoall, gather, scatter)
//   "allreduce:0-64K:rd,64K-:ring" per size range of the call's bytes, [lo, hi), K/M/G = 2^10..
// Unnamed collectives and uncovered sizes choose by the model among the allowed algorithms.
// Algorithm names are the table's (algorithms.cc), with their aliases, and the p2p path's
// (oneshot, twoshot: algo/p2p_choice.h), which only device calls of one-host communicators use;
// a rule naming only those leaves the table's choice to the model.
class AlgoSpec {
 public:
  static Status parse(const std::string& text, AlgoSpec* out);

  // Algorithms allowed for (collective, bytes); empty means the spec says nothing.
  std::vector<Algorithm> allowed(Collective collective, size_t bytes) const;
  // Whether any rule could ever pick `algorithm` (to connect only the peers that may be needed).
  bool mayUse(Algorithm algorithm) const;
  // The p2p algorithms named for (collective, bytes) (empty: none), and whether one is excluded.
  std::vector<P2pAlgorithm> allowedP2p(Collective collective, size_t bytes) const;
  bool excludesP2p(P2pAlgorithm algorithm) const;
  // Whether any call may take a p2p algorithm: not when both are excluded, nor when the spec has
  // rules and none names one (TUTTI_ALGO=ring: device calls are staged, no window is mapped).
  bool mayUseP2p() const;

 private:
  struct Rule {
    int collective = -1;  // -1: any
    size_t lo = 0;
    size_t hi = SIZE_MAX;
    std::vector<Algorithm> algorithms;
    std::vector<P2pAlgorithm> p2p;
  };
  // Every entry of `list` of the rules covering (collective, bytes), once each, in rule order.
  template <typename T>
  std::vector<T> collect(Collective collective, size_t bytes, std::vector<T> Rule::*list) const;

  std::vector<Rule> rules_;
  std::vector<Algorithm> excluded_;
  std::vector<P2pAlgorithm> p2pExcluded_;
};

}  // namespace tutti
