// Failure handling: a dead peer, a silent peer and an abort each end a collective with an error
// within the timeout, on every rank, instead of a hang.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "mp/harness.h"

namespace tutti::test {
namespace {

using Clock = std::chrono::steady_clock;

long elapsedMs(Clock::time_point start) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

TEST(FailureTest, DeadPeerBecomesAnErrorOnEveryRankWithinTheTimeout) {
  constexpr int kTimeoutMs = 5000;
  LaunchResult result = runRanks(3, [](int rank, int nranks, const tuttiUniqueId& id) {
    tuttiComm_t comm = initComm(rank, nranks, id, kTimeoutMs);
    if (comm == nullptr) return 2;
    if (rank == 2) _exit(0);  // dies without a word, as a crashed process does
    std::vector<float> data(1 << 20, 1.0f);
    auto start = Clock::now();
    tuttiResult_t rc = tuttiAllReduce(data.data(), data.data(), data.size(), tuttiFloat32, tuttiSum,
                                      comm, nullptr);
    long ms = elapsedMs(start);
    if (rc != tuttiRemoteError && rc != tuttiTimeout) {
      std::fprintf(stderr, "rank %d: expected an error, got %s\n", rank, tuttiGetErrorString(rc));
      return 1;
    }
    if (ms > kTimeoutMs + 2000) {
      std::fprintf(stderr, "rank %d: error after %ld ms\n", rank, ms);
      return 1;
    }
    tuttiResult_t async = tuttiSuccess;
    tuttiCommGetAsyncError(comm, &async);
    if (async != rc) return 1;
    // Sticky: the next call fails at once with the same code.
    if (tuttiAllReduce(data.data(), data.data(), 1, tuttiFloat32, tuttiSum, comm, nullptr) != rc) {
      return 1;
    }
    std::printf("rank %d: %s after %ld ms: %s\n", rank, tuttiGetErrorString(rc), ms,
                tuttiGetLastError(comm));
    tuttiCommDestroy(comm);
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// An in-place all-reduce of 1000 int32 ones, the call the stalled-peer tests make (count 1000 in
// their messages).
tuttiResult_t allReduceOnes(tuttiComm_t comm) {
  std::vector<int32_t> data(1000, 1);
  return tuttiAllReduce(data.data(), data.data(), data.size(), tuttiInt32, tuttiSum, comm, nullptr);
}

// A peer that stays away after its first call (alive, not calling), or stops (SIGSTOP): a
// timeout naming it, saying where the watch saw it and what it answered when asked at the
// timeout (a stopped one answers nothing).
struct SilentPeer {
  std::atomic<int> pid{0};
};

void silentPeerGivesTimeoutNamingIt(bool stopped) {
  constexpr int kTimeoutMs = 1500;
  SilentPeer* shared = mapShared<SilentPeer>();
  ASSERT_NE(shared, nullptr);
  LaunchResult result = runRanks(2, [&](int rank, int nranks, const tuttiUniqueId& id) {
    tuttiComm_t comm = initComm(rank, nranks, id, kTimeoutMs);
    if (comm == nullptr) return 2;
    auto allReduce = [comm] { return allReduceOnes(comm); };
    if (allReduce() != tuttiSuccess) return 3;
    if (rank == 1) {
      shared->pid.store(getpid());
      if (stopped) {
        raise(SIGSTOP);  // rank 0 continues it after its timeout
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(kTimeoutMs + 1500));
      }
      // Rank 0 gave up and closed its connections: this rank must fail, not hang.
      tuttiResult_t rc = allReduce();
      tuttiCommDestroy(comm);
      return rc == tuttiRemoteError || rc == tuttiTimeout ? 0 : 1;
    }
    auto start = Clock::now();
    tuttiResult_t rc = allReduce();
    long ms = elapsedMs(start);
    std::string message = tuttiGetLastError(comm);
    if (stopped) kill(shared->pid.load(), SIGCONT);
    tuttiCommDestroy(comm);
    // "Is rank 1 alive and in the same call?" answered by the watch: it hears rank 1, which has
    // not waited in any call, so it has not reached this one (it computes, or waits elsewhere);
    // asked, rank 1 says it is in no call, call #1 its last.
    const bool known = message.find("; the watch says rank 1 ") != std::string::npos &&
                       message.find(
                           " has not been seen waiting in any call of this communicator: "
                           "it has not reached call #2") != std::string::npos;
    const bool answered =
        stopped ? message.find(
                      "; asked now, rank 1 did not answer within 375 ms (stopped or "
                      "hung, or cut off from the watch)") != std::string::npos
                : message.find("; asked now, rank 1 answered in ") != std::string::npos &&
                      message.find(
                          " ms: it is in no call: its last, call #1 all_reduce(count "
                          "1000), completed ") != std::string::npos;
    std::printf("rank 0: %s after %ld ms: %s\n", tuttiGetErrorString(rc), ms, message.c_str());
    if (rc != tuttiTimeout || ms < kTimeoutMs - 100 || ms > kTimeoutMs + 1000 || !known ||
        !answered) {
      std::fprintf(stderr, "rank 0: %s after %ld ms: %s\n", tuttiGetErrorString(rc), ms,
                   message.c_str());
      return 1;
    }
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
  munmap(shared, sizeof(SilentPeer));
}

TEST(FailureTest, SilentPeerGivesTimeoutNamingIt) { silentPeerGivesTimeoutNamingIt(false); }

TEST(FailureTest, StoppedPeerGivesTimeoutSayingItDidNotAnswer) {
  silentPeerGivesTimeoutNamingIt(true);
}

// A chain of waits: 4 ranks in a ring all-reduce, rank 3 stays away after call #1, so rank 0
// waits for rank 3, rank 1 for rank 0 and rank 2 for rank 1. Rank 2 times out first (the others'
// timeouts are long) and its message follows the chain to the rank that holds everyone up.
TEST(FailureTest, TimeoutFollowsTheChainOfWaitsToTheRankInNoCall) {
  constexpr int kAskerTimeoutMs = 1500;
  constexpr int kOthersTimeoutMs = 20000;
  LaunchResult result = runRanks(4, [&](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_ALGO", "ring", 1);
    tuttiComm_t comm = initComm(rank, nranks, id, rank == 2 ? kAskerTimeoutMs : kOthersTimeoutMs);
    if (comm == nullptr) return 2;
    auto allReduce = [comm] { return allReduceOnes(comm); };
    if (allReduce() != tuttiSuccess) return 3;
    if (rank == 3) std::this_thread::sleep_for(std::chrono::milliseconds(kAskerTimeoutMs + 1500));
    const tuttiResult_t rc = allReduce();
    const std::string message = tuttiGetLastError(comm);
    tuttiCommDestroy(comm);
    if (rank != 2) return rc == tuttiRemoteError || rc == tuttiTimeout ? 0 : 1;
    std::printf("rank 2: %s: %s\n", tuttiGetErrorString(rc), message.c_str());
    const std::vector<std::string> chain = {
        "; the chain of waits: rank 2 -> 1 -> 0 -> 3, which awaits no rank's bytes",
        "; asked now, rank 1 answered in ",
        " ms: it is in call #2 all_reduce(count 1000) for ",
        ", waiting for rank 0 (",
        "; asked in turn, rank 0 answered in ",
        " ms: it is in call #2 all_reduce(count 1000) for ",
        ", waiting for rank 3 (0 of ",
        "; asked in turn, rank 3 answered in ",
        " ms: it is in no call: its last, call #1 all_reduce(count 1000), completed "};
    size_t at = 0;
    for (const std::string& part : chain) {
      at = message.find(part, at);
      if (at == std::string::npos) {
        std::fprintf(stderr, "rank 2: no \"%s\" in its place in: %s\n", part.c_str(),
                     message.c_str());
        return 1;
      }
      at += part.size();
    }
    return rc == tuttiTimeout ? 0 : 1;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

TEST(FailureTest, AbortUnblocksACallInProgress) {
  LaunchResult result = runRanks(2, [](int rank, int nranks, const tuttiUniqueId& id) {
    tuttiComm_t comm = initComm(rank, nranks, id, 60000);
    if (comm == nullptr) return 2;
    std::vector<float> data(1000, 1.0f);
    if (rank == 1) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      tuttiResult_t rc = tuttiAllReduce(data.data(), data.data(), data.size(), tuttiFloat32,
                                        tuttiSum, comm, nullptr);
      tuttiCommDestroy(comm);
      return rc == tuttiRemoteError ? 0 : 1;
    }
    tuttiResult_t rc = tuttiSuccess;
    auto start = Clock::now();
    std::thread caller([&] {
      rc = tuttiAllReduce(data.data(), data.data(), data.size(), tuttiFloat32, tuttiSum, comm,
                          nullptr);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    tuttiResult_t abortRc = tuttiCommAbort(comm);
    caller.join();
    long ms = elapsedMs(start);
    if (abortRc != tuttiSuccess || rc != tuttiRemoteError || ms > 2000) {
      std::fprintf(stderr, "abort %s, call %s after %ld ms\n", tuttiGetErrorString(abortRc),
                   tuttiGetErrorString(rc), ms);
      return 1;
    }
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

}  // namespace
}  // namespace tutti::test
