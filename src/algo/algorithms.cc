// The algorithm table, and what Tutti does with an algorithm by looking it up there.
//
// Adding an algorithm: write algo/<name>.h/.cc defining `extern const AlgorithmEntry
// k<Name>Algorithm` (algorithm.h says what each field promises; ring.cc is the smallest
// example); add its enumerator at the end of Algorithm and raise kNumAlgorithms (algorithm.h);
// add its line at the end of kAlgorithms below; list its .cc in src/CMakeLists.txt.
// AlgorithmTableTest (tests/algo/algorithms_test.cc) then checks the entry: its name parses
// back, its plans verify symbolically, its peers cover what its plans use.
#include <algorithm>

#include "algo/algo_spec.h"
#include "algo/algorithm.h"
#include "algo/binomial_tree.h"
#include "algo/direct.h"
#include "algo/recursive_doubling.h"
#include "algo/ring.h"
#include "algo/tree.h"

namespace tutti {
namespace {

constexpr std::array<RegisteredAlgorithm, kNumAlgorithms> kAlgorithms = {{
    {Algorithm::kRing, &kRingAlgorithm},
    {Algorithm::kRecursiveDoubling, &kRecursiveDoublingAlgorithm},
    {Algorithm::kTree, &kTreeAlgorithm},
    {Algorithm::kBinomialTree, &kBinomialTreeAlgorithm},
    {Algorithm::kDirect, &kDirectAlgorithm},
}};

// Lookups index the table by Algorithm; a line missing or out of place fails the build (a
// missing line is value-initialized, id kRing, so its id is out of place). The entries are not
// compared with nullptr: GCC cannot evaluate that of an object's address in a constant
// expression under -fsanitize=undefined, and an entry can only be some algorithm's address.
constexpr bool inAlgorithmOrder() {
  for (int i = 0; i < kNumAlgorithms; ++i) {
    if (static_cast<int>(kAlgorithms[i].id) != i) return false;
  }
  return true;
}
static_assert(inAlgorithmOrder(), "kAlgorithms: one line per Algorithm, in enum order");

// One host when the caller gives no layout.
std::vector<int> layoutOf(int nranks, const std::vector<int>& hostOfRank) {
  return hostOfRank.empty() ? std::vector<int>(std::max(0, nranks), 0) : hostOfRank;
}

}  // namespace

const std::array<RegisteredAlgorithm, kNumAlgorithms>& algorithmTable() { return kAlgorithms; }

const AlgorithmEntry& algorithmEntry(Algorithm algorithm) {
  return *kAlgorithms[static_cast<int>(algorithm)].entry;
}

Algorithm fallbackAlgorithm(Collective collective) {
  const bool ringServes = collective != Collective::kAllToAll &&
                          collective != Collective::kGather && collective != Collective::kScatter;
  return ringServes ? kFallbackAlgorithm : Algorithm::kDirect;
}

const char* algorithmName(Algorithm algorithm) {
  const int index = static_cast<int>(algorithm);
  return index < kNumAlgorithms ? kAlgorithms[index].entry->name : "unknown";
}

std::optional<Algorithm> parseAlgorithm(const std::string& name) {
  for (const RegisteredAlgorithm& a : kAlgorithms) {
    if (name == a.entry->name || (a.entry->alias != nullptr && name == a.entry->alias)) {
      return a.id;
    }
  }
  return std::nullopt;
}

std::optional<CostTerms> costTerms(Algorithm algorithm, Collective collective, int nranks,
                                   size_t bytes, const HostShape& hosts) {
  if (nranks < 1) return std::nullopt;
  const AlgorithmEntry& entry = algorithmEntry(algorithm);
  if (!entry.applies(collective, nranks, hosts)) return std::nullopt;
  return entry.costTerms(collective, costShapeOf(nranks, bytes, hosts));
}

std::optional<double> predictUs(Algorithm algorithm, Collective collective, int nranks,
                                size_t bytes, const ClusterCost& cost, const HostShape& hosts) {
  std::optional<CostTerms> terms = costTerms(algorithm, collective, nranks, bytes, hosts);
  if (!terms) return std::nullopt;
  return timeUs(*terms, cost);
}

Plan makePlan(Algorithm algorithm, Collective collective, int nranks, int rank, size_t count,
              const std::vector<int>& hostOfRank, int root) {
  const std::vector<int> layout = layoutOf(nranks, hostOfRank);
  const AlgorithmEntry& chosen = algorithmEntry(algorithm);
  if (chosen.applies(collective, nranks, hostShapeOf(layout))) {
    if (std::optional<Plan> plan = chosen.plan(collective, nranks, rank, count, root, layout)) {
      return std::move(*plan);
    }
  }
  // The fallback applies to its collectives everywhere and always plans (AlgorithmTableTest
  // checks it).
  return *algorithmEntry(fallbackAlgorithm(collective))
              .plan(collective, nranks, rank, count, root, layout);
}

std::vector<int> neededPeers(const AlgoSpec& spec, int nranks, int rank,
                             const std::vector<int>& hostOfRank) {
  const std::vector<int> layout = layoutOf(nranks, hostOfRank);
  std::vector<int> peers;
  for (const RegisteredAlgorithm& a : kAlgorithms) {
    // Both fallbacks are always connected: every collective can be called. Direct connects
    // every pair (all-to-all needs it), so every communicator is a full mesh
    // (docs/architecture.md says why and what it costs).
    const bool fallback = a.id == kFallbackAlgorithm || a.id == Algorithm::kDirect;
    if (!fallback && !spec.mayUse(a.id)) continue;
    for (int peer : a.entry->peers(nranks, rank, layout)) peers.push_back(peer);
  }
  std::sort(peers.begin(), peers.end());
  peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
  peers.erase(std::remove(peers.begin(), peers.end(), rank), peers.end());
  return peers;
}

}  // namespace tutti
