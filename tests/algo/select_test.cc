#include "algo/select.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "algo/plan_verify.h"

namespace tutti {
namespace {

AlgoSpec parsed(const std::string& text) {
  AlgoSpec spec;
  Status status = AlgoSpec::parse(text, &spec);
  EXPECT_TRUE(status.isOk()) << text << ": " << status.message();
  return spec;
}

TEST(AlgoSpecTest, EmptyAllowsEverythingAndPinsNothing) {
  AlgoSpec spec = parsed("");
  EXPECT_TRUE(spec.allowed(Collective::kAllReduce, 8).empty());
  EXPECT_TRUE(spec.mayUse(Algorithm::kRing));
  EXPECT_TRUE(spec.mayUse(Algorithm::kRecursiveDoubling));
}

TEST(AlgoSpecTest, NcclSyntaxPerCollectiveAndExclusion) {
  AlgoSpec ring = parsed("ring");
  EXPECT_EQ(ring.allowed(Collective::kAllGather, 1 << 20),
            std::vector<Algorithm>{Algorithm::kRing});
  EXPECT_FALSE(ring.mayUse(Algorithm::kRecursiveDoubling));

  AlgoSpec perCollective = parsed("allreduce:rd;allgather:ring");
  EXPECT_EQ(perCollective.allowed(Collective::kAllReduce, 8),
            std::vector<Algorithm>{Algorithm::kRecursiveDoubling});
  EXPECT_EQ(perCollective.allowed(Collective::kAllGather, 8),
            std::vector<Algorithm>{Algorithm::kRing});
  EXPECT_TRUE(perCollective.allowed(Collective::kReduceScatter, 8).empty());  // model decides

  AlgoSpec noRd = parsed("^rd");
  EXPECT_TRUE(noRd.mayUse(Algorithm::kRing));
  EXPECT_FALSE(noRd.mayUse(Algorithm::kRecursiveDoubling));
  EXPECT_EQ(chooseAlgorithm(noRd, Collective::kAllReduce, 4, 8, defaultLinkCost("shm")).algorithm,
            Algorithm::kRing);

  AlgoSpec both = parsed("RING,RD");  // case and lists as NCCL accepts them
  EXPECT_EQ(both.allowed(Collective::kAllReduce, 8).size(), 2u);
}

TEST(AlgoSpecTest, SizeRanges) {
  AlgoSpec spec = parsed("allreduce:0-64K:rd,64K-:ring");
  EXPECT_EQ(spec.allowed(Collective::kAllReduce, 0),
            std::vector<Algorithm>{Algorithm::kRecursiveDoubling});
  EXPECT_EQ(spec.allowed(Collective::kAllReduce, 65535),
            std::vector<Algorithm>{Algorithm::kRecursiveDoubling});
  EXPECT_EQ(spec.allowed(Collective::kAllReduce, 65536), std::vector<Algorithm>{Algorithm::kRing});
  EXPECT_EQ(spec.allowed(Collective::kAllReduce, SIZE_MAX - 1),
            std::vector<Algorithm>{Algorithm::kRing});
  Choice big = chooseAlgorithm(spec, Collective::kAllReduce, 2, 16, defaultLinkCost("shm"));
  EXPECT_TRUE(big.pinned);
  EXPECT_EQ(big.algorithm, Algorithm::kRecursiveDoubling);
  // A rule without a collective.
  AlgoSpec anyCollective = parsed("0-1M:ring");
  EXPECT_EQ(anyCollective.allowed(Collective::kReduceScatter, 100),
            std::vector<Algorithm>{Algorithm::kRing});
  EXPECT_TRUE(anyCollective.allowed(Collective::kReduceScatter, 2 << 20).empty());
}

TEST(AlgoSpecTest, MayUseKnowsWhenRulesCoverEverySize) {
  // Every collective and size pinned to ring: rd can never be chosen, so its peers need no
  // connections.
  AlgoSpec covered = parsed("0-1K:ring,1K-:ring");
  EXPECT_FALSE(covered.mayUse(Algorithm::kRecursiveDoubling));
  // A gap (1K..2K) leaves the model free to choose rd there.
  AlgoSpec gap = parsed("0-1K:ring,2K-:ring");
  EXPECT_TRUE(gap.mayUse(Algorithm::kRecursiveDoubling));
  // Only all-reduce pinned: the other collectives may still use rd.
  EXPECT_TRUE(parsed("allreduce:ring").mayUse(Algorithm::kRecursiveDoubling));
}

TEST(AlgoSpecTest, BadSpecsNameTheProblem) {
  for (const char* bad :
       {"butterfly", "allreduce:butterfly", "bcast:ring", "^ring,rd,tree", "64K-0:ring",
        "allreduce:x-1:ring", "allreduce:0-1Q:ring", "0-1K:ring:rd"}) {
    AlgoSpec spec;
    Status status = AlgoSpec::parse(bad, &spec);
    EXPECT_FALSE(status.isOk()) << bad;
    EXPECT_EQ(status.code(), tuttiInvalidArgument) << bad;
    EXPECT_NE(status.message().find("TUTTI_ALGO"), std::string::npos) << status.message();
  }
}

TEST(CostModelTest, RecursiveDoublingForSmallAllReduceRingForLarge) {
  const LinkCost cost = defaultLinkCost("shm/cma");
  for (int n : {2, 3, 4, 5, 8}) {
    Choice small = chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, n, 8, cost);
    EXPECT_EQ(small.algorithm, Algorithm::kRecursiveDoubling) << n;
    EXPECT_FALSE(small.pinned);
    Choice large = chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, n, 64 << 20, cost);
    EXPECT_EQ(large.algorithm, Algorithm::kRing) << n;
    EXPECT_GT(large.predictedUs[static_cast<int>(Algorithm::kRecursiveDoubling)],
              large.predictedUs[static_cast<int>(Algorithm::kRing)]);
  }
}

TEST(CostModelTest, FormulasMatchTheirDerivation) {
  LinkCost cost{2.0, 0.5, 0.25};
  // Ring all-reduce, n = 4, 4000 bytes: 6 rounds, 6000 bytes sent, 3000 reduced.
  EXPECT_DOUBLE_EQ(*predictUs(Algorithm::kRing, Collective::kAllReduce, 4, 4000, cost),
                   6 * 2.0 + (6000 * 0.5 + 3000 * 0.25) * 1e-3);
  // Recursive doubling all-reduce, n = 6 (p = 4, folded): 2 + 2 rounds, 4 x S sent, 3 x S reduced.
  EXPECT_DOUBLE_EQ(*predictUs(Algorithm::kRecursiveDoubling, Collective::kAllReduce, 6, 1000, cost),
                   4 * 2.0 + (4000 * 0.5 + 3000 * 0.25) * 1e-3);
  // Messages from rendezvousBytes on pay the rendezvous alpha: ring's are S/n, rd's S.
  LinkCost rendezvous{2.0, 0.5, 0.25, 1000, 10.0};
  EXPECT_DOUBLE_EQ(*predictUs(Algorithm::kRing, Collective::kAllReduce, 4, 3996, rendezvous),
                   6 * 2.0 + (5994 * 0.5 + 2997 * 0.25) * 1e-3);
  EXPECT_DOUBLE_EQ(*predictUs(Algorithm::kRing, Collective::kAllReduce, 2, 4000, rendezvous),
                   2 * 10.0 + (4000 * 0.5 + 2000 * 0.25) * 1e-3);
  EXPECT_DOUBLE_EQ(
      *predictUs(Algorithm::kRecursiveDoubling, Collective::kAllReduce, 4, 1000, rendezvous),
      2 * 10.0 + (2000 * 0.5 + 2000 * 0.25) * 1e-3);
  // Recursive doubling all-gather needs a power of two.
  EXPECT_FALSE(predictUs(Algorithm::kRecursiveDoubling, Collective::kAllGather, 6, 1000, cost));
  EXPECT_TRUE(predictUs(Algorithm::kRecursiveDoubling, Collective::kAllGather, 8, 1000, cost));
  // Where it does not apply the choice is ring, even when pinned to rd.
  Choice fallback =
      chooseAlgorithm(parsed("rd"), Collective::kReduceScatter, 6, 1000, defaultLinkCost("tcp"));
  EXPECT_EQ(fallback.algorithm, Algorithm::kRing);
  EXPECT_EQ(makePlan(Algorithm::kRecursiveDoubling, Collective::kReduceScatter, 6, 0, 10).algorithm,
            "ring");
}

TEST(CostModelTest, TreeFollowsTheHostShape) {
  LinkCost cost{2.0, 0.5, 0.25};
  // 8 hosts of 1 rank: height log2(8) = 3; 1000 bytes is one chunk: 2 x 3 rounds; 2 S sent, S
  // reduced.
  EXPECT_DOUBLE_EQ(
      *predictUs(Algorithm::kTree, Collective::kAllReduce, 8, 1000, cost, HostShape{8, 1}),
      6 * 2.0 + (2000 * 0.5 + 1000 * 0.25) * 1e-3);
  // 2 hosts of 4: height 1 + 3 (the chain); a head reduces its follower's half in both trees
  // and its tree child's in one: 3 x S/2.
  EXPECT_DOUBLE_EQ(
      *predictUs(Algorithm::kTree, Collective::kAllReduce, 8, 1000, cost, HostShape{2, 4}),
      8 * 2.0 + (2000 * 0.5 + 1500 * 0.25) * 1e-3);
  EXPECT_FALSE(predictUs(Algorithm::kTree, Collective::kAllGather, 8, 1000, cost));
  // Many hosts of one rank, mid sizes: fewer rounds than ring, less sent than rd.
  Choice many = chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, 64, 256 << 10,
                                defaultLinkCost("tcp"), nullptr, HostShape{64, 1});
  EXPECT_EQ(many.algorithm, Algorithm::kTree);
  EXPECT_EQ(hostShapeOf({0, 0, 1, 1, 1, 2}).nhosts, 3);
  EXPECT_EQ(hostShapeOf({0, 0, 1, 1, 1, 2}).maxRanksPerHost, 3);
}

TEST(CostModelTest, TwoLevelsChargeEachRoundWhereItRuns) {
  const LinkCost intra{1.0, 0.1, 0.25};
  const LinkCost inter{10.0, 2.0, 99.0};  // inter's gamma is never used: ranks reduce
  const ClusterCost cost{intra, inter};
  // Ring over 2 hosts of 4: a chunk's two passes around the ring take 14 hops, 2 of which
  // leave a host; that edge, and the host's NIC, carry 2(n-1)/n x S.
  EXPECT_DOUBLE_EQ(
      *predictUs(Algorithm::kRing, Collective::kAllReduce, 8, 8000, cost, HostShape{2, 4}),
      12 * 1.0 + 2 * 10.0 + (14000 * 2.0 + 7000 * 0.25) * 1e-3);
  // One host: intra only.
  EXPECT_DOUBLE_EQ(*predictUs(Algorithm::kRing, Collective::kAllReduce, 8, 8000, cost),
                   14 * 1.0 + (14000 * 0.1 + 7000 * 0.25) * 1e-3);
  // Tree over 2 hosts of 4, one chunk: the chain's 2 x 3 rounds inside, 2 x 1 across; 2 S from
  // a middle chain member, S from each head to the network (each tree: a root and one child).
  EXPECT_DOUBLE_EQ(
      *predictUs(Algorithm::kTree, Collective::kAllReduce, 8, 1000, cost, HostShape{2, 4}),
      6 * 1.0 + 2 * 10.0 + (1000 * 2.0 + 1500 * 0.25) * 1e-3);
  // 3 hosts: each tree is a root with two children, and the second tree's root is a leaf of the
  // first: 3 x S/2 from the busiest head. From 4 hosts on a head can be interior in one tree
  // (parent and two children) and a leaf in the other: 4 x S/2. Two ranks on a host: each
  // sends S to the other.
  std::optional<CostTerms> tree3 =
      costTerms(Algorithm::kTree, Collective::kAllReduce, 6, 1000, HostShape{3, 2});
  ASSERT_TRUE(tree3);
  EXPECT_EQ(tree3->interWireBytes, 1500);
  EXPECT_EQ(tree3->intraWireBytes, 1000);
  std::optional<CostTerms> tree8 =
      costTerms(Algorithm::kTree, Collective::kAllReduce, 8, 1000, HostShape{8, 1});
  ASSERT_TRUE(tree8);
  EXPECT_EQ(tree8->interWireBytes, 2000);
  // Two ranks on two hosts: the tree moves what ring moves.
  std::optional<CostTerms> tree2 =
      costTerms(Algorithm::kTree, Collective::kAllReduce, 2, 1000, HostShape{2, 1});
  std::optional<CostTerms> ring2 =
      costTerms(Algorithm::kRing, Collective::kAllReduce, 2, 1000, HostShape{2, 1});
  ASSERT_TRUE(tree2 && ring2);
  EXPECT_EQ(tree2->interWireBytes, ring2->interWireBytes);
  // Recursive doubling over 2 hosts of 4: distances 1 and 2 stay inside, 4 crosses, where all
  // four ranks of a host send S.
  std::optional<CostTerms> rd =
      costTerms(Algorithm::kRecursiveDoubling, Collective::kAllReduce, 8, 1000, HostShape{2, 4});
  ASSERT_TRUE(rd);
  EXPECT_EQ(rd->intraRounds, 2);
  EXPECT_EQ(rd->interRounds, 1);
  EXPECT_EQ(rd->interWireBytes, 4 * 1000);
  // All-gather by recursive doubling over 4 hosts of 2: the last two rounds cross, moving
  // (n - m)/n x S per rank.
  std::optional<CostTerms> ag =
      costTerms(Algorithm::kRecursiveDoubling, Collective::kAllGather, 8, 8000, HostShape{4, 2});
  ASSERT_TRUE(ag);
  EXPECT_EQ(ag->intraRounds, 1);
  EXPECT_EQ(ag->interRounds, 2);
  EXPECT_DOUBLE_EQ(ag->interWireBytes, 2 * 6000);
  // Uniform costs give what the one-level model gave.
  EXPECT_DOUBLE_EQ(*predictUs(Algorithm::kTree, Collective::kAllReduce, 8, 1000, uniformCost(intra),
                              HostShape{2, 4}),
                   8 * 1.0 + (2000 * 0.1 + 1500 * 0.25) * 1e-3);
  // Ring's linear rounds across many hosts make the tree win mid sizes there.
  Choice many = chooseAlgorithm(AlgoSpec(), Collective::kAllReduce, 512, 1 << 20, cost, nullptr,
                                HostShape{64, 8});
  EXPECT_EQ(many.algorithm, Algorithm::kTree);
}

TEST(CostModelTest, TiesKeepRing) {
  // Two ranks: ring and recursive doubling all-gather are the same exchange.
  Choice choice =
      chooseAlgorithm(AlgoSpec(), Collective::kAllGather, 2, 1 << 20, defaultLinkCost("shm"));
  EXPECT_EQ(choice.algorithm, Algorithm::kRing);
}

TEST(NeededPeersTest, SymmetricAndCoverEveryPlanThatMayRun) {
  for (const char* text : {"", "ring", "rd", "tree"}) {
    AlgoSpec spec = parsed(text);
    for (int n = 1; n <= 33; ++n) {
      std::vector<std::vector<int>> peers(n);
      for (int r = 0; r < n; ++r) peers[r] = neededPeers(spec, n, r);
      for (int r = 0; r < n; ++r) {
        for (int p : peers[r]) {
          ASSERT_NE(p, r);
          ASSERT_TRUE(std::count(peers[p].begin(), peers[p].end(), r)) << n << " " << r << " " << p;
        }
        for (Algorithm a : {Algorithm::kRing, Algorithm::kRecursiveDoubling, Algorithm::kTree}) {
          if (!spec.mayUse(a)) continue;
          for (Collective c :
               {Collective::kAllReduce, Collective::kAllGather, Collective::kReduceScatter}) {
            for (int p : makePlan(a, c, n, r, 2 * n + 1).peers()) {
              ASSERT_TRUE(std::count(peers[r].begin(), peers[r].end(), p))
                  << text << " n " << n << " rank " << r << " needs " << p;
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
  // Pinned to ring: just the two neighbours.
  EXPECT_EQ(neededPeers(parsed("ring"), 8, 0), (std::vector<int>{1, 7}));
}

}  // namespace
}  // namespace tutti
