#include "algo/binomial_tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "algo/plan_verify.h"

namespace tutti {
namespace {

std::vector<Plan> allPlans(Collective coll, int n, size_t count, int root, int chunks = 0) {
  std::vector<Plan> plans;
  for (int r = 0; r < n; ++r) {
    std::optional<Plan> plan = binomialTreePlan(coll, n, r, count, root, chunks);
    EXPECT_TRUE(plan.has_value()) << n << " " << r;
    if (plan) plans.push_back(std::move(*plan));
  }
  return plans;
}

// Every root of 1..17 ranks, single and several chunks (chunks of one element and of none when
// count < chunks), in place and out of place: the root's output holds every rank's input once,
// finalized once (reduce), every rank's output the root's input (broadcast), inputs unchanged.
TEST(BinomialTreeTest, SymbolicallyCorrectForEveryRootAndChunking) {
  for (Collective coll : {Collective::kBroadcast, Collective::kReduce}) {
    for (int n = 1; n <= 17; ++n) {
      for (int root = 0; root < n; ++root) {
        for (size_t count : {size_t{0}, size_t{1}, size_t{5}, size_t{23}}) {
          for (int chunks : {0, 1, 3, 8}) {
            for (bool inPlace : {false, true}) {
              VerifyResult result = verifyPlans(allPlans(coll, n, count, root, chunks), inPlace);
              ASSERT_TRUE(result.ok)
                  << collectiveName(coll) << " n=" << n << " root=" << root << " count=" << count
                  << " chunks=" << chunks << (inPlace ? " in-place" : "") << ": " << result.problem;
            }
          }
        }
      }
    }
  }
}

// ceil(log2 n) levels: the root sends to (broadcast) or reduces from (reduce) that many
// children, and the ranks of a call use only peers a power of two away.
TEST(BinomialTreeTest, LogarithmicDepthAndPowerOfTwoPeers) {
  const Plan root = *binomialTreePlan(Collective::kBroadcast, 8, 3, 64, 3, 1);
  EXPECT_EQ(root.peers(), (std::vector<int>{4, 5, 7}));  // 3 + 1, 3 + 2, 3 + 4
  const Plan reduceRoot = *binomialTreePlan(Collective::kReduce, 5, 0, 64, 0, 1);
  EXPECT_EQ(reduceRoot.peers(), (std::vector<int>{1, 2, 4}));
  for (int n = 2; n <= 12; ++n) {
    for (int r = 0; r < n; ++r) {
      const std::vector<int> peers = binomialTreePeers(n, r);
      for (int root = 0; root < n; ++root) {
        for (Collective coll : {Collective::kBroadcast, Collective::kReduce}) {
          for (int p : binomialTreePlan(coll, n, r, 9, root)->peers()) {
            EXPECT_TRUE(std::count(peers.begin(), peers.end(), p)) << n << " " << r << " " << p;
          }
        }
      }
    }
  }
}

// Off the root, reduce keeps partial results in scratch: recv is never written (NULL there).
TEST(BinomialTreeTest, ReduceOffTheRootNeverWritesRecv) {
  for (int r = 1; r < 6; ++r) {
    const Plan plan = *binomialTreePlan(Collective::kReduce, 6, r, 100, 0, 4);
    for (const Step& step : plan.steps) {
      if (stepWrites(step.kind)) EXPECT_NE(step.dst.buffer, BufferId::kRecv) << r;
    }
    EXPECT_EQ(plan.scratchCount, 100u);
  }
}

TEST(BinomialTreeTest, OnlyBroadcastAndReduceAndValidRoots) {
  EXPECT_FALSE(binomialTreePlan(Collective::kAllReduce, 4, 0, 8, 0).has_value());
  EXPECT_FALSE(binomialTreePlan(Collective::kBroadcast, 4, 0, 8, 4).has_value());
  EXPECT_FALSE(binomialTreePlan(Collective::kReduce, 4, 0, 8, -1).has_value());
  EXPECT_EQ(defaultBinomialChunks(1), 1);
  EXPECT_EQ(defaultBinomialChunks(kBinomialChunkElements * 3), 3);
  EXPECT_EQ(defaultBinomialChunks(size_t{1} << 40), kBinomialMaxChunks);
}

// The verifier catches what these plans must not do: a rank off the root writing its recv
// buffer (NULL there), or a send buffer overwritten.
TEST(BinomialTreeTest, VerifierRefusesWritesOffTheRootAndIntoInputs) {
  std::vector<Plan> plans = allPlans(Collective::kReduce, 4, 6, 0, 1);
  std::vector<Plan> intoRecv = plans;
  for (Step& step : intoRecv[2].steps) {
    if (step.dst.buffer == BufferId::kScratch) step.dst.buffer = BufferId::kRecv;
  }
  EXPECT_FALSE(verifyPlans(intoRecv, false).ok);
  std::vector<Plan> intoSend = plans;
  for (Step& step : intoSend[2].steps) {
    if (step.dst.buffer == BufferId::kScratch) step.dst.buffer = BufferId::kSend;
    if (step.src.buffer == BufferId::kScratch) step.src.buffer = BufferId::kSend;
  }
  const VerifyResult result = verifyPlans(intoSend, false);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.problem.find("send buffer"), std::string::npos) << result.problem;
}

}  // namespace
}  // namespace tutti
