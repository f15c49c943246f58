#include "algo/peer_exchange.h"

#include <gtest/gtest.h>

namespace tutti {
namespace {

PeerTransfer send(int peer, size_t offset, size_t bytes) { return {true, peer, offset, bytes}; }
PeerTransfer recv(int peer, size_t offset, size_t bytes) { return {false, peer, offset, bytes}; }

// Sends first in issue order, then the copies to itself, then receives in issue order; empty
// transfers drop out at both ends.
TEST(PeerExchangeTest, SendsThenSelfCopiesThenReceivesInIssueOrder) {
  std::string problem;
  const std::optional<Plan> plan =
      peerExchangePlan(4, 1,
                       {recv(3, 0, 8), send(2, 0, 16), send(1, 16, 4), recv(1, 8, 4),
                        send(3, 20, 0), send(2, 20, 2), recv(2, 12, 6)},
                       &problem);
  ASSERT_TRUE(plan) << problem;
  EXPECT_EQ(plan->collective, Collective::kSendRecv);
  EXPECT_EQ(plan->count, 18u);  // bytes received
  ASSERT_EQ(plan->steps.size(), 5u);
  EXPECT_EQ(describeStep(plan->steps[0]), "send count=16 to=2 src=send+0");
  EXPECT_EQ(describeStep(plan->steps[1]), "send count=2 to=2 src=send+20");
  EXPECT_EQ(describeStep(plan->steps[2]), "copy count=4 src=send+16 dst=recv+8");
  EXPECT_EQ(describeStep(plan->steps[3]), "recv count=8 from=3 dst=recv+0");
  EXPECT_EQ(describeStep(plan->steps[4]), "recv count=6 from=2 dst=recv+12");
}

TEST(PeerExchangeTest, RefusesBadPeersAndUnpairedCallsToItself) {
  std::string problem;
  EXPECT_FALSE(peerExchangePlan(4, 0, {send(4, 0, 1)}, &problem));
  EXPECT_NE(problem.find("peer 4"), std::string::npos) << problem;
  EXPECT_FALSE(peerExchangePlan(4, 0, {recv(-1, 0, 1)}, &problem));
  EXPECT_FALSE(peerExchangePlan(4, 2, {send(2, 0, 1)}, &problem));
  EXPECT_NE(problem.find("itself"), std::string::npos) << problem;
  EXPECT_FALSE(peerExchangePlan(4, 2, {send(2, 0, 1), recv(2, 0, 2)}, &problem));
  EXPECT_NE(problem.find("bytes"), std::string::npos) << problem;
  EXPECT_TRUE(peerExchangePlan(4, 2, {}, &problem)->steps.empty());
}

}  // namespace
}  // namespace tutti
