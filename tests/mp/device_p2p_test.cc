// The p2p path's behaviour beyond exact results (collectives_test.cc's P2pDevice and
// P2pAlgorithms cases hold those): a peer that never arrives at a barrier is a timeout error, not
// a hang; an abort releases a stream waiting at a barrier; TUTTI_ALGO=ring keeps device calls on
// the staged path and maps nothing; one rank's TUTTI_P2P_DISABLE=1 turns the path off for every
// rank; calls that differ between ranks are an error on every rank, naming both calls.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/comm.h"
#include "mp/harness.h"
#include "tutti/tutti_emulated.h"

namespace tutti::test {
namespace {

constexpr size_t kCount = 1001;  // floats

// A rank's communicator, stream and device buffers, filled with rank + 1.
struct Rank {
  tuttiComm_t comm = nullptr;
  tuttiEmuStream_t stream = nullptr;
  float* send = nullptr;
  float* recv = nullptr;
};

int setUp(int rank, int nranks, const tuttiUniqueId& id, Rank* out, int timeoutMs = 60000) {
  setenv("TUTTI_DEVICE", "emulated", 1);
  out->comm = initComm(rank, nranks, id, timeoutMs);
  if (out->comm == nullptr) return 2;
  CHECK_RC(tuttiEmuStreamCreate(&out->stream));
  CHECK_RC(tuttiMemAlloc(reinterpret_cast<void**>(&out->send), kCount * sizeof(float)));
  CHECK_RC(tuttiMemAlloc(reinterpret_cast<void**>(&out->recv), kCount * sizeof(float)));
  std::vector<float> values(kCount, static_cast<float>(rank + 1));
  CHECK_RC(tuttiEmuMemcpy(out->send, values.data(), kCount * sizeof(float), out->stream));
  return 0;
}

// One all-reduce (sum), waited for; 0 when every element is 1 + 2 + ... + nranks.
int allReduceExact(const Rank& r, int nranks) {
  CHECK_RC(tuttiAllReduce(r.send, r.recv, kCount, tuttiFloat32, tuttiSum, r.comm, r.stream));
  std::vector<float> result(kCount, 0);
  CHECK_RC(tuttiEmuMemcpy(result.data(), r.recv, kCount * sizeof(float), r.stream));
  tuttiResult_t async = tuttiSuccess;
  CHECK_RC(tuttiCommGetAsyncError(r.comm, &async));
  if (async != tuttiSuccess) return 11;
  const float expected = static_cast<float>(nranks * (nranks + 1) / 2);
  for (float value : result) {
    if (value != expected) return 12;
  }
  return 0;
}

void tearDown(const Rank& r) {
  tuttiMemFree(r.send);
  tuttiMemFree(r.recv);
  tuttiEmuStreamDestroy(r.stream);
  tuttiCommDestroy(r.comm);
}

// Rank 1 makes one call less than rank 0: rank 0's barrier waits the timeout, then its
// stream goes on, and the communicator reports tuttiTimeout, sticky.
TEST(DeviceP2pTest, PeerThatNeverArrivesIsATimeoutNotAHang) {
  LaunchResult result = runRanks(2, [](int rank, int nranks, const tuttiUniqueId& id) {
    Rank r;
    int rc = setUp(rank, nranks, id, &r, 1500);  // the communicator's timeout, every wait's
    if (rc != 0) return rc;
    rc = allReduceExact(r, nranks);
    if (rc != 0) return rc;
    if (liveComm(r.comm)->p2pState != 1) return 13;  // the path under test was taken
    if (rank == 1) {
      sleep(4);  // rank 0's barrier times out meanwhile
      tearDown(r);
      return 0;
    }
    const auto start = std::chrono::steady_clock::now();
    CHECK_RC(tuttiAllReduce(r.send, r.recv, kCount, tuttiFloat32, tuttiSum, r.comm, r.stream));
    CHECK_RC(tuttiEmuStreamSynchronize(r.stream, 30000));  // ends: the barrier gave up
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    tuttiResult_t async = tuttiSuccess;
    CHECK_RC(tuttiCommGetAsyncError(r.comm, &async));
    if (async != tuttiTimeout) {
      std::fprintf(stderr, "async error %d after the lost peer, want tuttiTimeout\n", async);
      return 14;
    }
    if (seconds < 1.4 || seconds > 10) {
      std::fprintf(stderr, "the barrier gave up after %.2f s, want about 1.5\n", seconds);
      return 15;
    }
    // Sticky: the next call is refused with the same error.
    if (tuttiAllReduce(r.send, r.recv, kCount, tuttiFloat32, tuttiSum, r.comm, r.stream) !=
        tuttiTimeout) {
      return 16;
    }
    tearDown(r);
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// tuttiCommAbort while the stream waits at a barrier for a peer that will not come: the barrier
// ends at once, not at the (60 s) timeout, and the abort returns.
TEST(DeviceP2pTest, AbortReleasesAStreamWaitingAtABarrier) {
  LaunchResult result = runRanks(2, [](int rank, int nranks, const tuttiUniqueId& id) {
    Rank r;
    int rc = setUp(rank, nranks, id, &r);
    if (rc == 0) rc = allReduceExact(r, nranks);
    if (rc != 0) return rc;
    if (rank == 1) {
      sleep(3);
      tearDown(r);
      return 0;
    }
    CHECK_RC(tuttiAllReduce(r.send, r.recv, kCount, tuttiFloat32, tuttiSum, r.comm, r.stream));
    usleep(200 * 1000);  // the stream is at the call's first barrier by now
    const auto start = std::chrono::steady_clock::now();
    CHECK_RC(tuttiCommAbort(r.comm));
    CHECK_RC(tuttiEmuStreamSynchronize(r.stream, 30000));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (seconds > 5) {
      std::fprintf(stderr, "abort and the stream took %.2f s\n", seconds);
      return 14;
    }
    tuttiMemFree(r.send);
    tuttiMemFree(r.recv);
    tuttiEmuStreamDestroy(r.stream);
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// TUTTI_ALGO=ring: the staged path, exact, and no window is set up at init.
TEST(DeviceP2pTest, RingKeepsDeviceCallsStaged) {
  LaunchResult result = runRanks(3, [](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_ALGO", "ring", 1);
    Rank r;
    int rc = setUp(rank, nranks, id, &r);
    if (rc == 0) rc = allReduceExact(r, nranks);
    if (rc == 0 && liveComm(r.comm)->p2pState != -1) rc = 13;
    tearDown(r);
    return rc;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// TUTTI_P2P_DISABLE=1 on one rank only: every rank agrees to stage, and results stay exact.
TEST(DeviceP2pTest, OneRankDisablingTurnsThePathOffForAll) {
  LaunchResult result = runRanks(3, [](int rank, int nranks, const tuttiUniqueId& id) {
    if (rank == 2) setenv("TUTTI_P2P_DISABLE", "1", 1);
    Rank r;
    int rc = setUp(rank, nranks, id, &r);
    if (rc == 0) rc = allReduceExact(r, nranks);
    if (rc == 0) rc = allReduceExact(r, nranks);
    if (rc == 0 && liveComm(r.comm)->p2pState != -1) rc = 13;
    tearDown(r);
    return rc;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// Calls that differ between ranks on the p2p path: every rank's communicator reports
// tuttiInvalidUsage naming both calls (the call check of a call's first barrier), never success;
// later calls are refused with it. Each case gives one rank (`odd`) another call.
struct MismatchCase {
  const char* name;
  int odd;
  const char* mine;    // what every other rank's message says of its own call
  const char* theirs;  // and of the odd rank's
};

tuttiResult_t callForCase(const Rank& r, const MismatchCase& c, int rank) {
  const bool odd = rank == c.odd;
  const std::string name = c.name;
  if (name == "count") {
    return tuttiAllReduce(r.send, r.recv, odd ? kCount - 1 : kCount, tuttiFloat32, tuttiSum, r.comm,
                          r.stream);
  }
  if (name == "op") {
    return tuttiAllReduce(r.send, r.recv, kCount, tuttiFloat32, odd ? tuttiMax : tuttiSum, r.comm,
                          r.stream);
  }
  if (name == "type") {
    return tuttiAllReduce(r.send, r.recv, kCount, odd ? tuttiInt32 : tuttiFloat32, tuttiSum, r.comm,
                          r.stream);
  }
  // collective: the same bytes in, all-gather against all-reduce.
  if (odd) return tuttiAllGather(r.send, r.recv, kCount / 3, tuttiFloat32, r.comm, r.stream);
  return tuttiAllReduce(r.send, r.recv, kCount / 3, tuttiFloat32, tuttiSum, r.comm, r.stream);
}

TEST(DeviceP2pTest, MismatchedCallsAreAnErrorOnEveryRankNamingBothCalls) {
  const MismatchCase cases[] = {
      {"count", 2, "all_reduce(count 1001, float, sum)", "all_reduce(count 1000, float, sum)"},
      {"op", 1, "all_reduce(count 1001, float, sum)", "all_reduce(count 1001, float, max)"},
      {"type", 0, "all_reduce(count 1001, float, sum)", "all_reduce(count 1001, int32, sum)"},
      {"collective", 1, "all_reduce(count 333, float, sum)", "all_gather(count 333, float)"},
  };
  for (const MismatchCase& c : cases) {
    LaunchResult result = runRanks(3, [&c](int rank, int nranks, const tuttiUniqueId& id) {
      Rank r;
      int rc = setUp(rank, nranks, id, &r, 5000);
      if (rc == 0) rc = allReduceExact(r, nranks);  // alike calls pass the check
      if (rc != 0) return rc;
      if (liveComm(r.comm)->p2pState != 1) return 13;
      CHECK_RC(callForCase(r, c, rank));  // issued; the check runs on the stream
      CHECK_RC(tuttiEmuStreamSynchronize(r.stream, 30000));
      tuttiResult_t async = tuttiSuccess;
      CHECK_RC(tuttiCommGetAsyncError(r.comm, &async));
      const std::string message = tuttiGetLastError(r.comm);
      const bool odd = rank == c.odd;
      // Each rank names its own call and the first rank whose call differs from it.
      const std::string own = odd ? c.theirs : c.mine;
      const std::string other = odd ? c.mine : c.theirs;
      if (async != tuttiInvalidUsage || message.find("collective mismatch") == std::string::npos ||
          message.find(own) == std::string::npos || message.find(other) == std::string::npos) {
        std::fprintf(stderr, "rank %d, case %s: async error %d, message: %s\n", rank, c.name, async,
                     message.c_str());
        return 14;
      }
      if (tuttiAllReduce(r.send, r.recv, kCount, tuttiFloat32, tuttiSum, r.comm, r.stream) !=
          tuttiInvalidUsage) {
        return 15;  // sticky
      }
      tearDown(r);
      return 0;
    });
    EXPECT_TRUE(result.ok) << c.name << ": " << result.failure;
  }
}

// TUTTI_CHECK_MISMATCH=0 on every rank: the first barrier checks nothing, so calls that differ
// only in their op run (with an undefined result) and the communicator reports no error.
TEST(DeviceP2pTest, CheckOptOutLeavesTheFirstBarrierPlain) {
  LaunchResult result = runRanks(2, [](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_CHECK_MISMATCH", "0", 1);
    Rank r;
    int rc = setUp(rank, nranks, id, &r, 5000);
    if (rc == 0) rc = allReduceExact(r, nranks);
    if (rc != 0) return rc;
    if (liveComm(r.comm)->p2pState != 1) return 13;
    CHECK_RC(tuttiAllReduce(r.send, r.recv, kCount, tuttiFloat32, rank == 0 ? tuttiSum : tuttiMax,
                            r.comm, r.stream));
    CHECK_RC(tuttiEmuStreamSynchronize(r.stream, 30000));
    tuttiResult_t async = tuttiSuccess;
    CHECK_RC(tuttiCommGetAsyncError(r.comm, &async));
    if (async != tuttiSuccess) return 14;
    rc = allReduceExact(r, nranks);  // the barriers still line up
    tearDown(r);
    return rc;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

}  // namespace
}  // namespace tutti::test
