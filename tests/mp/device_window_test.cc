// Registered windows (tuttiCommWindowRegister, core/p2p_registration.h) beyond exact results
// (collectives_test.cc's P2pRegistered cases hold those): bad arguments are tuttiInvalidArgument
// on the calling rank; ranks registering different sizes get tuttiInvalidUsage on every rank;
// ranks breaking the symmetric promise (another offset) get tuttiInvalidUsage naming both
// offsets, never wrong data reported as success; TUTTI_WIN_DEFAULT windows, deregistered windows
// and communicators without mapped peer memory run calls through the windows, exactly.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/comm.h"
#include "mp/harness.h"
#include "tutti/tutti_emulated.h"

namespace tutti::test {
namespace {

constexpr size_t kCount = 1001;  // floats, in each half of the arena
constexpr size_t kArenaBytes = 2 * 4096 * sizeof(float);

struct Rank {
  tuttiComm_t comm = nullptr;
  tuttiEmuStream_t stream = nullptr;
  char* arena = nullptr;  // tuttiMemAlloc: send data at the start, results half-way
};

int setUp(int rank, int nranks, const tuttiUniqueId& id, Rank* out, int timeoutMs = 20000) {
  setenv("TUTTI_DEVICE", "emulated", 1);
  out->comm = initComm(rank, nranks, id, timeoutMs);
  if (out->comm == nullptr) return 2;
  CHECK_RC(tuttiEmuStreamCreate(&out->stream));
  CHECK_RC(tuttiMemAlloc(reinterpret_cast<void**>(&out->arena), kArenaBytes));
  return 0;
}

void tearDown(const Rank& r) {
  tuttiMemFree(r.arena);
  tuttiEmuStreamDestroy(r.stream);
  tuttiCommDestroy(r.comm);
}

// An all-reduce (sum) of rank + 1 from arena + sendOffset into arena + recvOffset, waited for:
// 0 when every element is 1 + 2 + ... + nranks and no error was reported.
int allReduceExact(const Rank& r, int nranks, size_t sendOffset, size_t recvOffset) {
  int rank = 0;
  CHECK_RC(tuttiCommUserRank(r.comm, &rank));
  std::vector<float> values(kCount, static_cast<float>(rank + 1));
  CHECK_RC(tuttiEmuMemcpy(r.arena + sendOffset, values.data(), kCount * sizeof(float), r.stream));
  CHECK_RC(tuttiAllReduce(r.arena + sendOffset, r.arena + recvOffset, kCount, tuttiFloat32,
                          tuttiSum, r.comm, r.stream));
  CHECK_RC(tuttiEmuMemcpy(values.data(), r.arena + recvOffset, kCount * sizeof(float), r.stream));
  tuttiResult_t async = tuttiSuccess;
  CHECK_RC(tuttiCommGetAsyncError(r.comm, &async));
  if (async != tuttiSuccess) return 11;
  const float expected = static_cast<float>(nranks * (nranks + 1) / 2);
  for (float value : values) {
    if (value != expected) return 12;
  }
  return 0;
}

uint64_t registeredCalls(const Rank& r) {
  const P2pWindow* window = liveComm(r.comm)->p2p.get();
  return window != nullptr ? window->registeredCalls() : 0;
}

constexpr size_t kHalf = kArenaBytes / 2;

TEST(DeviceWindowTest, BadArgumentsAreInvalidArgumentOnTheCallingRank) {
  LaunchResult result = runRanks(1, [](int rank, int nranks, const tuttiUniqueId& id) {
    Rank r;
    int rc = setUp(rank, nranks, id, &r);
    if (rc != 0) return rc;
    tuttiWindow_t win = nullptr;
    struct Bad {
      const char* what;  // in the message
      tuttiResult_t got;
    } bad[] = {
        {"win is NULL", tuttiCommWindowRegister(r.comm, r.arena, kArenaBytes, nullptr, 0)},
        {"buff is NULL", tuttiCommWindowRegister(r.comm, nullptr, kArenaBytes, &win, 0)},
        {"size is 0", tuttiCommWindowRegister(r.comm, r.arena, 0, &win, 0)},
        {"winFlags 0x2", tuttiCommWindowRegister(r.comm, r.arena, kArenaBytes, &win, 2)},
        {"buff + size - 1",
         tuttiCommWindowRegister(r.comm, r.arena, kArenaBytes + (size_t{64} << 20), &win, 1)},
        {"past the allocation",
         tuttiCommWindowRegister(r.comm, r.arena + 64, kArenaBytes, &win, 1)},
        {"not a registered window", tuttiCommWindowDeregister(r.comm, nullptr)},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
      if (bad[i].got != tuttiInvalidArgument) {
        std::fprintf(stderr, "case %s: %d, want tuttiInvalidArgument\n", bad[i].what, bad[i].got);
        return 20 + static_cast<int>(i);
      }
    }
    // Each message names the argument (checked one call at a time: the last error is per call).
    if (tuttiCommWindowRegister(r.comm, r.arena, kArenaBytes, &win, 2) != tuttiInvalidArgument ||
        std::string(tuttiGetLastError(r.comm)).find("winFlags 0x2") == std::string::npos) {
      std::fprintf(stderr, "message: %s\n", tuttiGetLastError(r.comm));
      return 30;
    }
    // A window deregisters once; the second time the handle is dead.
    CHECK_RC(tuttiCommWindowRegister(r.comm, r.arena, kArenaBytes, &win, 1));
    CHECK_RC(tuttiCommWindowDeregister(r.comm, win));
    if (tuttiCommWindowDeregister(r.comm, win) != tuttiInvalidArgument) return 32;
    tearDown(r);
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

TEST(DeviceWindowTest, DifferentSizesAreAnErrorOnEveryRank) {
  LaunchResult result = runRanks(3, [](int rank, int nranks, const tuttiUniqueId& id) {
    Rank r;
    int rc = setUp(rank, nranks, id, &r);
    if (rc != 0) return rc;
    tuttiWindow_t win = nullptr;
    const size_t size = rank == 2 ? kHalf : kArenaBytes;
    if (tuttiCommWindowRegister(r.comm, r.arena, size, &win, 1) != tuttiInvalidUsage ||
        win != nullptr) {
      return 14;
    }
    const std::string message = tuttiGetLastError(r.comm);
    const std::string theirs = rank == 2 ? std::to_string(kArenaBytes) : std::to_string(kHalf);
    if (message.find("registers " + theirs + " bytes") == std::string::npos) {
      std::fprintf(stderr, "rank %d: %s\n", rank, message.c_str());
      return 15;
    }
    // Host memory on rank 0 where the others register device memory: every rank fails, naming
    // both kinds (host windows serve one-sided puts: tests/mp/one_sided_test.cc).
    std::vector<float> host(kHalf / sizeof(float));
    void* mine = rank == 0 ? static_cast<void*>(host.data()) : static_cast<void*>(r.arena);
    if (tuttiCommWindowRegister(r.comm, mine, kHalf, &win, 1) != tuttiInvalidUsage ||
        std::string(tuttiGetLastError(r.comm)).find("of host memory") == std::string::npos ||
        std::string(tuttiGetLastError(r.comm)).find("of device memory") == std::string::npos) {
      std::fprintf(stderr, "rank %d: %s\n", rank, tuttiGetLastError(r.comm));
      return 16;
    }
    rc = allReduceExact(r, nranks, 0, kHalf);  // the communicator goes on, unregistered
    tearDown(r);
    return rc;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// Symmetric windows read the peers' buffers directly; rank 1 passing its send buffer 64 bytes
// further on is an error on every rank that names both offsets, and sticky.
TEST(DeviceWindowTest, ABrokenSymmetricPromiseIsAnErrorNamingBothOffsets) {
  LaunchResult result = runRanks(3, [](int rank, int nranks, const tuttiUniqueId& id) {
    Rank r;
    int rc = setUp(rank, nranks, id, &r);
    if (rc != 0) return rc;
    if (liveComm(r.comm)->p2pState != 1) return 13;
    tuttiWindow_t win = nullptr;
    CHECK_RC(tuttiCommWindowRegister(r.comm, r.arena, kArenaBytes, &win, TUTTI_WIN_COLL_SYMMETRIC));
    rc = allReduceExact(r, nranks, 0, kHalf);
    if (rc != 0) return rc;
    if (registeredCalls(r) != 1) return 16;
    const size_t offset = rank == 1 ? 64 : 0;
    CHECK_RC(tuttiAllReduce(r.arena + offset, r.arena + kHalf, kCount, tuttiFloat32, tuttiSum,
                            r.comm, r.stream));
    CHECK_RC(tuttiEmuStreamSynchronize(r.stream, 30000));
    tuttiResult_t async = tuttiSuccess;
    CHECK_RC(tuttiCommGetAsyncError(r.comm, &async));
    const std::string message = tuttiGetLastError(r.comm);
    if (async != tuttiInvalidUsage ||
        message.find("registered window #0 at offset 64") == std::string::npos ||
        message.find("registered window #0 at offset 0") == std::string::npos) {
      std::fprintf(stderr, "rank %d: async error %d, message: %s\n", rank, async, message.c_str());
      return 17;
    }
    if (tuttiAllReduce(r.arena, r.arena + kHalf, kCount, tuttiFloat32, tuttiSum, r.comm,
                       r.stream) != tuttiInvalidUsage) {
      return 18;  // sticky
    }
    tuttiCommWindowDeregister(r.comm, win);
    tearDown(r);
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// What runs through the p2p windows though a window is registered: a TUTTI_WIN_DEFAULT window;
// buffers outside any window; a symmetric window after its deregistration; and, on a
// communicator without mapped peer memory (TUTTI_P2P_DISABLE=1), every call (staged).
TEST(DeviceWindowTest, CallsOutsideMappedSymmetricWindowsRunThroughTheWindows) {
  for (const bool p2p : {true, false}) {
    LaunchResult result = runRanks(2, [p2p](int rank, int nranks, const tuttiUniqueId& id) {
      if (!p2p) setenv("TUTTI_P2P_DISABLE", "1", 1);
      Rank r;
      int rc = setUp(rank, nranks, id, &r);
      if (rc != 0) return rc;
      if ((liveComm(r.comm)->p2pState == 1) != p2p) return 13;
      tuttiWindow_t plain = nullptr;
      CHECK_RC(tuttiCommWindowRegister(r.comm, r.arena, kArenaBytes, &plain, TUTTI_WIN_DEFAULT));
      rc = allReduceExact(r, nranks, 0, kHalf);
      if (rc == 0 && registeredCalls(r) != 0) rc = 14;
      CHECK_RC(tuttiCommWindowDeregister(r.comm, plain));
      tuttiWindow_t symmetric = nullptr;
      CHECK_RC(tuttiCommWindowRegister(r.comm, r.arena + kHalf, kHalf, &symmetric,
                                       TUTTI_WIN_COLL_SYMMETRIC));
      // The send buffer outside the window: through the p2p windows.
      if (rc == 0) rc = allReduceExact(r, nranks, 0, kHalf);
      if (rc == 0 && registeredCalls(r) != 0) rc = 15;
      // Both in it: directly, where peers' memory is mapped.
      if (rc == 0) rc = allReduceExact(r, nranks, kHalf, kHalf + 4096);
      if (rc == 0 && registeredCalls(r) != (p2p ? 1u : 0u)) rc = 16;
      CHECK_RC(tuttiCommWindowDeregister(r.comm, symmetric));
      if (rc == 0) rc = allReduceExact(r, nranks, kHalf, kHalf + 4096);
      if (rc == 0 && registeredCalls(r) != (p2p ? 1u : 0u)) rc = 17;
      tearDown(r);
      return rc;
    });
    EXPECT_TRUE(result.ok) << (p2p ? "p2p: " : "staged: ") << result.failure;
  }
}

// Deregistration right after a staged call and a registered call queued on one stream: the
// staged call needs the communicator's call lock on its progress thread to run, and the
// registered call waits behind it. Deregistering waits for them without holding that lock, so
// it succeeds at once rather than timing out.
TEST(DeviceWindowTest, DeregisteringBehindAStagedCallOnTheSameStreamDoesNotWaitForTheTimeout) {
  LaunchResult result = runRanks(2, [](int rank, int nranks, const tuttiUniqueId& id) {
    Rank r;
    int rc = setUp(rank, nranks, id, &r, 8000);
    if (rc != 0) return rc;
    if (liveComm(r.comm)->p2pState != 1) return 13;
    tuttiWindow_t win = nullptr;
    CHECK_RC(tuttiCommWindowRegister(r.comm, r.arena, kArenaBytes, &win, TUTTI_WIN_COLL_SYMMETRIC));
    std::vector<float> values(kCount, static_cast<float>(rank + 1));
    CHECK_RC(tuttiEmuMemcpy(r.arena, values.data(), kCount * sizeof(float), r.stream));
    // Staged (broadcast has no p2p algorithm), then registered, then deregistered at once.
    CHECK_RC(
        tuttiBroadcast(r.arena + kHalf, r.arena + kHalf, 16, tuttiFloat32, 0, r.comm, r.stream));
    CHECK_RC(tuttiAllReduce(r.arena, r.arena, kCount, tuttiFloat32, tuttiSum, r.comm, r.stream));
    const auto start = std::chrono::steady_clock::now();
    CHECK_RC(tuttiCommWindowDeregister(r.comm, win));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (seconds > 4) {
      std::fprintf(stderr, "rank %d: deregistering took %.2f s\n", rank, seconds);
      return 14;
    }
    CHECK_RC(tuttiEmuMemcpy(values.data(), r.arena, kCount * sizeof(float), r.stream));
    for (float value : values) {
      if (value != static_cast<float>(nranks * (nranks + 1) / 2)) return 15;
    }
    if (registeredCalls(r) != 1) return 16;
    tearDown(r);
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

}  // namespace
}  // namespace tutti::test
