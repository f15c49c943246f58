// Algorithm selection: which algorithm serves a call. The cost model (cost_model.h) predicts
// each algorithm's time; the cheapest wins unless TUTTI_ALGO (algo_spec.h) pins one, and a tuner
// plugin (tuner.h) may re-rank what the model allowed. The choice is data: what the model
// predicted for every candidate is kept beside it, for logs and tools.
#pragma once

#include <cstddef>

#include "algo/algo_spec.h"
#include "algo/algorithm.h"
#include "algo/cost_model.h"
#include "algo/plan.h"

namespace tutti {

struct Choice {
  Algorithm algorithm = kFallbackAlgorithm;
  double predictedUs[kNumAlgorithms] = {};        // the model's; < 0: not a candidate
  bool pinned = false;                            // TUTTI_ALGO decided, not the model
  Algorithm modelAlgorithm = kFallbackAlgorithm;  // the model's choice, before any tuner
  bool tuned = false;                             // a tuner plugin adjusted the costs (tunedUs)
  double tunedUs[kNumAlgorithms] = {};            // the costs after the tuner; < 0: not a candidate
};

class Tuner;  // algo/tuner.h

// The cheapest allowed algorithm that applies; the collective's fallback (fallbackAlgorithm:
// ring, or direct for all-to-all, gather and scatter) when nothing else does. With
// a tuner, the model's predictions go through the tuner plugin first (Tuner::adjust) and the
// cheapest of its costs wins; TUTTI_ALGO pins win over the tuner (it is not consulted where a
// rule covers the call), and the tuner can only re-rank or remove the allowed candidates, never
// add one.
Choice chooseAlgorithm(const AlgoSpec& spec, Collective collective, int nranks, size_t bytes,
                       const ClusterCost& cost, Tuner* tuner = nullptr,
                       const HostShape& hosts = HostShape());
inline Choice chooseAlgorithm(const AlgoSpec& spec, Collective collective, int nranks, size_t bytes,
                              const LinkCost& cost, Tuner* tuner = nullptr,
                              const HostShape& hosts = HostShape()) {
  return chooseAlgorithm(spec, collective, nranks, bytes, uniformCost(cost), tuner, hosts);
}

}  // namespace tutti
