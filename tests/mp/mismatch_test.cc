// Collective mismatch detection: ranks that make different calls (another collective of the same
// size, or the same one with another count, type, op or root) all fail with tuttiInvalidUsage
// within seconds, each naming both calls, over shm and tcp, with 2 to 5 ranks, on host and on
// emulated device buffers. Matching calls keep exact results (collectives_test.cc,
// collective_set_test.cc run with the check on; the opt-out is covered here).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "mp/harness.h"
#include "tutti/tutti_emulated.h"

namespace tutti::test {
namespace {

using Clock = std::chrono::steady_clock;

enum class Kind { kAllReduce, kAllGather, kReduceScatter, kBroadcast, kReduce };

const char* kindName(Kind kind) {
  switch (kind) {
    case Kind::kAllReduce:
      return "all_reduce";
    case Kind::kAllGather:
      return "all_gather";
    case Kind::kReduceScatter:
      return "reduce_scatter";
    case Kind::kBroadcast:
      return "broadcast";
    case Kind::kReduce:
      return "reduce";
  }
  return "?";
}

struct Call {
  Kind kind;
  size_t count;
  tuttiDataType_t type = tuttiFloat32;
  tuttiRedOp_t op = tuttiSum;
  int root = 0;
  const char* token = "";  // what the message must show of this call besides name and count
};

// The call whose buffers hold `chunk` elements per rank: all of them move n * chunk elements.
Call sized(Kind kind, size_t chunk, int nranks, int root) {
  const bool perRank = kind == Kind::kAllGather || kind == Kind::kReduceScatter;
  return Call{kind, perRank ? chunk : chunk * static_cast<size_t>(nranks), tuttiFloat32, tuttiSum,
              root};
}

tuttiResult_t issue(const Call& call, void* send, void* recv, tuttiComm_t comm,
                    tuttiStream_t stream) {
  switch (call.kind) {
    case Kind::kAllReduce:
      return tuttiAllReduce(send, recv, call.count, call.type, call.op, comm, stream);
    case Kind::kAllGather:
      return tuttiAllGather(send, recv, call.count, call.type, comm, stream);
    case Kind::kReduceScatter:
      return tuttiReduceScatter(send, recv, call.count, call.type, call.op, comm, stream);
    case Kind::kBroadcast:
      return tuttiBroadcast(send, recv, call.count, call.type, call.root, comm, stream);
    case Kind::kReduce:
      return tuttiReduce(send, recv, call.count, call.type, call.op, call.root, comm, stream);
  }
  return tuttiInternalError;
}

// The message names `call` as "<name>(count <count>" and shows its token.
bool names(const std::string& message, const Call& call) {
  const std::string text =
      std::string(kindName(call.kind)) + "(count " + std::to_string(call.count);
  return message.find(text) != std::string::npos && message.find(call.token) != std::string::npos;
}

// Rank `odd` calls `other`, every other rank `usual`; every rank must fail, naming both.
void expectMismatchFails(const std::string& transport, int nranks, int odd, const Call& usual,
                         const Call& other, size_t bufferBytes) {
  constexpr int kTimeoutMs = 30000;  // a hang would show as a timeout long after kLimitMs
  constexpr long kLimitMs = 5000;
  LaunchResult result = runRanks(nranks, [&](int rank, int n, const tuttiUniqueId& id) {
    setenv("TUTTI_TRANSPORT", transport.c_str(), 1);
    tuttiComm_t comm = initComm(rank, n, id, kTimeoutMs);
    if (comm == nullptr) return 2;
    std::vector<char> send(bufferBytes, 1);
    std::vector<char> recv(bufferBytes, 0);
    const Call& mine = rank == odd ? other : usual;
    const Call& theirs = rank == odd ? usual : other;
    const auto start = Clock::now();
    const tuttiResult_t rc = issue(mine, send.data(), recv.data(), comm, nullptr);
    const long ms = static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
    const std::string message = tuttiGetLastError(comm);
    if (rc != tuttiInvalidUsage || ms > kLimitMs ||
        message.find("collective mismatch") == std::string::npos || !names(message, mine) ||
        !names(message, theirs)) {
      std::fprintf(stderr, "rank %d (%s vs %s): %s after %ld ms: %s\n", rank, kindName(mine.kind),
                   kindName(theirs.kind), tuttiGetErrorString(rc), ms, message.c_str());
      return 1;
    }
    // Sticky: the connections are closed, and the next call says why.
    const tuttiResult_t again = issue(mine, send.data(), recv.data(), comm, nullptr);
    const std::string later = tuttiGetLastError(comm);
    tuttiCommDestroy(comm);
    if (again != tuttiInvalidUsage || later.find("collective mismatch") == std::string::npos) {
      std::fprintf(stderr, "rank %d: the next call gave %s: %s\n", rank, tuttiGetErrorString(again),
                   later.c_str());
      return 1;
    }
    return 0;
  });
  EXPECT_TRUE(result.ok) << transport << ", " << nranks << " ranks, rank " << odd << " calls "
                         << kindName(other.kind) << " while the others call "
                         << kindName(usual.kind) << ": " << result.failure;
}

constexpr Kind kKinds[] = {Kind::kAllReduce, Kind::kAllGather, Kind::kReduceScatter,
                           Kind::kBroadcast, Kind::kReduce};

class MismatchTest : public ::testing::TestWithParam<std::string> {};

// Every pair of different collectives moving the same bytes; the rank count cycles through 2..5,
// and which rank differs and the root move with it.
TEST_P(MismatchTest, EveryPairOfCollectivesFailsOnEveryRank) {
  int index = 0;
  for (int a = 0; a < 5; ++a) {
    for (int b = a + 1; b < 5; ++b, ++index) {
      const int nranks = 2 + index % 4;
      const int odd = index % nranks;
      const int root = (index / 2) % nranks;
      constexpr size_t kChunk = 48;
      expectMismatchFails(GetParam(), nranks, odd, sized(kKinds[a], kChunk, nranks, root),
                          sized(kKinds[b], kChunk, nranks, root), kChunk * nranks * 4);
    }
  }
}

// Messages past shm's single-copy threshold and tcp's striping.
TEST_P(MismatchTest, LargeCallsOfDifferentCollectivesFail) {
  constexpr size_t kChunk = 1 << 18;  // 1 MiB of floats per rank
  expectMismatchFails(GetParam(), 3, 1, sized(Kind::kAllReduce, kChunk, 3, 0),
                      sized(Kind::kAllGather, kChunk, 3, 0), kChunk * 3 * 4);
  expectMismatchFails(GetParam(), 2, 0, sized(Kind::kReduceScatter, kChunk, 2, 0),
                      sized(Kind::kBroadcast, kChunk, 2, 0), kChunk * 2 * 4);
}

TEST_P(MismatchTest, SameCollectiveWithAnotherCountTypeOpOrRootFails) {
  const std::string transport = GetParam();
  constexpr size_t kBytes = 4096;
  // Count: 100 vs 200 elements.
  expectMismatchFails(transport, 2, 1, Call{Kind::kAllGather, 100}, Call{Kind::kAllGather, 200},
                      kBytes * 8);
  // Type of the same size: the bytes would even pair up.
  Call asFloat{Kind::kAllReduce, 256, tuttiFloat32, tuttiSum, 0, ", float"};
  Call asInt{Kind::kAllReduce, 256, tuttiInt32, tuttiSum, 0, ", int32"};
  expectMismatchFails(transport, 3, 2, asFloat, asInt, kBytes);
  // Op.
  Call sum{Kind::kAllReduce, 256, tuttiFloat32, tuttiSum, 0, ", sum"};
  Call max{Kind::kAllReduce, 256, tuttiFloat32, tuttiMax, 0, ", max"};
  expectMismatchFails(transport, 4, 0, sum, max, kBytes);
  // Root.
  Call root0{Kind::kBroadcast, 256, tuttiFloat32, tuttiSum, 0, "root 0"};
  Call root1{Kind::kBroadcast, 256, tuttiFloat32, tuttiSum, 1, "root 1"};
  expectMismatchFails(transport, 5, 1, root0, root1, kBytes);
  Call reduceRoot2{Kind::kReduce, 256, tuttiFloat32, tuttiSum, 2, "root 2"};
  expectMismatchFails(transport, 3, 0, reduceRoot2,
                      Call{Kind::kReduce, 256, tuttiFloat32, tuttiSum, 0, "root 0"}, kBytes);
  // Count 0 against a nonzero count: the empty call exchanges descriptors too.
  expectMismatchFails(transport, 3, 1, Call{Kind::kAllReduce, 64}, Call{Kind::kAllReduce, 0},
                      kBytes);
}

// Many matching calls of mixed kinds in a row (descriptors of consecutive calls in flight
// together) keep exact results.
TEST_P(MismatchTest, MatchingCallsSucceedWithExactResults) {
  const std::string transport = GetParam();
  LaunchResult result = runRanks(3, [&](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_TRANSPORT", transport.c_str(), 1);
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 2;
    constexpr size_t kCount = 1000;
    std::vector<int32_t> send(kCount * nranks);
    std::vector<int32_t> recv(kCount * nranks);
    for (int round = 0; round < 20; ++round) {
      for (size_t i = 0; i < send.size(); ++i) send[i] = rank * 1000 + static_cast<int>(i) + round;
      if (tuttiAllReduce(send.data(), recv.data(), kCount, tuttiInt32, tuttiSum, comm, nullptr) !=
          tuttiSuccess) {
        return 3;
      }
      for (size_t i = 0; i < kCount; ++i) {
        if (recv[i] != 3000 + 3 * (static_cast<int>(i) + round)) return 4;
      }
      if (tuttiAllGather(send.data(), recv.data(), kCount, tuttiInt32, comm, nullptr) !=
          tuttiSuccess) {
        return 5;
      }
      for (int r = 0; r < nranks; ++r) {
        for (size_t i = 0; i < kCount; ++i) {
          if (recv[r * kCount + i] != r * 1000 + static_cast<int>(i) + round) return 6;
        }
      }
    }
    tuttiCommDestroy(comm);
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

INSTANTIATE_TEST_SUITE_P(Transports, MismatchTest, ::testing::Values("shm", "tcp"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// TUTTI_CHECK_MISMATCH=0 on every rank: no descriptors travel, matching calls stay exact.
TEST(MismatchOptOutTest, CallsStayExactWithTheCheckOff) {
  for (const char* transport : {"shm", "tcp"}) {
    LaunchResult result = runRanks(3, [&](int rank, int nranks, const tuttiUniqueId& id) {
      setenv("TUTTI_TRANSPORT", transport, 1);
      setenv("TUTTI_CHECK_MISMATCH", "0", 1);
      tuttiComm_t comm = initComm(rank, nranks, id);
      if (comm == nullptr) return 2;
      std::vector<double> data(5000);
      for (int round = 0; round < 5; ++round) {
        for (size_t i = 0; i < data.size(); ++i) data[i] = rank + static_cast<double>(i) + round;
        if (tuttiAllReduce(data.data(), data.data(), data.size(), tuttiFloat64, tuttiSum, comm,
                           nullptr) != tuttiSuccess) {
          return 3;
        }
        for (size_t i = 0; i < data.size(); ++i) {
          if (data[i] != 3 + 3 * (static_cast<double>(i) + round)) return 4;
        }
      }
      tuttiCommDestroy(comm);
      return 0;
    });
    EXPECT_TRUE(result.ok) << transport << ": " << result.failure;
  }
}

// Device buffers are staged into host collectives, which carry the check: the error reaches
// the communicator on every rank.
TEST(MismatchDeviceTest, DeviceCallsOfDifferentCollectivesFailOnEveryRank) {
  LaunchResult result = runRanks(2, [](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_DEVICE", "emulated", 1);
    // The staged path: calls over mapped peer memory (the p2p path) exchange no descriptors.
    setenv("TUTTI_P2P_DISABLE", "1", 1);
    tuttiComm_t comm = initComm(rank, nranks, id, 30000);
    if (comm == nullptr) return 2;
    tuttiEmuStream_t stream = nullptr;
    if (tuttiEmuStreamCreate(&stream) != tuttiSuccess) return 3;
    constexpr size_t kChunk = 4096;
    void* send = nullptr;
    void* recv = nullptr;
    if (tuttiMemAlloc(&send, kChunk * nranks * 4) != tuttiSuccess ||
        tuttiMemAlloc(&recv, kChunk * nranks * 4) != tuttiSuccess) {
      return 4;
    }
    const Call call = sized(rank == 0 ? Kind::kAllReduce : Kind::kAllGather, kChunk, nranks, 0);
    if (issue(call, send, recv, comm, reinterpret_cast<tuttiStream_t>(stream)) != tuttiSuccess) {
      return 5;
    }
    const auto start = Clock::now();
    tuttiEmuStreamSynchronize(stream, 20000);
    tuttiResult_t async = tuttiSuccess;
    tuttiCommGetAsyncError(comm, &async);
    const long ms = static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
    if (async != tuttiInvalidUsage || ms > 5000) {
      std::fprintf(stderr, "rank %d: async error %s after %ld ms\n", rank,
                   tuttiGetErrorString(async), ms);
      return 6;
    }
    tuttiCommAbort(comm);
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// Ranks that plan the same call with different algorithms (TUTTI_ALGO differs between ranks, or
// a tuner answers differently) would read each other's data in the wrong order: every rank must
// fail naming the algorithms instead of returning a wrong sum.
TEST(MismatchAlgorithmTest, RanksThatPlanWithDifferentAlgorithmsFail) {
  for (const char* transport : {"shm", "tcp"}) {
    for (const char* odd : {"ring", "tree"}) {
      LaunchResult result = runRanks(4, [&](int rank, int nranks, const tuttiUniqueId& id) {
        setenv("TUTTI_TRANSPORT", transport, 1);
        setenv("TUTTI_ALGO", rank == 1 ? odd : "rd", 1);
        tuttiComm_t comm = initComm(rank, nranks, id, 30000);
        if (comm == nullptr) return 2;
        std::vector<int32_t> data(4096);
        for (size_t i = 0; i < data.size(); ++i) data[i] = rank + static_cast<int32_t>(i);
        const auto start = Clock::now();
        const tuttiResult_t rc = tuttiAllReduce(data.data(), data.data(), data.size(), tuttiInt32,
                                                tuttiSum, comm, nullptr);
        const long ms = static_cast<long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
        const std::string message = tuttiGetLastError(comm);
        tuttiCommDestroy(comm);
        if (rc != tuttiInvalidUsage || ms > 5000 ||
            message.find("collective mismatch") == std::string::npos ||
            message.find(std::string("algorithm ") + odd) == std::string::npos ||
            message.find("algorithm rd") == std::string::npos) {
          std::fprintf(stderr, "rank %d (%s): %s after %ld ms: %s\n", rank, rank == 1 ? odd : "rd",
                       tuttiGetErrorString(rc), ms, message.c_str());
          return 1;
        }
        return 0;
      });
      EXPECT_TRUE(result.ok) << transport << ", rank 1 plans with " << odd << ": "
                             << result.failure;
    }
  }
}

}  // namespace
}  // namespace tutti::test
