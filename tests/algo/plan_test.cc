#include "algo/plan.h"

#include <gtest/gtest.h>

namespace tutti {
namespace {

TEST(PlanTest, ChunksCoverTheCountInBalancedContiguousPieces) {
  for (size_t count : {0u, 1u, 5u, 7u, 64u, 1000003u}) {
    for (int parts : {1, 2, 3, 7, 64}) {
      size_t total = 0;
      for (int i = 0; i < parts; ++i) {
        EXPECT_EQ(chunkOffset(count, parts, i), total);
        size_t size = chunkCount(count, parts, i);
        EXPECT_LE(size, count / parts + 1);
        EXPECT_GE(size, count / parts);
        total += size;
      }
      EXPECT_EQ(total, count);
    }
  }
}

TEST(PlanTest, BufferShapesFollowNccl) {
  EXPECT_EQ(sendBufferCount(Collective::kAllReduce, 4, 10), 10u);
  EXPECT_EQ(recvBufferCount(Collective::kAllReduce, 4, 10), 10u);
  EXPECT_EQ(sendBufferCount(Collective::kAllGather, 4, 10), 10u);
  EXPECT_EQ(recvBufferCount(Collective::kAllGather, 4, 10), 40u);
  EXPECT_EQ(sendBufferCount(Collective::kReduceScatter, 4, 10), 40u);
  EXPECT_EQ(recvBufferCount(Collective::kReduceScatter, 4, 10), 10u);
}

TEST(PlanTest, StepKindsDeclareTheirTraffic) {
  EXPECT_TRUE(stepSends(StepKind::kRecvReduceSend));
  EXPECT_TRUE(stepReceives(StepKind::kRecvReduceSend));
  EXPECT_FALSE(stepReads(StepKind::kRecvCopySend));
  EXPECT_FALSE(stepWrites(StepKind::kSend));
  EXPECT_FALSE(stepSends(StepKind::kCopy));
  EXPECT_FALSE(stepReceives(StepKind::kCopy));
}

}  // namespace
}  // namespace tutti
