#include "algo/choice.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "algo/tuner.h"

namespace tutti {

Choice chooseAlgorithm(const AlgoSpec& spec, Collective collective, int nranks, size_t bytes,
                       const ClusterCost& cost, Tuner* tuner, const HostShape& hosts) {
  Choice choice;
  choice.algorithm = fallbackAlgorithm(collective);
  std::vector<Algorithm> candidates = spec.allowed(collective, bytes);
  choice.pinned = !candidates.empty();
  if (candidates.empty()) {
    for (const RegisteredAlgorithm& a : algorithmTable()) {
      if (spec.mayUse(a.id)) candidates.push_back(a.id);
    }
  }
  double best = -1;
  for (const RegisteredAlgorithm& registered : algorithmTable()) {
    const Algorithm a = registered.id;
    choice.predictedUs[static_cast<int>(a)] = -1;
    if (std::find(candidates.begin(), candidates.end(), a) == candidates.end()) continue;
    std::optional<double> us = predictUs(a, collective, nranks, bytes, cost, hosts);
    if (!us) continue;
    choice.predictedUs[static_cast<int>(a)] = *us;
    // Strictly cheaper: on a tie the earlier algorithm in the table (ring) stays.
    if (best < 0 || *us < best) {
      best = *us;
      choice.algorithm = a;
    }
  }
  if (best < 0) choice.algorithm = fallbackAlgorithm(collective);  // nothing allowed applies
  choice.modelAlgorithm = choice.algorithm;
  if (tuner == nullptr || choice.pinned || best < 0) return choice;
  double costs[kNumAlgorithms];
  std::copy(std::begin(choice.predictedUs), std::end(choice.predictedUs), costs);
  if (!tuner->adjust(collective, bytes, costs)) return choice;
  double tunedBest = -1;
  Algorithm tunedAlgorithm = choice.algorithm;
  for (const RegisteredAlgorithm& registered : algorithmTable()) {
    const Algorithm a = registered.id;
    const int i = static_cast<int>(a);
    // Only the model's candidates: a plugin cannot bring in what does not apply or is excluded.
    choice.tunedUs[i] = choice.predictedUs[i] < 0 ? -1 : costs[i];
    if (choice.tunedUs[i] < 0) continue;
    if (tunedBest < 0 || choice.tunedUs[i] < tunedBest) {
      tunedBest = choice.tunedUs[i];
      tunedAlgorithm = a;
    }
  }
  if (tunedBest < 0) return choice;
  choice.tuned = true;
  choice.algorithm = tunedAlgorithm;
  return choice;
}

}  // namespace tutti
