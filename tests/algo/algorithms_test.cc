#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "algo/algo_spec.h"
#include "algo/algo_spec_testing.h"
#include "algo/algorithm.h"
#include "algo/plan_verify.h"

namespace tutti {
namespace {

constexpr Collective kCollectives[] = {Collective::kAllReduce,     Collective::kAllGather,
                                       Collective::kReduceScatter, Collective::kBroadcast,
                                       Collective::kReduce,        Collective::kAllToAll,
                                       Collective::kGather,        Collective::kScatter};

// The roots a call of n ranks may have: every rank for rooted collectives, 0 for the others.
std::vector<int> rootsOf(Collective c, int n) {
  std::vector<int> roots = {0};
  if (isRooted(c)) {
    for (int root = 1; root < n; ++root) roots.push_back(root);
  }
  return roots;
}

// Host layouts of n ranks: one host, one host per rank, two contiguous blocks, and hosts taken
// round robin (ranks of a host not contiguous; algorithms that follow hosts must cope).
std::vector<std::vector<int>> layoutsOf(int n) {
  std::vector<int> oneHost(n, 0), ownHost(n), twoBlocks(n), roundRobin(n);
  for (int r = 0; r < n; ++r) {
    ownHost[r] = r;
    twoBlocks[r] = r < (n + 1) / 2 ? 0 : 1;
    roundRobin[r] = r % 3;
  }
  return {oneHost, ownHost, twoBlocks, roundRobin};
}

std::string describe(const std::string& name, Collective c, int n, const std::vector<int>& hosts) {
  std::string out = name + " " + collectiveName(c) + " n " + std::to_string(n) + " hosts";
  for (int h : hosts) out += " " + std::to_string(h);
  return out;
}

TEST(AlgorithmTableTest, EveryAlgorithmOnceInOrderWithEveryField) {
  std::set<std::string> names;
  for (int i = 0; i < kNumAlgorithms; ++i) {
    const RegisteredAlgorithm& a = algorithmTable()[i];
    ASSERT_EQ(static_cast<int>(a.id), i);
    ASSERT_NE(a.entry, nullptr) << i;
    ASSERT_EQ(&algorithmEntry(a.id), a.entry) << i;
    const AlgorithmEntry& e = *a.entry;
    ASSERT_TRUE(e.name != nullptr && *e.name != '\0') << i;
    EXPECT_TRUE(e.applies && e.plan && e.peers && e.costTerms) << e.name;
    EXPECT_TRUE(names.insert(e.name).second) << "two algorithms named " << e.name;
    if (e.alias != nullptr) EXPECT_TRUE(names.insert(e.alias).second) << e.alias;
  }
}

TEST(AlgorithmTableTest, NamesRoundTripThroughTheParser) {
  for (const RegisteredAlgorithm& a : algorithmTable()) {
    EXPECT_STREQ(algorithmName(a.id), a.entry->name);
    EXPECT_EQ(parseAlgorithm(a.entry->name), a.id) << a.entry->name;
    if (a.entry->alias != nullptr) EXPECT_EQ(parseAlgorithm(a.entry->alias), a.id);
    // TUTTI_ALGO pins it by name, and the error for an unknown name lists it.
    EXPECT_EQ(parsed(a.entry->name).allowed(Collective::kAllReduce, 8),
              std::vector<Algorithm>{a.id});
    AlgoSpec spec;
    Status status = AlgoSpec::parse("no-such-algorithm", &spec);
    EXPECT_NE(status.message().find(a.entry->name), std::string::npos) << status.message();
  }
}

TEST(AlgorithmTableTest, PlansVerifyAndPeersCoverThemFor1To9Ranks) {
  for (const RegisteredAlgorithm& a : algorithmTable()) {
    const AlgorithmEntry& e = *a.entry;
    for (Collective c : kCollectives) {
      for (int n = 1; n <= 9; ++n) {
        for (const std::vector<int>& hosts : layoutsOf(n)) {
          const std::string what = describe(e.name, c, n, hosts);
          const HostShape shape = hostShapeOf(hosts);
          const bool applies = e.applies(c, n, shape);
          // The model prices exactly the calls the algorithm serves.
          const std::optional<CostTerms> terms = costTerms(a.id, c, n, 4096, shape);
          ASSERT_EQ(terms.has_value(), applies) << what;
          if (!applies) continue;
          for (double term : {terms->intraRounds, terms->interRounds, terms->messageBytes,
                              terms->intraWireBytes, terms->interWireBytes, terms->reducedBytes,
                              terms->averageWireBytes, terms->averageReducedBytes}) {
            EXPECT_TRUE(std::isfinite(term) && term >= 0) << what;
          }
          std::vector<std::vector<int>> peers(n);
          for (int r = 0; r < n; ++r) peers[r] = e.peers(n, r, hosts);
          // Counts below, at and above one element per rank, for every root (symbolic
          // verification tracks every element; multi-chunk trees are tree_test.cc's and
          // binomial_tree_test.cc's).
          for (int root : rootsOf(c, n)) {
            for (size_t count : {size_t{0}, size_t{1}, size_t{7}, static_cast<size_t>(2 * n + 1)}) {
              std::vector<Plan> plans;
              for (int r = 0; r < n; ++r) {
                std::optional<Plan> plan = e.plan(c, n, r, count, root, hosts);
                ASSERT_TRUE(plan) << what << " rank " << r;
                EXPECT_EQ(plan->algorithm, e.name) << what;
                for (int p : plan->peers()) {
                  ASSERT_TRUE(std::count(peers[r].begin(), peers[r].end(), p))
                      << what << " rank " << r << " uses " << p << " its peers do not list";
                }
                plans.push_back(std::move(*plan));
              }
              for (bool inPlace : {false, true}) {
                VerifyResult result = verifyPlans(plans, inPlace);
                ASSERT_TRUE(result.ok) << what << " root " << root << " count " << count
                                       << " in place " << inPlace << ": " << result.problem;
              }
            }
          }
          for (int r = 0; r < n; ++r) {
            for (int p : peers[r]) {
              ASSERT_TRUE(p >= 0 && p < n && p != r) << what;
              ASSERT_TRUE(std::count(peers[p].begin(), peers[p].end(), r))
                  << what << ": " << r << " lists " << p << " but not back";
            }
          }
        }
      }
    }
  }
}

TEST(AlgorithmTableTest, TheFallbackServesEveryCall) {
  for (Collective c : kCollectives) {
    const AlgorithmEntry& fallback = algorithmEntry(fallbackAlgorithm(c));
    for (int n = 1; n <= 9; ++n) {
      for (const std::vector<int>& hosts : layoutsOf(n)) {
        ASSERT_TRUE(fallback.applies(c, n, hostShapeOf(hosts))) << describe("", c, n, hosts);
        for (int root : rootsOf(c, n)) {
          ASSERT_TRUE(fallback.plan(c, n, n - 1, 10, root, hosts)) << describe("", c, n, hosts);
        }
      }
    }
  }
  // Ring serves what it can; direct what ring cannot.
  EXPECT_EQ(fallbackAlgorithm(Collective::kBroadcast), Algorithm::kRing);
  EXPECT_EQ(fallbackAlgorithm(Collective::kAllToAll), Algorithm::kDirect);
  EXPECT_EQ(fallbackAlgorithm(Collective::kGather), Algorithm::kDirect);
  EXPECT_EQ(fallbackAlgorithm(Collective::kScatter), Algorithm::kDirect);
}

TEST(NeededPeersTest, SymmetricAndCoverEveryPlanThatMayRun) {
  for (const char* text : {"", "ring", "rd", "tree", "binomial", "direct"}) {
    AlgoSpec spec = parsed(text);
    for (int n = 1; n <= 33; ++n) {
      std::vector<std::vector<int>> peers(n);
      for (int r = 0; r < n; ++r) peers[r] = neededPeers(spec, n, r);
      for (int r = 0; r < n; ++r) {
        for (int p : peers[r]) {
          ASSERT_NE(p, r);
          ASSERT_TRUE(std::count(peers[p].begin(), peers[p].end(), r)) << n << " " << r << " " << p;
        }
        for (const RegisteredAlgorithm& registered : algorithmTable()) {
          const Algorithm a = registered.id;
          if (!spec.mayUse(a)) continue;
          for (Collective c : kCollectives) {
            for (int root : rootsOf(c, n)) {
              for (int p : makePlan(a, c, n, r, 2 * n + 1, {}, root).peers()) {
                ASSERT_TRUE(std::count(peers[r].begin(), peers[r].end(), p))
                    << text << " n " << n << " rank " << r << " needs " << p;
              }
            }
          }
        }
      }
    }
  }
  // With hosts: tree peers follow the layout (every rank its own host: tree neighbours).
  std::vector<int> ownHosts(8);
  for (int r = 0; r < 8; ++r) ownHosts[r] = r;
  for (int r = 0; r < 8; ++r) {
    std::vector<int> peers = neededPeers(parsed("tree"), 8, r, ownHosts);
    for (int p : makePlan(Algorithm::kTree, Collective::kAllReduce, 8, r, 100, ownHosts).peers()) {
      EXPECT_TRUE(std::count(peers.begin(), peers.end(), p)) << r << " needs " << p;
    }
  }
  // Pinned to ring, still every peer: all-to-all, gather and scatter exchange with everyone
  // (their fallback is direct), so the communicator is a full mesh (docs/architecture.md).
  EXPECT_EQ(neededPeers(parsed("ring"), 8, 0), (std::vector<int>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(neededPeers(parsed("^direct"), 5, 2), (std::vector<int>{0, 1, 3, 4}));
}

}  // namespace
}  // namespace tutti
