// One-sided calls on host windows (tuttiPutSignal, tuttiWaitSignal): every rank puts into every
// rank's window (itself included), every datatype's size and counts from 0 to large, signals
// counted exactly and consumed by waits; collectives between rounds on the same connections;
// clear errors for bad arguments, for transports without puts (tcp), for waits that time out and
// for a putter that dies.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "exec/datatype.h"
#include "mp/harness.h"
#include "testing/rank_launcher.h"

namespace tutti::test {
namespace {

using Clock = std::chrono::steady_clock;

// Every rank's slot in each window: large enough for the largest put.
constexpr size_t kSlotBytes = size_t{1} << 20;

uint8_t patternByte(int rank, int round, size_t index) {
  return static_cast<uint8_t>(rank * 37 + round * 11 + index * 13 + 1);
}

bool hasText(tuttiComm_t comm, const char* text) {
  return std::string(tuttiGetLastError(comm)).find(text) != std::string::npos;
}

// A barrier through a collective on the same connections the puts use.
int barrier(tuttiComm_t comm) {
  int32_t word = 1;
  CHECK_RC(tuttiAllReduce(&word, &word, 1, tuttiInt32, tuttiSum, comm, nullptr));
  return 0;
}

// Sets the transport of a parameter: "shm", "tcp", "ucx", or "shm_emu" (shm with the emulated
// device runtime loaded, so that host buffers are classified rather than assumed).
void selectTransport(const std::string& transport) {
  const size_t underscore = transport.find('_');
  setenv("TUTTI_TRANSPORT", transport.substr(0, underscore).c_str(), 1);
  // shm puts with cross-memory attach, which is off by default where ranks outnumber CPUs.
  setenv("TUTTI_SHM_CMA", "1", 1);
  if (transport.find("_emu") != std::string::npos) setenv("TUTTI_DEVICE", "emulated", 1);
}

class OneSidedTest : public ::testing::TestWithParam<std::tuple<int, const char*>> {};

// Rounds of all-to-all puts: round r uses datatype r and a count from the list, signal r % 8;
// each rank waits for one put of every rank, checks every slot, and a collective separates the
// rounds so that no slot is overwritten before its owner read it. Then three puts under one
// signal and one wait for all three, and puts of nothing that raise the signal alone.
TEST_P(OneSidedTest, EveryRankPutsIntoEveryWindowExactly) {
  const auto [nranks, transport] = GetParam();
  LaunchResult result = runRanks(nranks, [transport = std::string(transport)](
                                             int rank, int n, const tuttiUniqueId& id) {
    selectTransport(transport);
    tuttiComm_t comm = initComm(rank, n, id);
    if (comm == nullptr) return 2;
    std::vector<uint8_t> window(kSlotBytes * static_cast<size_t>(n), 0);
    std::vector<uint8_t> source(kSlotBytes);
    tuttiWindow_t win = nullptr;
    CHECK_RC(tuttiCommWindowRegister(comm, window.data(), window.size(), &win,
                                     TUTTI_WIN_COLL_SYMMETRIC));
    const size_t counts[] = {0, 1, 2, 3, 7, 131, 4099, 65537};
    int round = 0;
    for (int type = 0; type < tuttiNumTypes; ++type) {
      for (size_t countIndex = static_cast<size_t>(type) % 2; countIndex < std::size(counts);
           countIndex += 2, ++round) {
        const size_t elementBytes = dataTypeSize(static_cast<tuttiDataType_t>(type));
        const size_t count = counts[countIndex];
        const size_t bytes = count * elementBytes;
        const int signal = round % TUTTI_NUM_SIGNALS;
        for (size_t i = 0; i < bytes; ++i) source[i] = patternByte(rank, round, i);
        // Each rank starts with the next rank, so that the puts into one window interleave.
        for (int step = 0; step < n; ++step) {
          const int peer = (rank + 1 + step) % n;
          CHECK_RC(tuttiPutSignal(source.data(), count, static_cast<tuttiDataType_t>(type), peer,
                                  win, kSlotBytes * static_cast<size_t>(rank), signal, 0, 0, comm,
                                  nullptr));
        }
        std::vector<tuttiWaitSignalDesc_t> descs;
        for (int peer = 0; peer < n; ++peer) descs.push_back({1, peer, signal, 0});
        CHECK_RC(tuttiWaitSignal(n, descs.data(), comm, nullptr));
        for (int peer = 0; peer < n; ++peer) {
          const uint8_t* slot = window.data() + kSlotBytes * static_cast<size_t>(peer);
          for (size_t i = 0; i < bytes; ++i) {
            if (slot[i] != patternByte(peer, round, i)) {
              std::fprintf(stderr,
                           "rank %d, round %d (type %d, count %zu): byte %zu of rank %d's put "
                           "is %u, want %u\n",
                           rank, round, type, count, i, peer, slot[i], patternByte(peer, round, i));
              return 3;
            }
          }
        }
        if (barrier(comm) != 0) return 4;
      }
    }
    // Three puts under one signal, into three places of the next rank's slot; one wait for all.
    const int next = (rank + 1) % n;
    const int previous = (rank + n - 1) % n;
    for (int part = 0; part < 3; ++part) {
      for (size_t i = 0; i < 1000; ++i) source[i] = patternByte(rank, 100 + part, i);
      CHECK_RC(tuttiPutSignal(source.data(), 1000, tuttiUint8, next, win,
                              kSlotBytes * static_cast<size_t>(rank) + 1000 * part, 5, 0, 0, comm,
                              nullptr));
    }
    // Two puts of nothing: signals alone.
    CHECK_RC(tuttiPutSignal(nullptr, 0, tuttiFloat32, next, win, 0, 6, 0, 0, comm, nullptr));
    CHECK_RC(tuttiPutSignal(nullptr, 0, tuttiFloat32, next, win, 0, 6, 0, 0, comm, nullptr));
    const tuttiWaitSignalDesc_t split[] = {
        {2, previous, 5, 0}, {1, previous, 5, 0}, {2, previous, 6, 0}, {0, next, 7, 0}};
    CHECK_RC(tuttiWaitSignal(4, split, comm, nullptr));
    const uint8_t* slot = window.data() + kSlotBytes * static_cast<size_t>(previous);
    for (int part = 0; part < 3; ++part) {
      for (size_t i = 0; i < 1000; ++i) {
        if (slot[1000 * part + i] != patternByte(previous, 100 + part, i)) return 5;
      }
    }
    CHECK_RC(tuttiWaitSignal(0, nullptr, comm, nullptr));
    if (barrier(comm) != 0) return 6;
    CHECK_RC(tuttiCommWindowDeregister(comm, win));
    CHECK_RC(tuttiCommDestroy(comm));
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

INSTANTIATE_TEST_SUITE_P(Ranks, OneSidedTest,
                         ::testing::Values(std::make_tuple(1, "shm"), std::make_tuple(2, "shm"),
                                           std::make_tuple(3, "shm"), std::make_tuple(5, "shm"),
                                           std::make_tuple(8, "shm"),
                                           std::make_tuple(3, "shm_emu")),
                         ranksTransportName);
#if TUTTI_HAVE_UCX
INSTANTIATE_TEST_SUITE_P(Ucx, OneSidedTest,
                         ::testing::Values(std::make_tuple(2, "ucx"), std::make_tuple(3, "ucx")),
                         ranksTransportName);
#endif

TEST(OneSidedErrorsTest, BadArgumentsAreClearErrors) {
  LaunchResult result = runRanks(2, [](int rank, int n, const tuttiUniqueId& id) {
    selectTransport("shm");
    tuttiComm_t comm = initComm(rank, n, id);
    if (comm == nullptr) return 2;
    std::vector<char> window(4096), source(64);
    tuttiWindow_t win = nullptr;
    CHECK_RC(tuttiCommWindowRegister(comm, window.data(), window.size(), &win, TUTTI_WIN_DEFAULT));
    const int peer = 1 - rank;
    int stream = 0;
    struct Case {
      const char* name;
      tuttiResult_t got;
      tuttiResult_t want;
      const char* text;  // in the message
    };
    auto put = [&](const void* buff, size_t count, int type, int to, tuttiWindow_t w, size_t offset,
                   int sig, int ctx, unsigned flags, tuttiComm_t c, tuttiStream_t s) {
      return tuttiPutSignal(buff, count, static_cast<tuttiDataType_t>(type), to, w, offset, sig,
                            ctx, flags, c, s);
    };
    std::vector<Case> cases;
    auto record = [&](const char* name, tuttiResult_t got, tuttiResult_t want, const char* text) {
      cases.push_back({name, got, want, text});
      if (got == want && std::string(tuttiGetLastError(comm)).find(text) == std::string::npos &&
          std::string(tuttiGetLastError(nullptr)).find(text) == std::string::npos) {
        std::fprintf(stderr, "rank %d, %s: message '%s' lacks '%s'\n", rank, name,
                     tuttiGetLastError(comm), text);
        cases.back().got = tuttiInternalError;
      }
    };
    record("NULL comm", put(source.data(), 1, tuttiInt8, peer, win, 0, 0, 0, 0, nullptr, nullptr),
           tuttiInvalidArgument, "comm is NULL");
    record("datatype", put(source.data(), 1, 99, peer, win, 0, 0, 0, 0, comm, nullptr),
           tuttiInvalidArgument, "datatype 99");
    record("peer -1", put(source.data(), 1, tuttiInt8, -1, win, 0, 0, 0, 0, comm, nullptr),
           tuttiInvalidArgument, "peer -1");
    record("peer n", put(source.data(), 1, tuttiInt8, n, win, 0, 0, 0, 0, comm, nullptr),
           tuttiInvalidArgument, "peer 2");
    record("sigIdx", put(source.data(), 1, tuttiInt8, peer, win, 0, 8, 0, 0, comm, nullptr),
           tuttiInvalidArgument, "sigIdx 8");
    record("ctx", put(source.data(), 1, tuttiInt8, peer, win, 0, 0, 1, 0, comm, nullptr),
           tuttiInvalidArgument, "ctx 1");
    record("flags", put(source.data(), 1, tuttiInt8, peer, win, 0, 0, 0, 2, comm, nullptr),
           tuttiInvalidArgument, "flags 0x2");
    record("localbuff", put(nullptr, 1, tuttiInt8, peer, win, 0, 0, 0, 0, comm, nullptr),
           tuttiInvalidArgument, "localbuff is NULL");
    record("peerWin", put(source.data(), 1, tuttiInt8, peer, nullptr, 0, 0, 0, 0, comm, nullptr),
           tuttiInvalidArgument, "peerWin");
    record("past the end",
           put(source.data(), 2, tuttiInt32, peer, win, 4090, 0, 0, 0, comm, nullptr),
           tuttiInvalidArgument, "runs past the end");
    record("offset past the end",
           put(source.data(), 0, tuttiInt32, peer, win, 4097, 0, 0, 0, comm, nullptr),
           tuttiInvalidArgument, "peerWinOffset 4097");
    record("stream", put(source.data(), 1, tuttiInt8, peer, win, 0, 0, 0, 0, comm, &stream),
           tuttiInvalidArgument, "is not NULL");
    CHECK_RC(tuttiGroupStart());
    record("in a group", put(source.data(), 1, tuttiInt8, peer, win, 0, 0, 0, 0, comm, nullptr),
           tuttiInvalidUsage, "tuttiGroupStart");
    const tuttiWaitSignalDesc_t one = {1, peer, 0, 0};
    record("wait in a group", tuttiWaitSignal(1, &one, comm, nullptr), tuttiInvalidUsage,
           "tuttiGroupStart");
    CHECK_RC(tuttiGroupEnd());
    record("nDesc", tuttiWaitSignal(-1, &one, comm, nullptr), tuttiInvalidArgument, "nDesc -1");
    record("descs", tuttiWaitSignal(1, nullptr, comm, nullptr), tuttiInvalidArgument,
           "signalDescs is NULL");
    const tuttiWaitSignalDesc_t bad[] = {{1, peer, 0, 0}, {-1, peer, 0, 0}};
    record("opCnt", tuttiWaitSignal(2, bad, comm, nullptr), tuttiInvalidArgument,
           "signalDescs[1].opCnt -1");
    const tuttiWaitSignalDesc_t badPeer[] = {{1, 7, 0, 0}};
    record("wait peer", tuttiWaitSignal(1, badPeer, comm, nullptr), tuttiInvalidArgument,
           "signalDescs[0].peer 7");
    const tuttiWaitSignalDesc_t badSig[] = {{1, peer, -1, 0}};
    record("wait sigIdx", tuttiWaitSignal(1, badSig, comm, nullptr), tuttiInvalidArgument,
           "sigIdx -1");
    const tuttiWaitSignalDesc_t badCtx[] = {{1, peer, 0, 3}};
    record("wait ctx", tuttiWaitSignal(1, badCtx, comm, nullptr), tuttiInvalidArgument, "ctx 3");
    record("wait stream", tuttiWaitSignal(1, &one, comm, &stream), tuttiInvalidArgument,
           "is not NULL");
    int failed = 0;
    for (const Case& c : cases) {
      if (c.got != c.want) {
        std::fprintf(stderr, "rank %d, %s: %d, want %d\n", rank, c.name, c.got, c.want);
        ++failed;
      }
    }
    if (failed > 0) return 20;
    // None of them broke the communicator: a put and its wait still work.
    CHECK_RC(tuttiPutSignal(source.data(), 64, tuttiInt8, peer, win, 0, 0, 0, 0, comm, nullptr));
    CHECK_RC(tuttiWaitSignal(1, &one, comm, nullptr));
    if (barrier(comm) != 0) return 21;
    // A deregistered window is refused.
    CHECK_RC(tuttiCommWindowDeregister(comm, win));
    record("deregistered", put(source.data(), 1, tuttiInt8, peer, win, 0, 0, 0, 0, comm, nullptr),
           tuttiInvalidArgument, "peerWin");
    if (cases.back().got != tuttiInvalidArgument) return 22;
    CHECK_RC(tuttiCommDestroy(comm));
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// Ranks that register windows of different sizes all fail, naming the other size.
TEST(OneSidedErrorsTest, DifferentWindowSizesAreAnErrorOnEveryRank) {
  LaunchResult result = runRanks(3, [](int rank, int n, const tuttiUniqueId& id) {
    selectTransport("shm");
    tuttiComm_t comm = initComm(rank, n, id);
    if (comm == nullptr) return 2;
    std::vector<char> window(8192);
    tuttiWindow_t win = nullptr;
    const size_t size = rank == 1 ? 4096 : 8192;
    if (tuttiCommWindowRegister(comm, window.data(), size, &win, 0) != tuttiInvalidUsage ||
        win != nullptr) {
      return 3;
    }
    if (!hasText(comm, rank == 1 ? "registers 8192 bytes of host memory"
                                 : "registers 4096 bytes of host memory")) {
      std::fprintf(stderr, "rank %d: %s\n", rank, tuttiGetLastError(comm));
      return 4;
    }
    if (barrier(comm) != 0) return 5;  // the communicator goes on
    CHECK_RC(tuttiCommDestroy(comm));
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// tcp has no put: registration succeeds, a put to a peer or a wait on one is tuttiInvalidUsage
// naming the transports at once (no hang), and a put to oneself still works.
TEST(OneSidedErrorsTest, TcpHasNoPutAndSaysSo) {
  LaunchResult result = runRanks(2, [](int rank, int n, const tuttiUniqueId& id) {
    setenv("TUTTI_TRANSPORT", "tcp", 1);
    tuttiComm_t comm = initComm(rank, n, id);
    if (comm == nullptr) return 2;
    std::vector<char> window(4096), source(16, static_cast<char>(rank + 1));
    tuttiWindow_t win = nullptr;
    CHECK_RC(tuttiCommWindowRegister(comm, window.data(), window.size(), &win, 0));
    if (tuttiPutSignal(source.data(), 16, tuttiInt8, 1 - rank, win, 0, 0, 0, 0, comm, nullptr) !=
            tuttiInvalidUsage ||
        !hasText(comm, "has no one-sided put") || !hasText(comm, "tcp")) {
      std::fprintf(stderr, "rank %d: put: %s\n", rank, tuttiGetLastError(comm));
      return 3;
    }
    const tuttiWaitSignalDesc_t fromPeer = {1, 1 - rank, 0, 0};
    if (tuttiWaitSignal(1, &fromPeer, comm, nullptr) != tuttiInvalidUsage ||
        !hasText(comm, "has no one-sided put")) {
      std::fprintf(stderr, "rank %d: wait: %s\n", rank, tuttiGetLastError(comm));
      return 4;
    }
    CHECK_RC(tuttiPutSignal(source.data(), 16, tuttiInt8, rank, win, 100, 2, 0, 0, comm, nullptr));
    const tuttiWaitSignalDesc_t fromSelf = {1, rank, 2, 0};
    CHECK_RC(tuttiWaitSignal(1, &fromSelf, comm, nullptr));
    if (window[100] != rank + 1 || window[115] != rank + 1 || window[116] != 0) return 5;
    CHECK_RC(tuttiCommWindowDeregister(comm, win));
    CHECK_RC(tuttiCommDestroy(comm));
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// A wait for a put that never comes ends after TUTTI_TIMEOUT_MS, naming the peer, the signal
// and what arrived; nothing is consumed, and the communicator goes on. Rank 1 meanwhile waits
// for rank 0's answer (its own waits timing out and retried), not in a collective, whose
// timeout would end it first.
TEST(OneSidedErrorsTest, WaitTimesOutNamingThePeerAndTheSignal) {
  LaunchResult result = runRanks(2, [](int rank, int n, const tuttiUniqueId& id) {
    selectTransport("shm");
    setenv("TUTTI_TIMEOUT_MS", "3000", 1);
    tuttiComm_t comm = initComm(rank, n, id, 3000);
    if (comm == nullptr) return 2;
    std::vector<char> window(4096), source(8);
    tuttiWindow_t win = nullptr;
    CHECK_RC(tuttiCommWindowRegister(comm, window.data(), window.size(), &win, 0));
    if (rank == 1) {
      CHECK_RC(tuttiPutSignal(source.data(), 8, tuttiInt8, 0, win, 0, 3, 0, 0, comm, nullptr));
      const tuttiWaitSignalDesc_t answer = {1, 0, 4, 0};
      tuttiResult_t rc = tuttiTimeout;
      for (int attempt = 0; attempt < 30 && rc == tuttiTimeout; ++attempt) {
        rc = tuttiWaitSignal(1, &answer, comm, nullptr);
      }
      CHECK_RC(rc);
    } else {
      const tuttiWaitSignalDesc_t two = {2, 1, 3, 0};
      const auto start = Clock::now();
      const tuttiResult_t rc = tuttiWaitSignal(1, &two, comm, nullptr);
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (rc != tuttiTimeout || !hasText(comm, "2 put(s) of rank 1 raising signal 3; 1 arrived")) {
        std::fprintf(stderr, "wait: %d after %.2f s: %s\n", rc, seconds, tuttiGetLastError(comm));
        return 3;
      }
      if (seconds < 2.9 || seconds > 15) {
        std::fprintf(stderr, "the wait took %.2f s for a 3 s timeout\n", seconds);
        return 4;
      }
      // The one put that came is still there to be consumed.
      const tuttiWaitSignalDesc_t one = {1, 1, 3, 0};
      CHECK_RC(tuttiWaitSignal(1, &one, comm, nullptr));
      CHECK_RC(tuttiPutSignal(nullptr, 0, tuttiInt8, 1, win, 0, 4, 0, 0, comm, nullptr));
    }
    if (barrier(comm) != 0) return 5;
    CHECK_RC(tuttiCommDestroy(comm));
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// A rank that dies while the others wait for its puts: their waits end with an error naming it
// long before the timeout (the communicator's failure detection).
TEST(OneSidedErrorsTest, APutterThatDiesEndsTheWaitsForIt) {
  const int n = 3;
  RankLaunch launch = forkRanksSharingId(
      n,
      [](int rank, const tuttiUniqueId& id) {
        selectTransport("shm");
        setenv("TUTTI_TIMEOUT_MS", "60000", 1);
        setenv("TUTTI_HEARTBEAT_TIMEOUT_MS", "2000", 1);
        tuttiComm_t comm = initComm(rank, n, id, 60000);
        if (comm == nullptr) return 2;
        std::vector<char> window(4096);
        tuttiWindow_t win = nullptr;
        CHECK_RC(tuttiCommWindowRegister(comm, window.data(), window.size(), &win, 0));
        if (barrier(comm) != 0) return 3;
        if (rank == 2) {
          usleep(200 * 1000);
          kill(getpid(), SIGKILL);
        }
        const tuttiWaitSignalDesc_t fromTwo = {1, 2, 0, 0};
        const auto start = Clock::now();
        const tuttiResult_t rc = tuttiWaitSignal(1, &fromTwo, comm, nullptr);
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        if (rc != tuttiRemoteError || !hasText(comm, "rank 2")) {
          std::fprintf(stderr, "rank %d: wait: %d after %.2f s: %s\n", rank, rc, seconds,
                       tuttiGetLastError(comm));
          return 4;
        }
        if (seconds > 20) {
          std::fprintf(stderr, "rank %d: the wait took %.2f s\n", rank, seconds);
          return 5;
        }
        std::printf("rank %d: the wait ended %.2f s after it began: %s\n", rank, seconds,
                    tuttiGetLastError(comm));
        tuttiCommAbort(comm);
        return 0;
      },
      120);
  ASSERT_EQ(launch.ranks.size(), 3u) << launch.error;
  EXPECT_TRUE(launch.ranks[0].ok() && launch.ranks[1].ok()) << launch.failures();
  EXPECT_EQ(launch.ranks[2].signal, SIGKILL);
}

}  // namespace
}  // namespace tutti::test
