// The shared pieces tutti-perf stands on (src/testing): how -np reports its ranks' ends, and
// nccl-tests' sizes and busbw factors that its table and --json print.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "testing/nccl_tests.h"
#include "testing/rank_launcher.h"

namespace tutti::test {
namespace {

TEST(RankLauncher, ExitCodesAndTheHighestWins) {
  const RankLaunch launch = forkRanks(
      3, [](int rank) { return rank == 1 ? 2 : 0; }, 60);
  ASSERT_TRUE(launch.error.empty());
  ASSERT_EQ(launch.ranks.size(), 3u);
  EXPECT_TRUE(launch.ranks[0].ok());
  EXPECT_EQ(launch.ranks[1].code, 2);
  EXPECT_FALSE(launch.ok());
  EXPECT_EQ(launch.exitStatus(), 2);
  EXPECT_EQ(launch.failures(), "rank 1 exited with 2; ");
}

TEST(RankLauncher, SignalAndNoTimeout) {
  const RankLaunch launch = forkRanks(
      2,
      [](int rank) {
        if (rank == 0) raise(SIGKILL);
        return 0;
      },
      0);
  ASSERT_TRUE(launch.error.empty());
  EXPECT_FALSE(launch.ranks[0].exited);
  EXPECT_EQ(launch.ranks[0].signal, SIGKILL);
  EXPECT_TRUE(launch.ranks[1].ok());
  EXPECT_EQ(launch.exitStatus(), 1);
  EXPECT_EQ(launch.failures(), "rank 0 died of signal 9; ");
}

TEST(RankLauncher, HungRankKilledAtTheDeadline) {
  const RankLaunch launch = forkRanks(
      2,
      [](int rank) {
        if (rank == 1) pause();
        return 0;
      },
      1);
  EXPECT_TRUE(launch.ranks[0].ok());
  EXPECT_TRUE(launch.ranks[1].timedOut);
  EXPECT_EQ(launch.failures(), "rank 1 killed after 1 s; ");
}

TEST(NcclTests, BusbwFactors) {
  EXPECT_DOUBLE_EQ(busBandwidthFactor(Collective::kAllReduce, 4), 1.5);
  EXPECT_DOUBLE_EQ(busBandwidthFactor(Collective::kAllGather, 4), 0.75);
  EXPECT_DOUBLE_EQ(busBandwidthFactor(Collective::kReduceScatter, 2), 0.5);
  EXPECT_DOUBLE_EQ(busBandwidthFactor(Collective::kAllReduce, 1), 0);
  EXPECT_STREQ(busBandwidthFactorText(Collective::kAllReduce), "2(n-1)/n");
  EXPECT_STREQ(busBandwidthFactorText(Collective::kReduceScatter), "(n-1)/n");
  // nccl-tests: broadcast and reduce 1, all-to-all, gather and scatter (n-1)/n.
  EXPECT_DOUBLE_EQ(busBandwidthFactor(Collective::kBroadcast, 4), 1);
  EXPECT_DOUBLE_EQ(busBandwidthFactor(Collective::kReduce, 8), 1);
  EXPECT_DOUBLE_EQ(busBandwidthFactor(Collective::kAllToAll, 4), 0.75);
  EXPECT_DOUBLE_EQ(busBandwidthFactor(Collective::kGather, 4), 0.75);
  EXPECT_DOUBLE_EQ(busBandwidthFactor(Collective::kScatter, 2), 0.5);
  EXPECT_STREQ(busBandwidthFactorText(Collective::kBroadcast), "1");
  EXPECT_STREQ(busBandwidthFactorText(Collective::kAllToAll), "(n-1)/n");
  EXPECT_DOUBLE_EQ(busBandwidthFactor(Collective::kSendRecv, 4), 1);
}

TEST(NcclTests, SizesOfTheRootedCollectivesAndAllToAll) {
  // 100 B of floats on 3 ranks: 25 elements, 8 per rank where the size is per rank.
  const CallShape bc = callShapeOf(Collective::kBroadcast, 100, 4, 3);
  EXPECT_EQ(bc.callCount, 25u);
  EXPECT_EQ(bc.largerCount(), 25u);
  const CallShape a2a = callShapeOf(Collective::kAllToAll, 100, 4, 3);
  EXPECT_EQ(a2a.callCount, 8u);
  EXPECT_EQ(a2a.sendCount, 24u);
  EXPECT_EQ(a2a.recvCount, 24u);
  const CallShape gather = callShapeOf(Collective::kGather, 100, 4, 3);
  EXPECT_EQ(gather.sendCount, 8u);
  EXPECT_EQ(gather.recvCount, 24u);
  const CallShape scatter = callShapeOf(Collective::kScatter, 100, 4, 3);
  EXPECT_EQ(scatter.sendCount, 24u);
  EXPECT_EQ(scatter.recvCount, 8u);
}

TEST(NcclTests, SizesRoundDownToWholeElementsPerRank) {
  // 100 B of floats on 3 ranks: 25 elements; all-gather and reduce-scatter 8 per rank.
  const CallShape ar = callShapeOf(Collective::kAllReduce, 100, 4, 3);
  EXPECT_EQ(ar.callCount, 25u);
  EXPECT_EQ(ar.largerCount(), 25u);
  const CallShape ag = callShapeOf(Collective::kAllGather, 100, 4, 3);
  EXPECT_EQ(ag.callCount, 8u);
  EXPECT_EQ(ag.sendCount, 8u);
  EXPECT_EQ(ag.recvCount, 24u);
  const CallShape rs = callShapeOf(Collective::kReduceScatter, 100, 4, 3);
  EXPECT_EQ(rs.callCount, 8u);
  EXPECT_EQ(rs.sendCount, 24u);
  EXPECT_EQ(rs.recvCount, 8u);
  EXPECT_EQ(rs.largerCount(), 24u);
}

}  // namespace
}  // namespace tutti::test
