#include "algo/cost_model.h"

#include <algorithm>

namespace tutti {

HostShape hostShapeOf(const std::vector<int>& hostOfRank) {
  std::vector<int> perHost;
  for (int host : hostOfRank) {
    if (host < 0) continue;
    if (static_cast<size_t>(host) >= perHost.size()) perHost.resize(host + 1, 0);
    ++perHost[host];
  }
  HostShape shape;
  shape.nhosts = 0;
  for (int ranks : perHost) {
    if (ranks == 0) continue;
    ++shape.nhosts;
    shape.maxRanksPerHost = std::max(shape.maxRanksPerHost, ranks);
  }
  if (shape.nhosts == 0) shape.nhosts = 1;
  return shape;
}

CostShape costShapeOf(int nranks, size_t bytes, const HostShape& hosts) {
  CostShape shape;
  shape.nranks = nranks;
  shape.n = nranks;
  shape.s = static_cast<double>(bytes);
  shape.nhosts = std::max(1, hosts.nhosts);
  shape.perHost = hosts.maxRanksPerHost > 0 ? std::min(hosts.maxRanksPerHost, nranks) : nranks;
  shape.crossesHosts = shape.nhosts > 1;
  return shape;
}

double timeUs(const CostTerms& terms, const ClusterCost& cost) {
  auto alpha = [&](const LinkCost& link) {
    return terms.messageBytes >= static_cast<double>(link.rendezvousBytes) ? link.rendezvousAlphaUs
                                                                           : link.alphaUs;
  };
  double wireNs = std::max(terms.intraWireBytes * cost.intra.betaNsPerByte,
                           terms.interWireBytes * cost.inter.betaNsPerByte);
  double reducedBytes = terms.reducedBytes;
  const double busiest = std::max(terms.intraWireBytes, terms.interWireBytes);
  if (cost.ranksPerCore > 1 && busiest > 0) {
    wireNs *= terms.averageWireBytes / busiest;
    reducedBytes = terms.averageReducedBytes;
  }
  return terms.intraRounds * alpha(cost.intra) + terms.interRounds * alpha(cost.inter) +
         (wireNs + reducedBytes * cost.intra.gammaNsPerByte) * 1e-3;
}

const char* costLevelName(CostLevel level) {
  return level == CostLevel::kIntra ? "intra" : "inter";
}

LevelTerms levelTerms(const CostTerms& terms, CostLevel level, size_t rendezvousBytes) {
  // One level: the other's rounds and wire bytes are 0, so the sum of rounds and the level's
  // wire bytes are what timeUs charges.
  const double rounds = terms.intraRounds + terms.interRounds;
  const bool rendezvous = terms.messageBytes >= static_cast<double>(rendezvousBytes);
  LevelTerms out;
  out.eagerRounds = rendezvous ? 0 : rounds;
  out.rendezvousRounds = rendezvous ? rounds : 0;
  out.wireKb = (level == CostLevel::kIntra ? terms.intraWireBytes : terms.interWireBytes) * 1e-3;
  out.reducedKb = terms.reducedBytes * 1e-3;
  return out;
}

}  // namespace tutti
