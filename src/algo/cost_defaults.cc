#include "algo/cost_defaults.h"

namespace tutti {

LinkCost defaultLinkCost(const std::string& transport) {
  // Fitted on the development VM (docs/performance.md, "Cost model") to where ring overtakes
  // rd, which is what the model decides: alpha (per round, eager) and the rendezvous alpha from
  // those crossovers at 2 and 4 ranks; beta from large all-gathers; gamma from
  // tutti-reduce-bench's float32 sum out of cache (6.8 GB/s of input). A round costs more than
  // an 8-byte message alone (0.8 us over shm): it waits for the slower peer and its copy.
  constexpr double kGamma = 0.15;
  if (transport.find("tcp") != std::string::npos) return LinkCost{14.0, 0.7, kGamma};
  if (transport == "self") return LinkCost{0, 0, kGamma};
  if (transport == "shm/cma") return LinkCost{5.0, 0.12, kGamma, 64 << 10, 15.0};
  if (transport == "shm") return LinkCost{5.0, 0.2, kGamma};
  return LinkCost{14.0, 0.7, kGamma};
}

ClusterCost defaultCpuClusterCost() {
  return ClusterCost{defaultLinkCost("shm/cma"), defaultLinkCost("tcp")};
}

}  // namespace tutti
