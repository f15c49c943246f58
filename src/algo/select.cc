#include "algo/select.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "algo/recursive_doubling.h"
#include "algo/ring.h"
#include "algo/tree.h"
#include "algo/tuner.h"
#include "base/log.h"

namespace tutti {
namespace {

constexpr Algorithm kAllAlgorithms[kNumAlgorithms] = {
    Algorithm::kRing, Algorithm::kRecursiveDoubling, Algorithm::kTree};
constexpr Collective kAllCollectives[] = {Collective::kAllReduce, Collective::kAllGather,
                                          Collective::kReduceScatter};

int floorLog2(int n) {
  int log = 0;
  while ((2 << log) <= n) ++log;
  return log;
}

std::string lowered(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  for (char c : text) {
    if (c == separator) {
      parts.push_back(part);
      part.clear();
    } else {
      part += c;
    }
  }
  parts.push_back(part);
  return parts;
}

// NCCL spells collectives without underscores; accept both.
int parseCollective(const std::string& name) {
  if (name == "allreduce" || name == "all_reduce") return static_cast<int>(Collective::kAllReduce);
  if (name == "allgather" || name == "all_gather") return static_cast<int>(Collective::kAllGather);
  if (name == "reducescatter" || name == "reduce_scatter") {
    return static_cast<int>(Collective::kReduceScatter);
  }
  return -1;
}

bool parseBytes(const std::string& text, size_t* out) {
  if (text.empty()) return false;
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 18) return false;
  size_t value = std::stoull(text.substr(0, digits));
  std::string unit = text.substr(digits);
  int shift = unit.empty() ? 0 : unit == "k" ? 10 : unit == "m" ? 20 : unit == "g" ? 30 : -1;
  if (shift < 0 || (shift > 0 && value > (SIZE_MAX >> shift))) return false;
  *out = value << shift;
  return true;
}

Status parseAlgorithmList(const std::string& spec, const std::string& text,
                          std::vector<Algorithm>* out) {
  for (const std::string& name : split(text, '/')) {
    std::optional<Algorithm> algorithm = parseAlgorithm(name);
    if (!algorithm) {
      return makeError(tuttiInvalidArgument,
                       "TUTTI_ALGO='{}': unknown algorithm '{}' (have: ring, rd, tree)", spec,
                       name);
    }
    out->push_back(*algorithm);
  }
  return Status::ok();
}

}  // namespace

const char* algorithmName(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kRing:
      return "ring";
    case Algorithm::kRecursiveDoubling:
      return "rd";
    case Algorithm::kTree:
      return "tree";
  }
  return "unknown";
}

std::optional<Algorithm> parseAlgorithm(const std::string& name) {
  if (name == "ring") return Algorithm::kRing;
  if (name == "rd" || name == "recursive_doubling") return Algorithm::kRecursiveDoubling;
  if (name == "tree") return Algorithm::kTree;
  return std::nullopt;
}

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

std::optional<CostTerms> costTerms(Algorithm algorithm, Collective collective, int nranks,
                                   size_t bytes, const HostShape& hosts) {
  if (nranks < 1) return std::nullopt;
  const double n = nranks;
  const double s = static_cast<double>(bytes);
  const int nhosts = std::max(1, hosts.nhosts);
  const int perHost = hosts.maxRanksPerHost > 0 ? std::min(hosts.maxRanksPerHost, nranks) : nranks;
  const bool crossesHosts = nhosts > 1;
  const bool reduces = collective != Collective::kAllGather;
  CostTerms terms;
  switch (algorithm) {
    case Algorithm::kRing: {
      // A rank's step waits only for its predecessor's, so the latency is that of the hops a
      // chunk travels: n - 1 per pass around the ring, of which H - 1 leave a host (NCCL counts
      // ring latency so: nInterSteps in ncclTopoTuneModel, src/graph/tuning.cc). One ring edge
      // leaves each host, carrying what any edge carries.
      const double passes = collective == Collective::kAllReduce ? 2 : 1;
      const double rounds = passes * (n - 1);
      const double wire = rounds / n * s;
      terms.interRounds = passes * (nhosts - 1);
      terms.intraRounds = rounds - terms.interRounds;
      terms.intraWireBytes = wire;
      terms.interWireBytes = crossesHosts ? wire : 0;
      terms.reducedBytes = reduces ? (n - 1) / n * s : 0;
      terms.messageBytes = s / n;
      terms.averageWireBytes = wire;  // every rank alike
      terms.averageReducedBytes = terms.reducedBytes;
      break;
    }
    case Algorithm::kRecursiveDoubling: {
      if (!recursiveDoublingSupports(collective, nranks)) return std::nullopt;
      const int p = 1 << floorLog2(nranks);
      const double log2p = floorLog2(nranks);
      // Partners at distance below the ranks per host (a power of two, hosts contiguous) stay
      // on the host; the rest, and the fold's exchanges, cross. Every rank of a host crosses in
      // the same rounds.
      const double intraLevels =
          crossesHosts ? std::min<double>(log2p, floorLog2(std::max(1, perHost))) : log2p;
      const double interLevels = log2p - intraLevels;
      if (collective == Collective::kAllReduce) {
        const double fold = nranks > p ? 1 : 0;  // in, then the result back out
        terms.intraRounds = intraLevels + (crossesHosts ? 0 : 2 * fold);
        terms.interRounds = interLevels + (crossesHosts ? 2 * fold : 0);
        terms.intraWireBytes = (log2p + 2 * fold) * s;
        terms.interWireBytes = crossesHosts ? perHost * terms.interRounds * s : 0;
        terms.reducedBytes = (log2p + fold) * s;
        terms.messageBytes = s;
      } else {
        // All-gather doubles its message from S/n, reduce-scatter halves it from S/2: the
        // rounds at distance >= m move (n - m)/n x S per rank either way.
        const double m = std::pow(2.0, intraLevels);
        terms.intraRounds = intraLevels;
        terms.interRounds = interLevels;
        terms.intraWireBytes = (n - 1) / n * s;
        terms.interWireBytes = crossesHosts ? perHost * (n - m) / n * s : 0;
        terms.reducedBytes = reduces ? (n - 1) / n * s : 0;
        terms.messageBytes = s / 2;  // from S/n in the first round to S/2 in the last
      }
      // The busiest rank's, as an average too: a fold's odd ranks send less, the rest alike.
      terms.averageWireBytes = terms.intraWireBytes;
      terms.averageReducedBytes = terms.reducedBytes;
      break;
    }
    case Algorithm::kTree: {
      if (!treeSupports(collective)) return std::nullopt;
      // Reduce up a chain and a binary tree, then broadcast back down, both trees at once, each
      // carrying half (tree.h), in chunks of 32 Ki elements (counted as 4-byte ones here). The
      // latency is the first chunk's 2 x height hops; later chunks follow in the pipeline,
      // their latency hidden behind the bytes (NCCL's tree latency has no per-chunk term:
      // ncclTopoTuneModel, src/graph/tuning.cc).
      const double chunks = std::min<double>(
          kTreeMaxChunks, std::max<double>(1, std::ceil(s / 2 / (kTreeChunkElements * 4.0))));
      terms.intraRounds = 2.0 * (perHost - 1);
      terms.interRounds = crossesHosts ? 2.0 * floorLog2(nhosts) : 0;
      // Every tree edge carries S/2 up and S/2 down in each tree; every rank but a tree's root
      // has its S/2 reduced once into its parent's: on average 2(n-1)/n S sent and (n-1)/n S
      // reduced, what ring moves.
      terms.averageWireBytes = 2 * (n - 1) / n * s;
      terms.averageReducedBytes = (n - 1) / n * s;
      // Per half, a chain member sends S/2 up and S/2 down (its tail only up): 2 S for a
      // middle member, S with two ranks on the host; it reduces S/2 from its follower. A head
      // sends S/2 to its tree parent and to each tree child and reduces S/2 from each tree
      // child and its follower, summed over both trees; the busiest host counts.
      terms.intraWireBytes = perHost > 2 ? 2 * s : perHost == 2 ? s : 0;
      terms.reducedBytes = perHost > 1 ? s : 0;
      const DoubleBinaryTree trees = doubleBinaryTree(nhosts);
      for (int host = 0; host < nhosts; ++host) {
        int sent = 0;
        int reduced = perHost > 1 ? 2 : 0;
        for (int t = 0; t < 2; ++t) {
          const int children = static_cast<int>(trees.children[t][host].size());
          sent += (trees.parent[t][host] >= 0 ? 1 : 0) + children;
          reduced += children;
        }
        if (crossesHosts) terms.interWireBytes = std::max(terms.interWireBytes, sent * s / 2);
        terms.reducedBytes = std::max(terms.reducedBytes, reduced * s / 2);
      }
      terms.messageBytes = s / 2 / chunks;
      break;
    }
  }
  return terms;
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

std::optional<double> predictUs(Algorithm algorithm, Collective collective, int nranks,
                                size_t bytes, const ClusterCost& cost, const HostShape& hosts) {
  std::optional<CostTerms> terms = costTerms(algorithm, collective, nranks, bytes, hosts);
  if (!terms) return std::nullopt;
  return timeUs(*terms, cost);
}

Status AlgoSpec::parse(const std::string& text, AlgoSpec* out) {
  AlgoSpec spec;
  std::string body = lowered(text);
  if (body.empty()) {
    *out = spec;
    return Status::ok();
  }
  if (body[0] == '^') {
    for (const std::string& part : split(body.substr(1), ',')) {
      TUTTI_RETURN_IF_ERROR(parseAlgorithmList(text, part, &spec.excluded_));
    }
    if (std::all_of(std::begin(kAllAlgorithms), std::end(kAllAlgorithms),
                    [&](Algorithm a) { return !spec.mayUse(a); })) {
      return makeError(tuttiInvalidArgument, "TUTTI_ALGO='{}' excludes every algorithm", text);
    }
    *out = spec;
    return Status::ok();
  }
  for (const std::string& clause : split(body, ';')) {
    if (clause.empty()) continue;
    std::vector<std::string> head = split(clause, ':');
    int collective = -1;
    std::string rest = clause;
    const bool startsWithRange =
        !head[0].empty() && std::isdigit(static_cast<unsigned char>(head[0][0]));
    if (head.size() >= 2 && !startsWithRange) {
      collective = parseCollective(head[0]);
      if (collective < 0) {
        return makeError(tuttiInvalidArgument,
                         "TUTTI_ALGO='{}': unknown collective '{}' (have: allreduce, allgather, "
                         "reducescatter)",
                         text, head[0]);
      }
      rest = clause.substr(head[0].size() + 1);
    }
    for (const std::string& item : split(rest, ',')) {
      Rule rule;
      rule.collective = collective;
      std::vector<std::string> range = split(item, ':');
      std::string names = item;
      if (range.size() == 2) {
        std::vector<std::string> bounds = split(range[0], '-');
        bool ok = bounds.size() == 2 && parseBytes(bounds[0], &rule.lo) &&
                  (bounds[1].empty() || parseBytes(bounds[1], &rule.hi)) && rule.lo < rule.hi;
        if (!ok) {
          return makeError(tuttiInvalidArgument,
                           "TUTTI_ALGO='{}': bad size range '{}' (want LO-HI or LO-, bytes with "
                           "optional K/M/G, LO < HI)",
                           text, range[0]);
        }
        names = range[1];
      } else if (range.size() > 2) {
        return makeError(tuttiInvalidArgument, "TUTTI_ALGO='{}': cannot read '{}'", text, item);
      }
      TUTTI_RETURN_IF_ERROR(parseAlgorithmList(text, names, &rule.algorithms));
      spec.rules_.push_back(rule);
    }
  }
  *out = spec;
  return Status::ok();
}

std::vector<Algorithm> AlgoSpec::allowed(Collective collective, size_t bytes) const {
  std::vector<Algorithm> result;
  for (const Rule& rule : rules_) {
    if ((rule.collective < 0 || rule.collective == static_cast<int>(collective)) &&
        bytes >= rule.lo && bytes < rule.hi) {
      for (Algorithm a : rule.algorithms) {
        if (std::find(result.begin(), result.end(), a) == result.end()) result.push_back(a);
      }
    }
  }
  return result;
}

bool AlgoSpec::mayUse(Algorithm algorithm) const {
  if (std::find(excluded_.begin(), excluded_.end(), algorithm) != excluded_.end()) return false;
  for (const Rule& rule : rules_) {
    if (std::find(rule.algorithms.begin(), rule.algorithms.end(), algorithm) !=
        rule.algorithms.end()) {
      return true;
    }
  }
  // Sizes no rule covers are the model's to choose, among every algorithm.
  for (Collective collective : kAllCollectives) {
    std::vector<std::pair<size_t, size_t>> ranges;
    for (const Rule& rule : rules_) {
      if (rule.collective < 0 || rule.collective == static_cast<int>(collective)) {
        ranges.emplace_back(rule.lo, rule.hi);
      }
    }
    std::sort(ranges.begin(), ranges.end());
    size_t covered = 0;
    for (auto [lo, hi] : ranges) {
      if (lo > covered) break;
      covered = std::max(covered, hi);
    }
    if (covered != SIZE_MAX) return true;
  }
  return false;
}

Choice chooseAlgorithm(const AlgoSpec& spec, Collective collective, int nranks, size_t bytes,
                       const ClusterCost& cost, Tuner* tuner, const HostShape& hosts) {
  Choice choice;
  std::vector<Algorithm> candidates = spec.allowed(collective, bytes);
  choice.pinned = !candidates.empty();
  if (candidates.empty()) {
    for (Algorithm a : kAllAlgorithms) {
      if (spec.mayUse(a)) candidates.push_back(a);
    }
  }
  double best = -1;
  for (Algorithm a : kAllAlgorithms) {
    choice.predictedUs[static_cast<int>(a)] = -1;
    if (std::find(candidates.begin(), candidates.end(), a) == candidates.end()) continue;
    std::optional<double> us = predictUs(a, collective, nranks, bytes, cost, hosts);
    if (!us) continue;
    choice.predictedUs[static_cast<int>(a)] = *us;
    // Strictly cheaper: on a tie the earlier algorithm (ring) stays.
    if (best < 0 || *us < best) {
      best = *us;
      choice.algorithm = a;
    }
  }
  if (best < 0) choice.algorithm = Algorithm::kRing;  // nothing allowed applies here
  choice.modelAlgorithm = choice.algorithm;
  if (tuner == nullptr || choice.pinned || best < 0) return choice;
  double costs[kNumAlgorithms];
  std::copy(std::begin(choice.predictedUs), std::end(choice.predictedUs), costs);
  if (!tuner->adjust(collective, bytes, costs)) return choice;
  double tunedBest = -1;
  Algorithm tunedAlgorithm = choice.algorithm;
  for (Algorithm a : kAllAlgorithms) {
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

Plan makePlan(Algorithm algorithm, Collective collective, int nranks, int rank, size_t count,
              const std::vector<int>& hostOfRank) {
  if (algorithm == Algorithm::kTree) {
    const std::vector<int> oneHost(nranks, 0);
    if (std::optional<Plan> plan =
            treePlan(collective, nranks, rank, count, hostOfRank.empty() ? oneHost : hostOfRank)) {
      return std::move(*plan);
    }
  }
  if (algorithm == Algorithm::kRecursiveDoubling) {
    if (std::optional<Plan> plan = recursiveDoublingPlan(collective, nranks, rank, count)) {
      return std::move(*plan);
    }
  }
  return ringPlan(collective, nranks, rank, count);
}

std::vector<int> neededPeers(const AlgoSpec& spec, int nranks, int rank,
                             const std::vector<int>& hostOfRank) {
  std::vector<int> peers;
  if (nranks > 1) {
    peers.push_back((rank + 1) % nranks);
    peers.push_back((rank + nranks - 1) % nranks);
  }
  if (spec.mayUse(Algorithm::kRecursiveDoubling)) {
    for (int peer : recursiveDoublingPeers(nranks, rank)) peers.push_back(peer);
  }
  if (spec.mayUse(Algorithm::kTree) && nranks > 1) {
    const std::vector<int> oneHost(nranks, 0);
    for (int peer : treePeers(nranks, rank, hostOfRank.empty() ? oneHost : hostOfRank)) {
      peers.push_back(peer);
    }
  }
  std::sort(peers.begin(), peers.end());
  peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
  peers.erase(std::remove(peers.begin(), peers.end(), rank), peers.end());
  return peers;
}

}  // namespace tutti
