// tuttiCommShrink's arguments: who survives and how they are renumbered, and every refusal
// naming its argument. The shrink itself, with ranks killed: tests/mp/shrink_test.cc.
#include "core/comm_shrink.h"

#include <gtest/gtest.h>

#include <vector>

namespace tutti {
namespace {

TEST(CommShrinkTest, SurvivorsKeepTheirOrder) {
  std::vector<int> survivors;
  const int exclude[] = {3, 0};
  ASSERT_TRUE(shrinkSurvivors(5, 1, exclude, 2, &survivors).isOk());
  EXPECT_EQ(survivors, (std::vector<int>{1, 2, 4}));
  ASSERT_TRUE(shrinkSurvivors(4, 2, nullptr, 0, &survivors).isOk());
  EXPECT_EQ(survivors, (std::vector<int>{0, 1, 2, 3}));
  ASSERT_TRUE(shrinkSurvivors(1, 0, nullptr, 0, &survivors).isOk());
  EXPECT_EQ(survivors, (std::vector<int>{0}));
}

TEST(CommShrinkTest, BadArgumentsAreRefusedNamingTheArgument) {
  std::vector<int> survivors;
  struct Case {
    int nranks;
    int rank;
    std::vector<int> exclude;
    int count;
    bool nullList;
    const char* named;
  };
  const Case cases[] = {
      {4, 0, {}, -1, false, "excludeCount -1"},
      {4, 0, {1, 2, 3, 0}, 4, false, "excludeCount 4"},
      {4, 0, {}, 1, true, "excludeRanks is NULL"},
      {4, 0, {4}, 1, false, "excludeRanks[0] = 4 is outside"},
      {4, 0, {1, -1}, 2, false, "excludeRanks[1] = -1 is outside"},
      {4, 0, {2, 2}, 2, false, "excludeRanks[1] = 2 is listed twice"},
      {4, 2, {1, 2}, 2, false, "excludeRanks[1] = 2 is the calling rank"},
  };
  for (const Case& c : cases) {
    const Status status = shrinkSurvivors(c.nranks, c.rank, c.nullList ? nullptr : c.exclude.data(),
                                          c.count, &survivors);
    EXPECT_EQ(status.code(), tuttiInvalidArgument) << c.named;
    EXPECT_NE(status.message().find(c.named), std::string::npos)
        << "expected '" << c.named << "' in: " << status.message();
  }
}

}  // namespace
}  // namespace tutti
