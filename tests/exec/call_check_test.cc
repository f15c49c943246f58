// The call descriptor: what makes two calls alike, and how a mismatch is worded.
#include "exec/call_check.h"

#include <gtest/gtest.h>

#include <cstring>

namespace tutti {
namespace {

TEST(CallCheckTest, ArgumentsTheCollectiveIgnoresDoNotCount) {
  // An all-gather does not reduce and an all-reduce has no root.
  EXPECT_TRUE(compareCalls(describeCall(7, Collective::kAllGather, 10, tuttiInt8, tuttiSum, 0), 0,
                           describeCall(7, Collective::kAllGather, 10, tuttiInt8, tuttiMax, 3), 1)
                  .isOk());
  EXPECT_TRUE(compareCalls(describeCall(7, Collective::kAllReduce, 10, tuttiInt8, tuttiSum, 0), 0,
                           describeCall(7, Collective::kAllReduce, 10, tuttiInt8, tuttiSum, 2), 1)
                  .isOk());
}

TEST(CallCheckTest, EveryFieldThatMattersIsCompared) {
  const CallDescriptor mine = describeCall(57, Collective::kReduce, 200, tuttiFloat32, tuttiSum, 1);
  const CallDescriptor others[] = {
      describeCall(58, Collective::kReduce, 200, tuttiFloat32, tuttiSum, 1),
      describeCall(57, Collective::kBroadcast, 200, tuttiFloat32, tuttiSum, 1),
      describeCall(57, Collective::kReduce, 100, tuttiFloat32, tuttiSum, 1),
      describeCall(57, Collective::kReduce, 200, tuttiInt32, tuttiSum, 1),
      describeCall(57, Collective::kReduce, 200, tuttiFloat32, tuttiMin, 1),
      describeCall(57, Collective::kReduce, 200, tuttiFloat32, tuttiSum, 0),
  };
  for (const CallDescriptor& theirs : others) {
    Status status = compareCalls(mine, 0, theirs, 3);
    EXPECT_EQ(status.code(), tuttiInvalidUsage) << callText(theirs);
    EXPECT_NE(status.message().find("rank 3 called " + callText(theirs) + " as call #" +
                                    std::to_string(theirs.sequence) + " while rank 0 called " +
                                    callText(mine) + " as call #57"),
              std::string::npos)
        << status.message();
  }
}

TEST(CallCheckTest, PlansOfDifferentAlgorithmsAreAMismatch) {
  auto call = [](const char* algorithm) {
    return describeCall(9, Collective::kAllReduce, 4096, tuttiInt32, tuttiSum, 0,
                        descriptorAlgorithm(algorithm));
  };
  EXPECT_TRUE(compareCalls(call("rd"), 0, call("rd"), 1).isOk());
  // An alias is the same algorithm.
  EXPECT_TRUE(compareCalls(call("recursive_doubling"), 0, call("rd"), 1).isOk());
  // A descriptor that states none (the p2p path) is alike with any.
  EXPECT_TRUE(compareCalls(call("ring"), 0, call(""), 1).isOk());
  Status status = compareCalls(call("rd"), 0, call("ring"), 1);
  EXPECT_EQ(status.code(), tuttiInvalidUsage);
  EXPECT_NE(status.message().find("rank 1 planned call #9, all_reduce(count 4096, int32, sum), "
                                  "with algorithm ring while rank 0 planned it with algorithm rd"),
            std::string::npos)
      << status.message();
  // Another collective is worded as before: the algorithms do not matter then.
  status = compareCalls(call("rd"), 0,
                        describeCall(9, Collective::kAllGather, 4096, tuttiInt32, tuttiSum, 0,
                                     descriptorAlgorithm("ring")),
                        1);
  EXPECT_NE(status.message().find("rank 1 called all_gather"), std::string::npos)
      << status.message();
}

TEST(CallCheckTest, TextNamesWhatMatters) {
  EXPECT_EQ(callText(describeCall(1, Collective::kAllReduce, 200, tuttiFloat32, tuttiMax, 0)),
            "all_reduce(count 200, float, max)");
  EXPECT_EQ(callText(describeCall(1, Collective::kAllGather, 100, tuttiInt32, tuttiMax, 0)),
            "all_gather(count 100, int32)");
  EXPECT_EQ(callText(describeCall(1, Collective::kBroadcast, 8, tuttiInt8, tuttiSum, 2)),
            "broadcast(count 8, int8, root 2)");
}

TEST(CallCheckTest, DataWhereADescriptorBelongsIsNamed) {
  CallDescriptor data;
  std::memset(&data, 0x5a, sizeof(data));
  Status status = compareCalls(
      describeCall(3, Collective::kAllReduce, 1, tuttiFloat32, tuttiSum, 0), 1, data, 0);
  EXPECT_EQ(status.code(), tuttiInvalidUsage);
  EXPECT_NE(status.message().find("TUTTI_CHECK_MISMATCH"), std::string::npos) << status.message();
}

TEST(CallCheckTest, AnAwaitedRankIsPlacedAgainstTheCallThatTimedOut) {
  const CallDescriptor mine =
      describeCall(57, Collective::kAllReduce, 8, tuttiFloat32, tuttiSum, 0);
  EXPECT_EQ(describeAwaitedRank(2, mine, nullptr, 40),
            "rank 2 is alive (heard from 40 ms ago) and has not been seen waiting in any call of "
            "this communicator: it has not reached call #57 (it computes, or waits elsewhere)");
  const CallDescriptor earlier =
      describeCall(56, Collective::kAllGather, 4, tuttiInt32, tuttiSum, 0);
  EXPECT_EQ(describeAwaitedRank(2, mine, &earlier, -1),
            "rank 2 was last seen waiting in call #56 (all_gather(count 4, int32)), an earlier "
            "call: it has not been seen in call #57");
  EXPECT_EQ(describeAwaitedRank(3, mine, &mine, 0),
            "rank 3 is alive (heard from 0 ms ago) and waits in call #57 too (all_reduce(count "
            "8, float, sum)): what stalls lies further along");
  const CallDescriptor later = describeCall(60, Collective::kBroadcast, 8, tuttiInt8, tuttiSum, 1);
  EXPECT_EQ(describeAwaitedRank(1, mine, &later, -1),
            "rank 1 waits in call #60 (broadcast(count 8, int8, root 1)), a later call");
}

}  // namespace
}  // namespace tutti
