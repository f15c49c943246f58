// The p2p path's behaviour beyond exact results (collectives_test.cc's P2pDevice and
// P2pAlgorithms cases hold those): a peer that never arrives at a barrier is a timeout error, not
// a hang; an abort releases a stream waiting at a barrier; TUTTI_ALGO=ring keeps device calls on
// the staged path and maps nothing; one rank's TUTTI_P2P_DISABLE=1 turns the path off for every
// rank.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
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

}  // namespace
}  // namespace tutti::test
