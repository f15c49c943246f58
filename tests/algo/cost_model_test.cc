#include "algo/cost_model.h"

#include <gtest/gtest.h>

#include "algo/algo_spec_testing.h"
#include "algo/select.h"

namespace tutti {
namespace {

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

// Broadcast and reduce: the binomial tree's log2(n) rounds win small calls, the chain's single
// pass over the bytes large ones; all-to-all, gather and scatter have direct only.
TEST(CostModelTest, BinomialForSmallBroadcastAndReduceChainForLarge) {
  const LinkCost cost = defaultLinkCost("shm/cma");
  for (Collective c : {Collective::kBroadcast, Collective::kReduce}) {
    for (int n : {4, 5, 8}) {
      EXPECT_EQ(chooseAlgorithm(AlgoSpec(), c, n, 8, cost).algorithm, Algorithm::kBinomialTree)
          << collectiveName(c) << " " << n;
      EXPECT_EQ(chooseAlgorithm(AlgoSpec(), c, n, 64 << 20, cost).algorithm, Algorithm::kRing)
          << collectiveName(c) << " " << n;
    }
  }
  for (Collective c : {Collective::kAllToAll, Collective::kGather, Collective::kScatter}) {
    const Choice choice = chooseAlgorithm(AlgoSpec(), c, 6, 4096, cost);
    EXPECT_EQ(choice.algorithm, Algorithm::kDirect) << collectiveName(c);
    EXPECT_LT(choice.predictedUs[static_cast<int>(Algorithm::kRing)], 0);
    // Pinned to an algorithm that does not serve it: the fallback.
    EXPECT_EQ(chooseAlgorithm(parsed("ring"), c, 6, 4096, cost).algorithm, Algorithm::kDirect);
  }
}

TEST(CostModelTest, TiesKeepRing) {
  // Two ranks: ring and recursive doubling all-gather are the same exchange.
  Choice choice =
      chooseAlgorithm(AlgoSpec(), Collective::kAllGather, 2, 1 << 20, defaultLinkCost("shm"));
  EXPECT_EQ(choice.algorithm, Algorithm::kRing);
}

// The calibration fits constants through levelTerms: it must be the model itself at one level,
// for every algorithm, collective, size (both sides of the rendezvous threshold) and level.
TEST(CostModelTest, LevelTermsAreTheModelAtOneLevel) {
  const LinkCost link{3.0, 0.7, 0.3, 65536, 11.0};
  for (CostLevel level : {CostLevel::kIntra, CostLevel::kInter}) {
    for (int nranks : {2, 3, 8}) {
      std::vector<int> hostOfRank(nranks, 0);
      for (int r = 0; level == CostLevel::kInter && r < nranks; ++r) hostOfRank[r] = r;
      const HostShape hosts = hostShapeOf(hostOfRank);
      for (const RegisteredAlgorithm& algorithm : algorithmTable()) {
        for (Collective collective :
             {Collective::kAllReduce, Collective::kAllGather, Collective::kReduceScatter}) {
          for (size_t bytes : {size_t{8}, size_t{4096}, size_t{1} << 20, size_t{64} << 20}) {
            std::optional<CostTerms> terms =
                costTerms(algorithm.id, collective, nranks, bytes, hosts);
            if (!terms) continue;
            const LevelTerms linear = levelTerms(*terms, level, link.rendezvousBytes);
            const double fromForm = linear.eagerRounds * link.alphaUs +
                                    linear.rendezvousRounds * link.rendezvousAlphaUs +
                                    linear.wireKb * link.betaNsPerByte +
                                    linear.reducedKb * link.gammaNsPerByte;
            EXPECT_NEAR(fromForm, timeUs(*terms, uniformCost(link)), 1e-9 * fromForm + 1e-12)
                << costLevelName(level) << " " << algorithmName(algorithm.id) << " "
                << collectiveName(collective) << " " << nranks << " ranks, " << bytes << " bytes";
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace tutti
