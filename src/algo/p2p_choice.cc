#include "algo/p2p_choice.h"

#include <algorithm>
#include <vector>

namespace tutti {

const char* p2pAlgorithmName(P2pAlgorithm algorithm) {
  return algorithm == P2pAlgorithm::kOneShot ? "oneshot" : "twoshot";
}

std::optional<P2pAlgorithm> parseP2pAlgorithm(const std::string& name) {
  if (name == "oneshot" || name == "one_shot") return P2pAlgorithm::kOneShot;
  if (name == "twoshot" || name == "two_shot") return P2pAlgorithm::kTwoShot;
  return std::nullopt;
}

std::optional<double> p2pPredictUs(P2pAlgorithm algorithm, Collective collective, int nranks,
                                   size_t bytes, const P2pCost& cost) {
  const bool reduces = collective == Collective::kAllReduce;
  if (!reduces && collective != Collective::kAllGather &&
      collective != Collective::kReduceScatter) {
    return std::nullopt;
  }
  if (algorithm == P2pAlgorithm::kTwoShot && !reduces) return std::nullopt;
  const double n = nranks;
  const double usPerByte = 1e-3 / cost.gbps;  // 1 GB/s = 1000 bytes per us
  const double b = static_cast<double>(bytes);
  if (algorithm == P2pAlgorithm::kTwoShot) {
    return 3 * cost.barrierUs + b * usPerByte + 2 * (n - 1) / n * b * usPerByte;
  }
  // oneshot: all-reduce reads every peer's whole message; all-gather and reduce-scatter read
  // every peer's block, (n - 1) / n of the larger buffer.
  const double remote = reduces ? (n - 1) * b : (n - 1) / n * b;
  return 2 * cost.barrierUs + b * usPerByte + remote * usPerByte;
}

std::optional<P2pAlgorithm> chooseP2pAlgorithm(const AlgoSpec& spec, Collective collective,
                                               int nranks, size_t bytes, const P2pCost& cost) {
  std::vector<P2pAlgorithm> candidates = spec.allowedP2p(collective, bytes);
  if (candidates.empty()) {
    if (!spec.allowed(collective, bytes).empty()) return std::nullopt;
    candidates = {P2pAlgorithm::kOneShot, P2pAlgorithm::kTwoShot};
  }
  std::optional<P2pAlgorithm> best;
  double bestUs = 0;
  for (P2pAlgorithm algorithm : candidates) {
    if (spec.excludesP2p(algorithm)) continue;
    const std::optional<double> us = p2pPredictUs(algorithm, collective, nranks, bytes, cost);
    if (us && (!best || *us < bestUs)) {
      best = algorithm;
      bestUs = *us;
    }
  }
  return best;
}

}  // namespace tutti
