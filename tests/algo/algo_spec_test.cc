#include "algo/algo_spec.h"

#include <gtest/gtest.h>

#include "algo/algo_spec_testing.h"
#include "algo/choice.h"
#include "algo/cost_defaults.h"

namespace tutti {
namespace {

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
       {"butterfly", "allreduce:butterfly", "bcast:ring", "^ring,rd,tree,binomial,direct",
        "64K-0:ring", "allreduce:x-1:ring", "allreduce:0-1Q:ring", "0-1K:ring:rd"}) {
    AlgoSpec spec;
    Status status = AlgoSpec::parse(bad, &spec);
    EXPECT_FALSE(status.isOk()) << bad;
    EXPECT_EQ(status.code(), tuttiInvalidArgument) << bad;
    EXPECT_NE(status.message().find("TUTTI_ALGO"), std::string::npos) << status.message();
  }
}

}  // namespace
}  // namespace tutti
