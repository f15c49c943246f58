// Argument checks of the C API: every bad argument gives tuttiInvalidArgument (or
// tuttiInvalidUsage) and a message naming it, never a crash.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "tutti/tutti.h"

namespace {

std::string lastError() { return tuttiGetLastError(nullptr); }

class ApiArgsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tuttiUniqueId id;
    ASSERT_EQ(tuttiGetUniqueId(&id), tuttiSuccess) << lastError();
    ASSERT_EQ(tuttiCommInitRank(&comm_, 1, id, 0), tuttiSuccess) << lastError();
  }
  void TearDown() override {
    if (comm_ != nullptr) EXPECT_EQ(tuttiCommDestroy(comm_), tuttiSuccess);
  }
  tuttiComm_t comm_ = nullptr;
  std::vector<float> send_ = std::vector<float>(16, 1.0f);
  std::vector<float> recv_ = std::vector<float>(16, 0.0f);
};

TEST_F(ApiArgsTest, BadDatatypeAndOpAreNamed) {
  EXPECT_EQ(tuttiAllReduce(send_.data(), recv_.data(), 4, static_cast<tuttiDataType_t>(12),
                           tuttiSum, comm_, nullptr),
            tuttiInvalidArgument);
  EXPECT_NE(lastError().find("datatype"), std::string::npos) << lastError();
  EXPECT_NE(std::string(tuttiGetLastError(comm_)).find("datatype"), std::string::npos);
  EXPECT_EQ(tuttiAllReduce(send_.data(), recv_.data(), 4, static_cast<tuttiDataType_t>(-1),
                           tuttiSum, comm_, nullptr),
            tuttiInvalidArgument);
  EXPECT_EQ(tuttiReduceScatter(send_.data(), recv_.data(), 4, tuttiFloat32,
                               static_cast<tuttiRedOp_t>(5), comm_, nullptr),
            tuttiInvalidArgument);
  EXPECT_NE(lastError().find("op"), std::string::npos) << lastError();
}

TEST_F(ApiArgsTest, NullBuffersWithCountAreNamedAndCountZeroIsFine) {
  EXPECT_EQ(tuttiAllReduce(send_.data(), nullptr, 4, tuttiFloat32, tuttiSum, comm_, nullptr),
            tuttiInvalidArgument);
  EXPECT_NE(lastError().find("recvbuff"), std::string::npos) << lastError();
  EXPECT_EQ(tuttiAllGather(nullptr, recv_.data(), 4, tuttiFloat32, comm_, nullptr),
            tuttiInvalidArgument);
  EXPECT_NE(lastError().find("sendbuff"), std::string::npos) << lastError();
  EXPECT_EQ(tuttiAllReduce(nullptr, nullptr, 0, tuttiFloat32, tuttiSum, comm_, nullptr),
            tuttiSuccess);
}

TEST_F(ApiArgsTest, StreamsAndPartialOverlapAreRejected) {
  int dummy = 0;
  EXPECT_EQ(tuttiAllReduce(send_.data(), recv_.data(), 4, tuttiFloat32, tuttiSum, comm_, &dummy),
            tuttiInvalidUsage);
  EXPECT_NE(lastError().find("stream"), std::string::npos) << lastError();
  EXPECT_EQ(
      tuttiAllReduce(send_.data(), send_.data() + 1, 4, tuttiFloat32, tuttiSum, comm_, nullptr),
      tuttiInvalidArgument);
  EXPECT_NE(lastError().find("overlap"), std::string::npos) << lastError();
  EXPECT_EQ(tuttiAllReduce(send_.data(), send_.data(), 4, tuttiFloat32, tuttiSum, comm_, nullptr),
            tuttiSuccess);
}

TEST_F(ApiArgsTest, SingleRankResultsAreExact) {
  std::vector<int32_t> in = {7, -3, 5};
  std::vector<int32_t> out(3, 0);
  ASSERT_EQ(tuttiAllReduce(in.data(), out.data(), 3, tuttiInt32, tuttiAvg, comm_, nullptr),
            tuttiSuccess);
  EXPECT_EQ(out, in);
  int count = 0;
  int rank = -1;
  EXPECT_EQ(tuttiCommCount(comm_, &count), tuttiSuccess);
  EXPECT_EQ(tuttiCommUserRank(comm_, &rank), tuttiSuccess);
  EXPECT_EQ(count, 1);
  EXPECT_EQ(rank, 0);
  tuttiResult_t async = tuttiInternalError;
  EXPECT_EQ(tuttiCommGetAsyncError(comm_, &async), tuttiSuccess);
  EXPECT_EQ(async, tuttiSuccess);
}

// The collective set beyond the three: root, op, datatype, NULL buffers, overlap and stream are
// checked like the others' and named; count 0 takes NULL everywhere.
TEST_F(ApiArgsTest, RootedCollectivesAndAllToAllCheckTheirArguments) {
  float* s = send_.data();
  float* r = recv_.data();
  EXPECT_EQ(tuttiBroadcast(s, r, 4, tuttiFloat32, 1, comm_, nullptr), tuttiInvalidArgument);
  EXPECT_NE(lastError().find("root 1 is outside [0, nranks = 1)"), std::string::npos)
      << lastError();
  EXPECT_EQ(tuttiReduce(s, r, 4, tuttiFloat32, tuttiSum, -1, comm_, nullptr), tuttiInvalidArgument);
  EXPECT_NE(lastError().find("root -1"), std::string::npos) << lastError();
  EXPECT_EQ(tuttiReduce(s, r, 4, tuttiFloat32, static_cast<tuttiRedOp_t>(9), 0, comm_, nullptr),
            tuttiInvalidArgument);
  EXPECT_NE(lastError().find("op 9"), std::string::npos) << lastError();
  EXPECT_EQ(tuttiGather(s, r, 4, static_cast<tuttiDataType_t>(12), 0, comm_, nullptr),
            tuttiInvalidArgument);
  EXPECT_NE(lastError().find("datatype"), std::string::npos) << lastError();
  // The root (the only rank here) uses every buffer.
  EXPECT_EQ(tuttiScatter(nullptr, r, 4, tuttiFloat32, 0, comm_, nullptr), tuttiInvalidArgument);
  EXPECT_NE(lastError().find("sendbuff is NULL on the root"), std::string::npos) << lastError();
  EXPECT_EQ(tuttiAlltoAll(s, nullptr, 4, tuttiFloat32, comm_, nullptr), tuttiInvalidArgument);
  EXPECT_NE(lastError().find("recvbuff is NULL"), std::string::npos) << lastError();
  // Overlap that is not the in-place layout; the in-place layouts run.
  EXPECT_EQ(tuttiAlltoAll(s, s + 1, 4, tuttiFloat32, comm_, nullptr), tuttiInvalidArgument);
  EXPECT_NE(lastError().find("overlap"), std::string::npos) << lastError();
  EXPECT_EQ(tuttiGather(s + 1, s, 4, tuttiFloat32, 0, comm_, nullptr), tuttiInvalidArgument);
  EXPECT_EQ(tuttiGather(s, s, 4, tuttiFloat32, 0, comm_, nullptr), tuttiSuccess);
  EXPECT_EQ(tuttiScatter(s, s, 4, tuttiFloat32, 0, comm_, nullptr), tuttiSuccess);
  EXPECT_EQ(tuttiAlltoAll(s, s, 4, tuttiFloat32, comm_, nullptr), tuttiSuccess);
  int dummy = 0;
  EXPECT_EQ(tuttiBroadcast(s, r, 4, tuttiFloat32, 0, comm_, &dummy), tuttiInvalidUsage);
  EXPECT_EQ(tuttiBroadcast(nullptr, nullptr, 0, tuttiFloat32, 0, comm_, nullptr), tuttiSuccess);
  EXPECT_EQ(tuttiReduce(nullptr, nullptr, 0, tuttiFloat32, tuttiAvg, 0, comm_, nullptr),
            tuttiSuccess);
  EXPECT_EQ(tuttiGather(nullptr, nullptr, 0, tuttiFloat32, 0, comm_, nullptr), tuttiSuccess);
  EXPECT_EQ(tuttiScatter(nullptr, nullptr, 0, tuttiFloat32, 0, comm_, nullptr), tuttiSuccess);
  EXPECT_EQ(tuttiAlltoAll(nullptr, nullptr, 0, tuttiFloat32, comm_, nullptr), tuttiSuccess);
  // One rank: each is a copy (reduce divides by 1 for Avg).
  std::vector<int32_t> in = {7, -3, 5};
  std::vector<int32_t> out(3, 0);
  ASSERT_EQ(tuttiReduce(in.data(), out.data(), 3, tuttiInt32, tuttiAvg, 0, comm_, nullptr),
            tuttiSuccess);
  EXPECT_EQ(out, in);
  out.assign(3, 0);
  ASSERT_EQ(tuttiBroadcast(in.data(), out.data(), 3, tuttiInt32, 0, comm_, nullptr), tuttiSuccess);
  EXPECT_EQ(out, in);
}

TEST_F(ApiArgsTest, NullAndDestroyedCommunicators) {
  float x = 0;
  EXPECT_EQ(tuttiAllReduce(&x, &x, 1, tuttiFloat32, tuttiSum, nullptr, nullptr),
            tuttiInvalidArgument);
  EXPECT_NE(lastError().find("comm is NULL"), std::string::npos) << lastError();
  ASSERT_EQ(tuttiCommDestroy(comm_), tuttiSuccess);
  tuttiComm_t destroyed = comm_;
  comm_ = nullptr;
  EXPECT_EQ(tuttiAllReduce(&x, &x, 1, tuttiFloat32, tuttiSum, destroyed, nullptr),
            tuttiInvalidArgument);
  EXPECT_NE(lastError().find("not a live communicator"), std::string::npos) << lastError();
  EXPECT_EQ(tuttiCommDestroy(destroyed), tuttiInvalidArgument);
  EXPECT_EQ(tuttiCommAbort(destroyed), tuttiInvalidArgument);
  int count = 0;
  EXPECT_EQ(tuttiCommCount(destroyed, &count), tuttiInvalidArgument);
  EXPECT_EQ(tuttiCommCount(nullptr, &count), tuttiInvalidArgument);
}

// TUTTI_INIT_TIMEOUT_MS bounds init as a whole: rank 0 of 2, whose peer never comes, fails with
// tuttiTimeout by then, though TUTTI_TIMEOUT_MS is a minute, and the message says which bound.
TEST(ApiInitTest, InitTimeoutBoundsInitAsAWhole) {
  setenv("TUTTI_INIT_TIMEOUT_MS", "700", 1);
  setenv("TUTTI_TIMEOUT_MS", "60000", 1);
  tuttiUniqueId id;
  ASSERT_EQ(tuttiGetUniqueId(&id), tuttiSuccess);
  tuttiComm_t comm = nullptr;
  const auto start = std::chrono::steady_clock::now();
  const tuttiResult_t rc = tuttiCommInitRank(&comm, 2, id, 0);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const std::string message = lastError();
  unsetenv("TUTTI_INIT_TIMEOUT_MS");
  unsetenv("TUTTI_TIMEOUT_MS");
  EXPECT_EQ(rc, tuttiTimeout) << message;
  EXPECT_LT(elapsed, std::chrono::milliseconds(5000)) << message;
  EXPECT_NE(message.find("TUTTI_INIT_TIMEOUT_MS=700"), std::string::npos) << message;
  EXPECT_NE(message.find("waiting for all ranks at the root"), std::string::npos) << message;
}

TEST(ApiInitTest, BadInitArgumentsAreNamed) {
  tuttiUniqueId id;
  ASSERT_EQ(tuttiGetUniqueId(&id), tuttiSuccess);
  tuttiComm_t comm = nullptr;
  EXPECT_EQ(tuttiCommInitRank(&comm, 2, id, 2), tuttiInvalidArgument);
  EXPECT_NE(lastError().find("rank = 2"), std::string::npos) << lastError();
  EXPECT_EQ(tuttiCommInitRank(&comm, 0, id, 0), tuttiInvalidArgument);
  EXPECT_NE(lastError().find("nranks"), std::string::npos) << lastError();
  EXPECT_EQ(tuttiCommInitRank(nullptr, 1, id, 0), tuttiInvalidArgument);
  tuttiUniqueId garbage{};
  EXPECT_EQ(tuttiCommInitRank(&comm, 1, garbage, 0), tuttiInvalidArgument);
  EXPECT_NE(lastError().find("commId"), std::string::npos) << lastError();
  tuttiConfig_t config{};  // not from TUTTI_CONFIG_INITIALIZER
  EXPECT_EQ(tuttiCommInitRankConfig(&comm, 1, id, 0, &config), tuttiInvalidArgument);
  EXPECT_NE(lastError().find("TUTTI_CONFIG_INITIALIZER"), std::string::npos) << lastError();
  EXPECT_EQ(tuttiGetUniqueId(nullptr), tuttiInvalidArgument);
  EXPECT_EQ(tuttiGetVersion(nullptr), tuttiInvalidArgument);
}

TEST(ApiInitTest, ErrorStringsAreNamed) {
  EXPECT_STREQ(tuttiGetErrorString(tuttiSuccess), "no error");
  EXPECT_STREQ(tuttiGetErrorString(tuttiInvalidArgument), "invalid argument");
  EXPECT_STREQ(tuttiGetErrorString(tuttiTimeout), "timeout");
  EXPECT_STREQ(tuttiGetErrorString(static_cast<tuttiResult_t>(99)), "unknown result code");
}

}  // namespace
