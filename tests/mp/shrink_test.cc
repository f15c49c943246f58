// Revoke and shrink (issue 12, item 5): a rank killed in the middle of a training-like loop of
// all-reduces (rank 0, the old bootstrap root, or a middle rank); the survivors get the error,
// ask which rank failed, shrink without it and finish the loop on the new communicator with
// exact results. Two ranks failing at once (both killed, or one killed and one stopped): every
// survivor learns both and they shrink without them. A rank that revokes stops the others' calls,
// naming itself; the revoked communicator shrinks to a working one of every rank. Each rank checks
// that revoke, shrink and destroy leave no file descriptor or thread behind. Times are printed.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "mp/harness.h"
#include "testing/rank_launcher.h"

namespace tutti::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kTimeoutMs = 20000;  // every wait; a hang would end the test well within 60 s
constexpr int kHeartbeatTimeoutMs = 2000;
constexpr long kErrorLimitMs = 5000;     // kill or revoke to each survivor's error (about 0.1 s)
constexpr long kRecoverLimitMs = 10000;  // kill to a working shrunk communicator (about 0.5 s)
constexpr int kSteps = 10;               // the loop's all-reduces
constexpr int kKillStep = 4;             // the step the victim dies in
constexpr size_t kCount = 4096;

// Mapped before the fork: when and which process the victim ended, or who revoked.
struct Shared {
  std::atomic<int64_t> eventAtNs{0};
  std::atomic<int> eventPid{0};
  std::atomic<int> stoppedPid{0};  // a victim that stopped itself, killed after the shrink
};

// The ranks that fail in the loop's kKillStep: killed (SIGKILL) or stopped (SIGSTOP), at once.
struct Victims {
  std::vector<int> killed;
  int stopped = -1;
  std::vector<int> all() const {
    std::vector<int> ranks = killed;
    if (stopped >= 0) ranks.push_back(stopped);
    std::sort(ranks.begin(), ranks.end());
    return ranks;
  }
  bool contains(int rank) const {
    const std::vector<int> ranks = all();
    return std::find(ranks.begin(), ranks.end(), rank) != ranks.end();
  }
  int below(int rank) const {
    const std::vector<int> ranks = all();
    return static_cast<int>(
        std::count_if(ranks.begin(), ranks.end(), [rank](int victim) { return victim < rank; }));
  }
};

long msSince(const Shared* shared) {
  return static_cast<long>((nowNs() - shared->eventAtNs.load()) / 1000000);
}

int countEntries(const char* dir) {
  DIR* d = opendir(dir);
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* entry = readdir(d)) n += entry->d_name[0] != '.';
  closedir(d);
  return n - 1;  // opendir's own descriptor (for /proc/self/fd); harmless for tasks
}

struct Resources {
  int fds = 0;
  int threads = 0;
  bool operator==(const Resources& o) const { return fds == o.fds && threads == o.threads; }
};

Resources resources() { return {countEntries("/proc/self/fd"), countEntries("/proc/self/task")}; }

// Back to the count before init: threads that were told to end may take a moment to go.
bool nothingLeaked(int rank, const Resources& before) {
  const auto giveUp = Clock::now() + std::chrono::seconds(3);
  Resources now = resources();
  while (!(now == before) && Clock::now() < giveUp) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    now = resources();
  }
  if (!(now == before)) {
    std::fprintf(stderr, "rank %d: %d fds and %d threads before, %d and %d after destroy\n", rank,
                 before.fds, before.threads, now.fds, now.threads);
    return false;
  }
  return true;
}

// A rank's input for step of the loop, as rank of nranks; integer-valued, so sums are exact.
int32_t value(int rank, int step, size_t i) {
  return (rank + 1) * (step + 1) + static_cast<int32_t>(i % 7);
}

// One step of the loop: all-reduce (sum) of every rank's values; true when every element is
// exact, else prints the first wrong one.
tuttiResult_t step(tuttiComm_t comm, int stepIndex, bool* exact) {
  int rank = 0;
  int nranks = 0;
  tuttiCommUserRank(comm, &rank);
  tuttiCommCount(comm, &nranks);
  std::vector<int32_t> data(kCount);
  for (size_t i = 0; i < kCount; ++i) data[i] = value(rank, stepIndex, i);
  const tuttiResult_t rc =
      tuttiAllReduce(data.data(), data.data(), kCount, tuttiInt32, tuttiSum, comm, nullptr);
  *exact = true;
  if (rc != tuttiSuccess) return rc;
  for (size_t i = 0; i < kCount && *exact; ++i) {
    int32_t expected = 0;
    for (int r = 0; r < nranks; ++r) expected += value(r, stepIndex, i);
    if (data[i] != expected) {
      std::fprintf(stderr, "rank %d of %d: step %d element %zu is %d, expected %d\n", rank, nranks,
                   stepIndex, i, data[i], expected);
      *exact = false;
    }
  }
  return rc;
}

void setRankEnv(const char* transport) {
  setenv("TUTTI_TRANSPORT", transport, 1);
  setenv("TUTTI_HEARTBEAT_TIMEOUT_MS", std::to_string(kHeartbeatTimeoutMs).c_str(), 1);
}

using CommBody = std::function<int(int rank, tuttiComm_t comm, const Resources& before)>;

// Forks nranks ranks, each with its communicator over transport (every wait bounded by
// timeoutMs), counting its descriptors and threads before init.
RankLaunch launchWithComms(int nranks, const std::string& transport, int timeoutMs,
                           const CommBody& body) {
  return forkRanksSharingId(
      nranks,
      [&](int rank, const tuttiUniqueId& id) {
        setRankEnv(transport.c_str());
        const Resources before = resources();
        tuttiComm_t comm = initComm(rank, nranks, id, timeoutMs);
        if (comm == nullptr) return 2;
        return body(rank, comm, before);
      },
      60);
}

using Param = std::tuple<int, const char*>;

class ShrinkTest : public ::testing::TestWithParam<Param> {
 protected:
  int nranks() const { return std::get<0>(GetParam()); }
  const char* transport() const { return std::get<1>(GetParam()); }
  // Forks the ranks, each with its own communicator of this test's ranks and transport, counting
  // its descriptors and threads before init.
  using Body = std::function<int(int rank, int nranks, Shared* shared, tuttiComm_t comm,
                                 const Resources& before)>;
  RankLaunch launch(Shared* shared, const Body& body);
  void killAndShrink(const Victims& victims);
};

// The victims run the loop until kKillStep and end (SIGKILL) or stop (SIGSTOP) themselves there,
// once the others wait in that step's all-reduce. A survivor gets tuttiRemoteError in that step,
// learns the failed ranks from tuttiCommGetFailedRanks (all of them: a second failure floods over
// the watch too, a stopped rank once its heartbeats are missed), shrinks without them, checks its
// new rank and count, and runs the step again and the rest of the loop on the new communicator.
int killAndShrinkRank(int rank, int nranks, const Victims& victims, Shared* shared,
                      tuttiComm_t comm, const Resources& before) {
  int stepIndex = 0;
  bool exact = true;
  tuttiResult_t rc = tuttiSuccess;
  for (; stepIndex < kSteps; ++stepIndex) {
    if (victims.contains(rank) && stepIndex == kKillStep) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the others are waiting
      if (rank == victims.stopped) {
        shared->stoppedPid.store(getpid());
        raise(SIGSTOP);
        return 1;  // never continued: killed after the shrink
      }
      shared->eventPid.store(getpid());
      shared->eventAtNs.store(nowNs());
      raise(SIGKILL);
    }
    rc = step(comm, stepIndex, &exact);
    if (!exact) return 3;
    if (rc != tuttiSuccess) break;
  }
  const long errorMs = msSince(shared);
  if (rc != tuttiRemoteError || stepIndex != kKillStep || errorMs > kErrorLimitMs) {
    std::fprintf(stderr, "rank %d: step %d returned %s after %ld ms: %s\n", rank, stepIndex,
                 tuttiGetErrorString(rc), errorMs, tuttiGetLastError(comm));
    return 4;
  }
  const std::vector<int> expected = victims.all();
  std::vector<int> failed(8, -1);
  int failedCount = 0;
  const auto giveUp = Clock::now() + std::chrono::milliseconds(kHeartbeatTimeoutMs + 5000);
  do {
    CHECK_RC(tuttiCommGetFailedRanks(comm, failed.data(), 8, &failedCount));
    if (failedCount >= static_cast<int>(expected.size())) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (Clock::now() < giveUp);
  failed.resize(std::min(failedCount, 8));
  if (failed != expected) {
    std::fprintf(stderr, "rank %d: %d failed rank(s) known, first %d; expected %zu, first %d\n",
                 rank, failedCount, failed.empty() ? -1 : failed[0], expected.size(), expected[0]);
    return 5;
  }
  const long knownMs = msSince(shared);
  tuttiComm_t child = nullptr;
  CHECK_RC(tuttiCommShrink(comm, failed.data(), failedCount, &child));
  if (victims.stopped >= 0 && rank == 0) kill(shared->stoppedPid.load(), SIGKILL);
  int newRank = -1;
  int newCount = 0;
  CHECK_RC(tuttiCommUserRank(child, &newRank));
  CHECK_RC(tuttiCommCount(child, &newCount));
  if (newCount != nranks - failedCount || newRank != rank - victims.below(rank)) {
    std::fprintf(stderr, "rank %d: rank %d of %d after the shrink\n", rank, newRank, newCount);
    return 6;
  }
  // The step that failed, again, then the rest of the loop.
  for (; stepIndex < kSteps; ++stepIndex) {
    CHECK_RC(step(child, stepIndex, &exact));
    if (!exact) return 7;
    if (stepIndex == kKillStep) {
      std::printf(
          "rank %d: %s %ld ms after rank %d was killed; %d failed rank(s) known after %ld ms; "
          "shrunk and step %d done again %ld ms after it: %s\n",
          rank, tuttiGetErrorString(rc), errorMs, victims.killed[0], failedCount, knownMs,
          kKillStep, msSince(shared), tuttiGetLastError(comm));
      std::fflush(stdout);
      if (msSince(shared) > kRecoverLimitMs + (victims.stopped >= 0 ? kHeartbeatTimeoutMs : 0)) {
        return 8;
      }
    }
  }
  // The old communicator stays in error, and its later calls name every failed rank, not only
  // the first verdict's; both are destroyed.
  bool stillExact = true;
  if (step(comm, 0, &stillExact) != tuttiRemoteError) return 9;
  if (expected.size() >= 2) {
    const std::string message = tuttiGetLastError(comm);
    const size_t list = message.find("failed ranks known now (tuttiCommGetFailedRanks):");
    for (int victim : expected) {
      const std::string named = "rank " + std::to_string(victim) + " (host ";
      if (list == std::string::npos || message.find(named, list) == std::string::npos) {
        std::fprintf(stderr, "rank %d: a later call's message does not list rank %d: %s\n", rank,
                     victim, message.c_str());
        return 12;
      }
    }
  }
  CHECK_RC(tuttiCommDestroy(child));
  CHECK_RC(tuttiCommDestroy(comm));
  return nothingLeaked(rank, before) ? 0 : 11;
}

RankLaunch ShrinkTest::launch(Shared* shared, const Body& body) {
  const int n = nranks();
  return launchWithComms(n, transport(), kTimeoutMs,
                         [&](int rank, tuttiComm_t comm, const Resources& before) {
                           return body(rank, n, shared, comm, before);
                         });
}

void ShrinkTest::killAndShrink(const Victims& victims) {
  const int n = nranks();
  Shared* shared = mapShared<Shared>();
  ASSERT_NE(shared, nullptr);
  const RankLaunch launch = this->launch(
      shared,
      [&victims](int rank, int nranks, Shared* s, tuttiComm_t comm, const Resources& before) {
        return killAndShrinkRank(rank, nranks, victims, s, comm, before);
      });
  ASSERT_TRUE(launch.error.empty()) << launch.error;
  for (int rank = 0; rank < n; ++rank) {
    const RankExit& exit = launch.ranks[rank];
    if (victims.contains(rank)) {
      EXPECT_EQ(exit.signal, SIGKILL) << "rank " << rank << ": " << launch.failures();
    } else {
      EXPECT_TRUE(exit.ok()) << "rank " << rank << ": " << launch.failures();
    }
  }
  munmap(shared, sizeof(Shared));
}

TEST_P(ShrinkTest, MiddleRankKilledMidLoopSurvivorsShrinkAndFinish) {
  killAndShrink(Victims{{nranks() / 2}});
}

TEST_P(ShrinkTest, RankZeroKilledMidLoopSurvivorsShrinkAndFinish) { killAndShrink(Victims{{0}}); }

// Two ranks killed at once: survivors may hear either first, but each learns both.
TEST_P(ShrinkTest, TwoRanksKilledAtOnceSurvivorsAgreeOnBothAndFinish) {
  killAndShrink(Victims{{1, 3}});
}

// One rank killed and the last one stopped at once: the stopped one is found after the verdict
// (its heartbeats stop), and every survivor learns it before the shrink.
TEST_P(ShrinkTest, OneKilledOneStoppedSurvivorsAgreeOnBothAndFinish) {
  killAndShrink(Victims{{1}, nranks() - 1});
}

// 8 ranks, where rank 0 has no watch link to ranks 3 and 5: it learns of them from other ranks.
class ShrinkManyRanksTest : public ShrinkTest {};

TEST_P(ShrinkManyRanksTest, TwoUnlinkedRanksKilledAtOnceEverySurvivorLearnsBoth) {
  killAndShrink(Victims{{3, 5}});
}

INSTANTIATE_TEST_SUITE_P(Ranks, ShrinkManyRanksTest,
                         ::testing::Combine(::testing::Values(8), ::testing::Values("shm")),
                         ranksTransportName);

// Rank 1 revokes while the others wait in an all-reduce: each returns tuttiInvalidUsage naming
// rank 1, and so does every later call on every rank; bad shrink arguments are refused; then a
// shrink excluding no rank gives a working communicator of every rank.
int revokeRank(int rank, int nranks, Shared* shared, tuttiComm_t comm, const Resources& before) {
  constexpr int kRevoker = 1;
  bool exact = true;
  for (int s = 0; s < 2; ++s) {
    CHECK_RC(step(comm, s, &exact));
    if (!exact) return 3;
  }
  tuttiResult_t rc = tuttiSuccess;
  if (rank == kRevoker) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the others are waiting
    shared->eventPid.store(getpid());
    shared->eventAtNs.store(nowNs());
    CHECK_RC(tuttiCommRevoke(comm));
    if (tuttiCommRevoke(comm) != tuttiInvalidArgument) return 4;  // once, as in NCCL
    rc = tuttiInvalidUsage;
  } else {
    rc = step(comm, 2, &exact);
    const long ms = msSince(shared);
    char host[64] = {0};
    gethostname(host, sizeof(host) - 1);
    const std::string named = "rank " + std::to_string(kRevoker) + " (host " + host + ", pid " +
                              std::to_string(shared->eventPid.load()) +
                              ") revoked the communicator";
    const std::string message = tuttiGetLastError(comm);
    std::printf("rank %d: %s %ld ms after rank %d revoked: %s\n", rank, tuttiGetErrorString(rc), ms,
                kRevoker, message.c_str());
    std::fflush(stdout);
    if (rc != tuttiInvalidUsage || ms > kErrorLimitMs || message.find(named) == std::string::npos) {
      std::fprintf(stderr, "rank %d: expected tuttiInvalidUsage naming '%s'\n", rank,
                   named.c_str());
      return 5;
    }
  }
  // Later calls fail at once, saying the communicator is revoked.
  if (step(comm, 3, &exact) != tuttiInvalidUsage ||
      std::string(tuttiGetLastError(comm)).find("revoked") == std::string::npos) {
    return 6;
  }
  // Arguments: the caller excluding itself, NULL newcomm, NULL comm.
  tuttiComm_t child = reinterpret_cast<tuttiComm_t>(&child);
  if (tuttiCommShrink(comm, &rank, 1, &child) != tuttiInvalidArgument || child != nullptr) {
    return 7;
  }
  if (tuttiCommShrink(comm, nullptr, 0, nullptr) != tuttiInvalidArgument) return 7;
  if (tuttiCommShrink(nullptr, nullptr, 0, &child) != tuttiInvalidArgument) return 7;
  if (tuttiCommRevoke(nullptr) != tuttiInvalidArgument) return 7;
  int failedCount = -1;
  CHECK_RC(tuttiCommGetFailedRanks(comm, nullptr, 0, &failedCount));
  if (failedCount != 0) return 8;  // a revoke names no failed rank
  CHECK_RC(tuttiCommShrink(comm, nullptr, 0, &child));
  int newRank = -1;
  int newCount = 0;
  CHECK_RC(tuttiCommUserRank(child, &newRank));
  CHECK_RC(tuttiCommCount(child, &newCount));
  if (newRank != rank || newCount != nranks) return 9;
  for (int s = 2; s < 5; ++s) {
    CHECK_RC(step(child, s, &exact));
    if (!exact) return 10;
  }
  if (rank == 0) {
    std::printf("revoke to a working communicator of every rank: %ld ms\n", msSince(shared));
  }
  CHECK_RC(tuttiCommDestroy(child));
  CHECK_RC(tuttiCommDestroy(comm));
  return nothingLeaked(rank, before) ? 0 : 11;
}

TEST_P(ShrinkTest, RevokeStopsEveryRankAndShrinksToAllRanks) {
  Shared* shared = mapShared<Shared>();
  ASSERT_NE(shared, nullptr);
  const RankLaunch launch = this->launch(shared, revokeRank);
  ASSERT_TRUE(launch.error.empty()) << launch.error;
  EXPECT_TRUE(launch.ok()) << launch.failures();
  munmap(shared, sizeof(Shared));
}

INSTANTIATE_TEST_SUITE_P(Ranks, ShrinkTest,
                         ::testing::Combine(::testing::Values(4, 5),
                                            ::testing::Values("shm", "tcp")),
                         ranksTransportName);

// Survivors that do not exclude a dead rank cannot finish: the error comes within the
// timeout (plus a margin for the loaded machine), never a hang. Dead rank 0 is the lowest
// survivor by the list, so its address never comes; dead rank 2 never reaches the new root.
void shrinkWithTheDeadRank(int victim) {
  constexpr int kRanks = 4;
  constexpr int kShortTimeoutMs = 3000;
  const RankLaunch launch = launchWithComms(
      kRanks, "shm", kShortTimeoutMs, [&](int rank, tuttiComm_t comm, const Resources&) {
        bool exact = true;
        CHECK_RC(step(comm, 0, &exact));
        if (rank == victim) {
          std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the others finished
          raise(SIGKILL);
        }
        if (step(comm, 1, &exact) != tuttiRemoteError) return 3;
        const auto start = Clock::now();
        tuttiComm_t child = nullptr;
        const tuttiResult_t rc = tuttiCommShrink(comm, nullptr, 0, &child);
        const long ms = static_cast<long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
        const std::string message = tuttiGetLastError(comm);
        std::printf("rank %d: shrink keeping dead rank %d: %s after %ld ms: %s\n", rank, victim,
                    tuttiGetErrorString(rc), ms, message.c_str());
        std::fflush(stdout);
        const std::string expected =
            victim == 0 ? "rank 0, the lowest survivor" : "missing ranks: 2";
        // Waiting for the lowest survivor's address, a rank whose last watch links close (the
        // others gave up first and left) fails at once with tuttiRemoteError.
        const bool codeOk = rc == tuttiTimeout || (victim == 0 && rc == tuttiRemoteError);
        const bool ok = codeOk && child == nullptr && ms <= kShortTimeoutMs + 2000 &&
                        message.find(expected) != std::string::npos;
        CHECK_RC(tuttiCommDestroy(comm));
        return ok ? 0 : 4;
      });
  ASSERT_TRUE(launch.error.empty()) << launch.error;
  for (int rank = 0; rank < kRanks; ++rank) {
    if (rank == victim) continue;
    EXPECT_TRUE(launch.ranks[rank].ok()) << "rank " << rank << ": " << launch.failures();
  }
}

TEST(ShrinkTimeoutTest, DeadLowestSurvivorIsATimeoutNamingIt) { shrinkWithTheDeadRank(0); }

TEST(ShrinkTimeoutTest, DeadSurvivorMissingAtTheNewRootIsATimeout) { shrinkWithTheDeadRank(2); }

// The revoking rank's own work stops too: a call running on its host stream (rank 0 makes no
// call, so it waits) ends with tuttiInvalidUsage when rank 1 revokes from its other thread, and
// rank 0, idle, learns of the revoke from tuttiCommGetAsyncError.
TEST(RevokeTest, TheRevokingRanksRunningHostStreamCallEndsWithInvalidUsage) {
  constexpr int kRanks = 2;
  const RankLaunch launch =
      launchWithComms(kRanks, "shm", kTimeoutMs, [&](int rank, tuttiComm_t comm, const Resources&) {
        if (rank == 0) {
          tuttiResult_t async = tuttiSuccess;
          const auto giveUp = Clock::now() + std::chrono::seconds(10);
          while (async == tuttiSuccess && Clock::now() < giveUp) {
            CHECK_RC(tuttiCommGetAsyncError(comm, &async));
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
          }
          CHECK_RC(tuttiCommDestroy(comm));
          return async == tuttiInvalidUsage ? 0 : 3;
        }
        tuttiHostStream_t stream = nullptr;
        CHECK_RC(tuttiHostStreamCreate(&stream));
        std::vector<int32_t> data(kCount, 1);
        CHECK_RC(tuttiAllReduce(data.data(), data.data(), kCount, tuttiInt32, tuttiSum, comm,
                                static_cast<tuttiStream_t>(stream)));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // running, waiting
        const auto start = Clock::now();
        CHECK_RC(tuttiCommRevoke(comm));
        const tuttiResult_t synced = tuttiHostStreamSynchronize(stream, 5000);
        const long ms = static_cast<long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
        std::printf("rank 1: its host stream's call: %s %ld ms after its revoke\n",
                    tuttiGetErrorString(synced), ms);
        std::fflush(stdout);
        CHECK_RC(tuttiHostStreamDestroy(stream));
        CHECK_RC(tuttiCommDestroy(comm));
        return synced == tuttiInvalidUsage && ms <= kErrorLimitMs ? 0 : 4;
      });
  ASSERT_TRUE(launch.error.empty()) << launch.error;
  EXPECT_TRUE(launch.ok()) << launch.failures();
}

}  // namespace
}  // namespace tutti::test
