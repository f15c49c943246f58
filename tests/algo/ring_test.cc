#include "algo/ring.h"

#include <gtest/gtest.h>

#include "algo/plan_verify.h"

namespace tutti {
namespace {

std::vector<Plan> allPlans(Collective coll, int nranks, size_t count) {
  std::vector<Plan> plans;
  for (int r = 0; r < nranks; ++r) plans.push_back(ringPlan(coll, nranks, r, count));
  return plans;
}

// Every output element holds every rank's contribution exactly once (finalized once), for
// 1..64 ranks, counts that are 0, 1, below, at and above the rank count, and primes.
TEST(RingTest, SymbolicallyCorrectFor1To64Ranks) {
  for (Collective coll :
       {Collective::kAllReduce, Collective::kAllGather, Collective::kReduceScatter}) {
    for (int n = 1; n <= 64; ++n) {
      const size_t nn = static_cast<size_t>(n);
      for (size_t count : {size_t{0}, size_t{1}, nn - 1, nn, nn + 1, 2 * nn + 3, size_t{37}}) {
        for (bool inPlace : {false, true}) {
          VerifyResult result = verifyPlans(allPlans(coll, n, count), inPlace);
          ASSERT_TRUE(result.ok) << collectiveName(coll) << " n=" << n << " count=" << count
                                 << (inPlace ? " in-place" : "") << ": " << result.problem;
        }
      }
    }
  }
}

// Broadcast and reduce chains: every root of 1..17 ranks, in place and out of place.
TEST(RingTest, ChainsSymbolicallyCorrectForEveryRoot) {
  for (Collective coll : {Collective::kBroadcast, Collective::kReduce}) {
    for (int n = 1; n <= 17; ++n) {
      for (int root = 0; root < n; ++root) {
        for (size_t count : {size_t{0}, size_t{1}, size_t{11}}) {
          std::vector<Plan> plans;
          for (int r = 0; r < n; ++r) plans.push_back(ringPlan(coll, n, r, count, root));
          for (bool inPlace : {false, true}) {
            VerifyResult result = verifyPlans(plans, inPlace);
            ASSERT_TRUE(result.ok)
                << collectiveName(coll) << " n=" << n << " root=" << root << " count=" << count
                << (inPlace ? " in-place" : "") << ": " << result.problem;
          }
        }
      }
    }
  }
}

// One step per rank: the chain is the ring's edges, one direction; the whole buffer crosses
// every edge once (busbw factor 1).
TEST(RingTest, ChainsAreOneStepAlongTheRing) {
  const Plan middle = ringPlan(Collective::kBroadcast, 5, 3, 100, 1);
  ASSERT_EQ(middle.steps.size(), 1u);
  EXPECT_EQ(middle.steps[0].kind, StepKind::kRecvCopySend);
  EXPECT_EQ(middle.steps[0].recvPeer, 2);
  EXPECT_EQ(middle.steps[0].sendPeer, 4);
  const Plan last = ringPlan(Collective::kReduce, 5, 2, 100, 3);  // position 4: the chain's end
  ASSERT_EQ(last.steps.size(), 1u);
  EXPECT_EQ(last.steps[0].kind, StepKind::kSend);
  EXPECT_EQ(last.steps[0].sendPeer, 1);
  const Plan root = ringPlan(Collective::kReduce, 5, 3, 100, 3);
  ASSERT_EQ(root.steps.size(), 1u);
  EXPECT_TRUE(root.steps[0].finalize);
  EXPECT_EQ(root.steps[0].dst.buffer, BufferId::kRecv);
  EXPECT_TRUE(ringPlan(Collective::kAllToAll, 4, 0, 10).steps.empty());  // not served
}

TEST(RingTest, NeighboursOnlyAndStepCounts) {
  Plan plan = ringPlan(Collective::kAllReduce, 5, 2, 1000);
  EXPECT_EQ(plan.peers(), (std::vector<int>{1, 3}));
  EXPECT_EQ(plan.steps.size(), 2u * 5u);  // n steps of reduce-scatter, n of all-gather
  size_t sent = 0;
  for (const Step& step : plan.steps) {
    if (stepSends(step.kind)) sent += step.count;
  }
  // 2(n-1)/n of the buffer leaves each rank: the busbw factor.
  EXPECT_EQ(sent, 2u * 4u * 200u);
}

TEST(RingTest, SingleRankIsOneFinalizingCopy) {
  Plan plan = ringPlan(Collective::kAllReduce, 1, 0, 10);
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_EQ(plan.steps[0].kind, StepKind::kCopy);
  EXPECT_TRUE(plan.steps[0].finalize);
  EXPECT_TRUE(ringPlan(Collective::kAllGather, 4, 1, 0).steps.empty());
}

// The verifier itself must catch broken plans, or the tests above prove nothing.
TEST(PlanVerifyTest, DetectsMissingContributionDeadlockAndDoubleFinalize) {
  std::vector<Plan> plans = allPlans(Collective::kAllReduce, 4, 8);
  std::vector<Plan> dropped = plans;
  dropped[1].steps.pop_back();
  EXPECT_FALSE(verifyPlans(dropped, false).ok);

  std::vector<Plan> swapped = plans;
  std::swap(swapped[2].steps[0], swapped[2].steps[1]);
  VerifyResult deadlock = verifyPlans(swapped, false);
  EXPECT_FALSE(deadlock.ok);

  std::vector<Plan> doubled = plans;
  for (Step& step : doubled[0].steps) step.finalize = true;
  EXPECT_FALSE(verifyPlans(doubled, false).ok);

  std::vector<Plan> wrongCount = plans;
  wrongCount[3].steps[0].count += 1;
  EXPECT_FALSE(verifyPlans(wrongCount, false).ok);
}

}  // namespace
}  // namespace tutti
