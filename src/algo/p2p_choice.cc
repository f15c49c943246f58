#include "algo/p2p_choice.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "algo/cost_topology.h"

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

bool p2pCostFromTopology(const topo::Topology& cluster, const std::vector<int>& devices,
                         P2pCost* out, std::string* basis) {
  std::vector<int> gpuOfRank;
  for (int device : devices) {
    int found = -1;
    for (size_t i = 0; i < cluster.nodes.size(); ++i) {
      const topo::Node& node = cluster.nodes[i];
      if (node.kind == topo::NodeKind::kGpu && node.host == 0 && node.gpuIndex == device) {
        found = static_cast<int>(i);
      }
    }
    if (found < 0) {
      *basis = fmt::format("device {} is not a GPU of the host's topology", device);
      return false;
    }
    if (std::find(gpuOfRank.begin(), gpuOfRank.end(), found) != gpuOfRank.end()) {
      *basis = fmt::format("ranks share device {}", device);
      return false;
    }
    gpuOfRank.push_back(found);
  }
  TopologyCost cost;
  const std::vector<int> hostOfRank(devices.size(), 0);
  const Status status =
      clusterCostFromTopology(cluster, hostOfRank, gpuOfRank, ClusterCost(), &cost);
  if (!status.isOk() || !cost.fromTopology || cost.intraGBps <= 0) {
    *basis = status.isOk() ? "the topology prices no link between the GPUs" : status.message();
    return false;
  }
  out->gbps = cost.intraGBps;
  out->barrierUs = P2pCost().barrierUs + 2 * cost.intraLatencyUs;
  *basis = cost.intraBasis;
  return true;
}

}  // namespace tutti
