#include "algo/direct.h"

#include <gtest/gtest.h>

#include "algo/plan_verify.h"

namespace tutti {
namespace {

std::vector<Plan> allPlans(Collective coll, int n, size_t count, int root) {
  std::vector<Plan> plans;
  for (int r = 0; r < n; ++r) plans.push_back(*directPlan(coll, n, r, count, root));
  return plans;
}

// All-to-all, gather and scatter for 1..16 ranks, every root, counts 0, 1 and primes: every
// output block is the right rank's right block, inputs unchanged; gather and scatter in place
// too (all-to-all runs in place from a copy: the core's, not the plan's).
TEST(DirectTest, SymbolicallyCorrectForEveryRoot) {
  for (Collective coll : {Collective::kAllToAll, Collective::kGather, Collective::kScatter}) {
    for (int n = 1; n <= 16; ++n) {
      const int roots = coll == Collective::kAllToAll ? 1 : n;
      for (int root = 0; root < roots; ++root) {
        for (size_t count : {size_t{0}, size_t{1}, size_t{3}, size_t{13}}) {
          for (bool inPlace : {false, true}) {
            VerifyResult result = verifyPlans(allPlans(coll, n, count, root), inPlace);
            ASSERT_TRUE(result.ok)
                << collectiveName(coll) << " n=" << n << " root=" << root << " count=" << count
                << (inPlace ? " in-place" : "") << ": " << result.problem;
          }
        }
      }
    }
  }
}

// One message per peer and direction, (n-1)/n of the larger buffer sent by each rank
// (all-to-all) or by the root (scatter); the rounds go round the ring of offsets.
TEST(DirectTest, OneMessagePerPeerInPairwiseOrder) {
  const Plan plan = *directPlan(Collective::kAllToAll, 5, 2, 10);
  std::vector<int> sendOrder, recvOrder;
  size_t sent = 0;
  for (const Step& step : plan.steps) {
    if (step.kind == StepKind::kSend) sendOrder.push_back(step.sendPeer), sent += step.count;
    if (step.kind == StepKind::kRecv) recvOrder.push_back(step.recvPeer);
  }
  EXPECT_EQ(sendOrder, (std::vector<int>{3, 4, 0, 1}));
  EXPECT_EQ(recvOrder, (std::vector<int>{1, 0, 4, 3}));
  EXPECT_EQ(sent, 40u);
  EXPECT_EQ(directPlan(Collective::kGather, 4, 1, 10, 3)->peers(), std::vector<int>{3});
  EXPECT_EQ(directPlan(Collective::kScatter, 4, 3, 10, 3)->peers(), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(directPeers(4, 1), (std::vector<int>{0, 2, 3}));
  EXPECT_FALSE(directPlan(Collective::kBroadcast, 4, 1, 10).has_value());
  EXPECT_FALSE(directPlan(Collective::kGather, 4, 1, 10, 4).has_value());
}

}  // namespace
}  // namespace tutti
