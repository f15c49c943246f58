#include "algo/recursive_doubling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "algo/plan_verify.h"
#include "algo/ring.h"

namespace tutti {
namespace {

constexpr Collective kAllCollectives[] = {Collective::kAllReduce, Collective::kAllGather,
                                          Collective::kReduceScatter};

std::vector<Plan> allPlans(Collective coll, int nranks, size_t count) {
  std::vector<Plan> plans;
  for (int r = 0; r < nranks; ++r) {
    std::optional<Plan> plan = recursiveDoublingPlan(coll, nranks, r, count);
    EXPECT_TRUE(plan.has_value()) << collectiveName(coll) << " n=" << nranks << " rank " << r;
    if (plan) plans.push_back(std::move(*plan));
  }
  return plans;
}

int log2Floor(int n) {
  int log = 0;
  while ((2 << log) <= n) ++log;
  return log;
}

struct Traffic {
  int sends = 0;
  int recvs = 0;
  size_t sentElements = 0;
};

Traffic trafficOf(const Plan& plan) {
  Traffic traffic;
  for (const Step& step : plan.steps) {
    if (stepSends(step.kind)) {
      ++traffic.sends;
      traffic.sentElements += step.count;
    }
    if (stepReceives(step.kind)) ++traffic.recvs;
  }
  return traffic;
}

TEST(RecursiveDoublingTest, SupportsAllReduceEverywhereTheOthersAtPowersOfTwo) {
  for (int n = 1; n <= 64; ++n) {
    const bool powerOfTwo = (n & (n - 1)) == 0;
    EXPECT_TRUE(recursiveDoublingSupports(Collective::kAllReduce, n));
    EXPECT_EQ(recursiveDoublingSupports(Collective::kAllGather, n), powerOfTwo) << n;
    EXPECT_EQ(recursiveDoublingSupports(Collective::kReduceScatter, n), powerOfTwo) << n;
    for (Collective coll : kAllCollectives) {
      EXPECT_EQ(recursiveDoublingPlan(coll, n, n - 1, 5).has_value(),
                recursiveDoublingSupports(coll, n));
    }
  }
  EXPECT_FALSE(recursiveDoublingSupports(Collective::kAllReduce, 0));
  EXPECT_EQ(recursiveDoublingPlan(Collective::kAllGather, 4, 1, 3)->algorithm, "rd");
}

// Every output element holds every rank's contribution exactly once, finalized once, reduced in
// the same grouping on every rank; no deadlock and no leftover message.
TEST(RecursiveDoublingTest, SymbolicallyCorrectFor1To64Ranks) {
  for (Collective coll : kAllCollectives) {
    for (int n = 1; n <= 64; ++n) {
      if (!recursiveDoublingSupports(coll, n)) continue;
      const size_t nn = static_cast<size_t>(n);
      for (size_t count : std::set<size_t>{0, 1, 2, 3, nn - 1, nn, nn + 1, 7, 1000, 4099}) {
        // Verifying costs about n x buffer size x rounds and large counts only scale offsets:
        // run them at n <= 8, which has every shape (folds of 1..3 pairs, blocks of 1..4 chunks).
        if (count >= 1000 && n > 8) continue;
        std::vector<Plan> plans = allPlans(coll, n, count);
        for (bool inPlace : {false, true}) {
          VerifyResult result = verifyPlans(plans, inPlace);
          ASSERT_TRUE(result.ok) << collectiveName(coll) << " n=" << n << " count=" << count
                                 << (inPlace ? " in-place" : "") << ": " << result.problem;
        }
      }
    }
  }
}

TEST(RecursiveDoublingTest, PeersAreSymmetricAndExactlyWhatThePlansUse) {
  for (int n = 1; n <= 64; ++n) {
    for (int r = 0; r < n; ++r) {
      std::vector<int> peers = recursiveDoublingPeers(n, r);
      EXPECT_TRUE(std::is_sorted(peers.begin(), peers.end()));
      EXPECT_EQ(std::adjacent_find(peers.begin(), peers.end()), peers.end());
      EXPECT_LE(peers.size(), static_cast<size_t>(log2Floor(n) + 1)) << "n=" << n << " r=" << r;
      for (int peer : peers) {
        ASSERT_GE(peer, 0);
        ASSERT_LT(peer, n);
        EXPECT_NE(peer, r);
        std::vector<int> back = recursiveDoublingPeers(n, peer);
        EXPECT_TRUE(std::binary_search(back.begin(), back.end(), r))
            << "n=" << n << ": " << r << " names " << peer << " but not the reverse";
      }
      for (Collective coll : kAllCollectives) {
        if (!recursiveDoublingSupports(coll, n)) continue;
        for (size_t count : {size_t{1}, size_t{7}}) {
          // Every listed peer is used (no idle connections), and nothing else is.
          EXPECT_EQ(recursiveDoublingPlan(coll, n, r, count)->peers(), peers)
              << collectiveName(coll) << " n=" << n << " r=" << r << " count=" << count;
        }
      }
    }
  }
}

TEST(RecursiveDoublingTest, AllReduceTakesLog2RoundsPlusTheFold) {
  const size_t count = 10;
  for (const Plan& plan : allPlans(Collective::kAllReduce, 8, count)) {
    Traffic traffic = trafficOf(plan);
    EXPECT_EQ(traffic.sends, 3) << "rank " << plan.rank;
    EXPECT_EQ(traffic.recvs, 3) << "rank " << plan.rank;
    EXPECT_EQ(traffic.sentElements, 3 * count);
  }
  // n = 6: ranks 0..3 fold in pairs (1 -> 0, 3 -> 2), 0, 2, 4, 5 run two rounds.
  const std::vector<int> sendsAt6 = {3, 1, 3, 1, 2, 2};
  std::vector<Plan> plans6 = allPlans(Collective::kAllReduce, 6, count);
  for (int r = 0; r < 6; ++r) {
    Traffic traffic = trafficOf(plans6[r]);
    EXPECT_EQ(traffic.sends, sendsAt6[r]) << "rank " << r;
    EXPECT_EQ(traffic.recvs, sendsAt6[r]) << "rank " << r;
  }
  EXPECT_EQ(plans6[1].peers(), std::vector<int>{0});
  EXPECT_EQ(plans6[0].peers(), (std::vector<int>{1, 2, 4}));

  for (int n = 2; n <= 64; ++n) {
    const int p = 1 << log2Floor(n);
    const int rounds = log2Floor(n);
    for (const Plan& plan : allPlans(Collective::kAllReduce, n, count)) {
      const int r = plan.rank;
      const int want = r >= 2 * (n - p) ? rounds : r % 2 == 1 ? 1 : rounds + 1;
      Traffic traffic = trafficOf(plan);
      EXPECT_EQ(traffic.sends, want) << "n=" << n << " rank " << r;
      EXPECT_EQ(traffic.recvs, want) << "n=" << n << " rank " << r;
      EXPECT_EQ(traffic.sentElements, static_cast<size_t>(want) * count);
    }
  }
}

// Finalize (Avg divides there) is the last reduction of every rank that reduces; a rank that
// only receives the result does not finalize again.
TEST(RecursiveDoublingTest, AllReduceFinalizesAtTheLastReductionOnly) {
  for (int n = 2; n <= 20; ++n) {
    for (const Plan& plan : allPlans(Collective::kAllReduce, n, 5)) {
      int lastReduce = -1;
      int finalizing = -1;
      int finals = 0;
      for (size_t i = 0; i < plan.steps.size(); ++i) {
        if (plan.steps[i].kind == StepKind::kRecvReduce) lastReduce = static_cast<int>(i);
        if (plan.steps[i].finalize) {
          finalizing = static_cast<int>(i);
          ++finals;
        }
      }
      EXPECT_EQ(finals, lastReduce >= 0 ? 1 : 0) << "n=" << n << " rank " << plan.rank;
      EXPECT_EQ(finalizing, lastReduce) << "n=" << n << " rank " << plan.rank;
    }
  }
}

TEST(RecursiveDoublingTest, AllGatherAndReduceScatterSendWhatRingSendsInLog2Rounds) {
  const size_t count = 10;
  for (int n : {2, 4, 8, 16, 32, 64}) {
    for (Collective coll : {Collective::kAllGather, Collective::kReduceScatter}) {
      for (const Plan& plan : allPlans(coll, n, count)) {
        Traffic traffic = trafficOf(plan);
        EXPECT_EQ(traffic.sends, log2Floor(n)) << collectiveName(coll) << " n=" << n;
        EXPECT_EQ(traffic.recvs, log2Floor(n)) << collectiveName(coll) << " n=" << n;
        EXPECT_EQ(traffic.sentElements, trafficOf(ringPlan(coll, n, plan.rank, count)).sentElements)
            << collectiveName(coll) << " n=" << n;
        EXPECT_EQ(traffic.sentElements, static_cast<size_t>(n - 1) * count);
      }
    }
  }
  // Reduce-scatter keeps partial sums of half the chunks at most.
  EXPECT_EQ(recursiveDoublingPlan(Collective::kReduceScatter, 8, 3, count)->scratchCount,
            4 * count);
}

TEST(RecursiveDoublingTest, SingleRankIsOneCopyAndCountZeroIsEmpty) {
  for (Collective coll : kAllCollectives) {
    Plan plan = *recursiveDoublingPlan(coll, 1, 0, 10);
    ASSERT_EQ(plan.steps.size(), 1u);
    EXPECT_EQ(plan.steps[0].kind, StepKind::kCopy);
    EXPECT_EQ(plan.steps[0].count, 10u);
    EXPECT_EQ(plan.steps[0].finalize, coll != Collective::kAllGather);
    EXPECT_TRUE(recursiveDoublingPlan(coll, 4, 2, 0)->steps.empty());
  }
  EXPECT_TRUE(recursiveDoublingPlan(Collective::kAllReduce, 6, 1, 0)->steps.empty());
}

// The verifier must catch broken plans of this shape, or the sweep above proves nothing.
TEST(RecursiveDoublingTest, VerifierCatchesBrokenPlans) {
  const std::vector<Plan> good = allPlans(Collective::kAllReduce, 6, 4);
  ASSERT_TRUE(verifyPlans(good, false).ok);

  // Rank 0 (in the fold) never sends the result back to rank 1, which waits forever.
  std::vector<Plan> dropped = good;
  dropped[0].steps.pop_back();
  EXPECT_FALSE(verifyPlans(dropped, false).ok);

  // Ranks 0 and 4 run their last round twice: every contribution counted twice.
  std::vector<Plan> duplicated = good;
  for (int r : {0, 4}) {
    std::vector<Step>& steps = duplicated[r].steps;
    auto lastReduce = std::find_if(steps.rbegin(), steps.rend(), [](const Step& step) {
      return step.kind == StepKind::kRecvReduce;
    });
    ASSERT_NE(lastReduce, steps.rend());
    Step send = *(lastReduce + 1);
    Step reduce = *lastReduce;
    ASSERT_EQ(send.kind, StepKind::kSend);
    reduce.finalize = false;
    auto at = steps.begin() + (steps.rend() - lastReduce) - 2;
    steps.insert(at, {send, reduce});
  }
  VerifyResult twice = verifyPlans(duplicated, false);
  EXPECT_FALSE(twice.ok);
  EXPECT_NE(twice.problem.find("contributions"), std::string::npos) << twice.problem;

  // Rank 4 reads its input again in its second round: the first round's partner goes missing.
  std::vector<Plan> stale = good;
  Step& secondRound = stale[4].steps[3];
  ASSERT_EQ(secondRound.kind, StepKind::kRecvReduce);
  secondRound.src = Region{BufferId::kSend, 0};
  EXPECT_FALSE(verifyPlans(stale, false).ok);

  // Finalizing at the first round instead of the last: Avg would divide a partial sum.
  std::vector<Plan> early = allPlans(Collective::kAllReduce, 4, 4);
  for (Plan& plan : early) {
    plan.steps[1].finalize = true;
    plan.steps[3].finalize = false;
  }
  VerifyResult earlyResult = verifyPlans(early, false);
  EXPECT_FALSE(earlyResult.ok);
  EXPECT_NE(earlyResult.problem.find("already finalized"), std::string::npos)
      << earlyResult.problem;

  // Reduce-scatter with a rank keeping the wrong half in the last round.
  std::vector<Plan> wrongHalf = allPlans(Collective::kReduceScatter, 4, 3);
  wrongHalf[2].steps.back().src.offset += 3;
  EXPECT_FALSE(verifyPlans(wrongHalf, false).ok);
}

Step makeStep(StepKind kind, int recvPeer, int sendPeer, BufferId src, bool finalize = false) {
  Step step;
  step.kind = kind;
  step.recvPeer = recvPeer;
  step.sendPeer = sendPeer;
  step.src = Region{src, 0};
  step.dst = Region{BufferId::kRecv, 0};
  step.count = 2;
  step.finalize = finalize;
  return step;
}

// Three ranks: 0 and 1 swap inputs and both add x2, rank 0 hands the result to rank 2. Every
// output holds x0, x1, x2 once, finalized once, either way; but if rank 1 adds x2 first it
// computes (x1+x2)+x0 while rank 0 computes (x0+x1)+x2, which differ in floating point.
TEST(RecursiveDoublingTest, VerifierRejectsAllReduceGroupedDifferentlyOnDifferentRanks) {
  std::vector<Plan> plans(3);
  for (int r = 0; r < 3; ++r) {
    plans[r].collective = Collective::kAllReduce;
    plans[r].algorithm = "test";
    plans[r].nranks = 3;
    plans[r].rank = r;
    plans[r].count = 2;
  }
  const BufferId kSend = BufferId::kSend;
  const BufferId kRecv = BufferId::kRecv;
  plans[0].steps = {makeStep(StepKind::kSend, -1, 1, kSend),
                    makeStep(StepKind::kRecvReduce, 1, -1, kSend),
                    makeStep(StepKind::kRecvReduce, 2, -1, kRecv, /*finalize=*/true),
                    makeStep(StepKind::kSend, -1, 2, kRecv)};
  plans[1].steps = {makeStep(StepKind::kSend, -1, 0, kSend),
                    makeStep(StepKind::kRecvReduce, 0, -1, kSend),
                    makeStep(StepKind::kRecvReduce, 2, -1, kRecv, /*finalize=*/true)};
  plans[2].steps = {makeStep(StepKind::kSend, -1, 0, kSend),
                    makeStep(StepKind::kSend, -1, 1, kSend),
                    makeStep(StepKind::kRecv, 0, -1, kSend)};
  VerifyResult same = verifyPlans(plans, false);
  EXPECT_TRUE(same.ok) << same.problem;

  std::swap(plans[1].steps[1].recvPeer, plans[1].steps[2].recvPeer);
  VerifyResult different = verifyPlans(plans, false);
  EXPECT_FALSE(different.ok);
  EXPECT_NE(different.problem.find("another order"), std::string::npos) << different.problem;
}

}  // namespace
}  // namespace tutti
