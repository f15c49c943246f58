// What an algorithm is to the rest of Tutti: one entry of the algorithm table (algorithms.cc),
// defined in the algorithm's own file (ring.cc, recursive_doubling.cc, tree.cc,
// binomial_tree.cc, direct.cc). The choice,
// plans, the peers connected at init, TUTTI_ALGO's names and the tuner plugins all go through
// this table, so an algorithm is added by its own file and one line there.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "algo/cost_model.h"
#include "algo/plan.h"

namespace tutti {

// The table's order: chooseAlgorithm keeps the earlier algorithm on a tie, and tuner plugins
// see index i as Algorithm i (include/tutti/tutti_tuner.h).
enum class Algorithm : uint8_t { kRing, kRecursiveDoubling, kTree, kBinomialTree, kDirect };
constexpr int kNumAlgorithms = 5;

// Serves every call of its collectives the chosen algorithm cannot (chooseAlgorithm, makePlan),
// so its peers are always connected (neededPeers): ring for the collectives it serves, direct
// for all-to-all, gather and scatter (which ring does not serve).
constexpr Algorithm kFallbackAlgorithm = Algorithm::kRing;
Algorithm fallbackAlgorithm(Collective collective);

struct AlgorithmEntry {
  const char* name;   // as TUTTI_ALGO, logs and tuner plugins spell it
  const char* alias;  // a second spelling TUTTI_ALGO accepts; nullptr: none
  // Whether the algorithm serves (collective, nranks >= 1) on hosts shaped so.
  bool (*applies)(Collective collective, int nranks, const HostShape& hosts);
  // Rank `rank`'s plan (same buffer shapes as every algorithm's) where it applies; root is the
  // call's root (rooted collectives; 0 otherwise), hostOfRank holds every rank's host (one host:
  // all 0). nullopt: cannot serve this call (a layout that does not describe nranks ranks); the
  // fallback serves it.
  std::optional<Plan> (*plan)(Collective collective, int nranks, int rank, size_t count, int root,
                              const std::vector<int>& hostOfRank);
  // Every peer any of its plans of `rank` may exchange messages with, for any collective, root
  // and count, on this layout. Symmetric: a lists b iff b lists a.
  std::vector<int> (*peers)(int nranks, int rank, const std::vector<int>& hostOfRank);
  // Its cost model terms (cost_model.h) where it applies.
  CostTerms (*costTerms)(Collective collective, const CostShape& shape);
};

struct RegisteredAlgorithm {
  Algorithm id;
  const AlgorithmEntry* entry;
};
// Every algorithm once, in Algorithm order (algorithms.cc).
const std::array<RegisteredAlgorithm, kNumAlgorithms>& algorithmTable();
const AlgorithmEntry& algorithmEntry(Algorithm algorithm);

const char* algorithmName(Algorithm algorithm);                    // "ring", "rd", "tree"
std::optional<Algorithm> parseAlgorithm(const std::string& name);  // a name or alias

// The terms for a call moving `bytes` (the larger buffer, as nccl-tests counts size) over n
// ranks, contiguous on their hosts; nullopt where the algorithm does not apply.
std::optional<CostTerms> costTerms(Algorithm algorithm, Collective collective, int nranks,
                                   size_t bytes, const HostShape& hosts = HostShape());

// Predicted time (us): timeUs(costTerms(...)); nullopt where the algorithm does not apply.
std::optional<double> predictUs(Algorithm algorithm, Collective collective, int nranks,
                                size_t bytes, const ClusterCost& cost,
                                const HostShape& hosts = HostShape());
inline std::optional<double> predictUs(Algorithm algorithm, Collective collective, int nranks,
                                       size_t bytes, const LinkCost& cost,
                                       const HostShape& hosts = HostShape()) {
  return predictUs(algorithm, collective, nranks, bytes, uniformCost(cost), hosts);
}

// The plan for a choice (the fallback's where the chosen algorithm cannot make one).
// hostOfRank: host index per rank (tree follows it); empty = every rank on one host. root: the
// call's root, in [0, nranks), for rooted collectives (ignored by the others).
Plan makePlan(Algorithm algorithm, Collective collective, int nranks, int rank, size_t count,
              const std::vector<int>& hostOfRank = {}, int root = 0);

class AlgoSpec;  // algo/algo_spec.h

// Every peer `rank` may exchange messages with under the algorithms the spec allows (and the
// fallback): the communicator connects these at init. Symmetric, sorted, without `rank`.
std::vector<int> neededPeers(const AlgoSpec& spec, int nranks, int rank,
                             const std::vector<int>& hostOfRank = {});

}  // namespace tutti
