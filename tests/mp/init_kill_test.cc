// A rank killed (SIGKILL) part way through init, at fractions of how long an unhurt init of the
// same ranks takes, so that the kill lands at the bootstrap root, in the bootstrap ring, in a
// transport's setup, in the last exchanges of init or just after: every other rank's init (or,
// when it finished first, its next all-reduce) fails within kLimitMs of the kill, never at the
// timeout. How: the root gives up a meeting whose arrived rank's connection closes, a refused
// connection to a published listener is final, and the waits of the bootstrap ring and of a
// transport's setup look at the ring's links (core/bootstrap.h, transports/setup_channel.h).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "mp/harness.h"

namespace tutti::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kTimeoutMs = 8000;  // init's TUTTI_TIMEOUT_MS: what a missed loss would cost
constexpr long kLimitMs = 3000;   // a SIGKILL is found at once; slack for 5 processes on 2 cores

struct RankReport {
  std::atomic<bool> finished{false};
  tuttiResult_t code = tuttiSuccess;
  long msAfterKill = -1;
  bool initOk = false;
  char message[400] = {0};
};

struct Shared {
  std::atomic<int64_t> killAtNs{0};
  std::atomic<long> longestInitMs{0};
  RankReport ranks[8];
};

// One launch of nranks ranks over `transport`: the victim kills itself killAfterMs after it
// entered init (no kill when negative). Each other rank reports how its init, or its first
// all-reduce after it, ended.
void launch(int nranks, const char* transport, int victim, int killAfterMs, Shared* shared) {
  new (shared) Shared();
  const RankLaunch ranks = forkRanksSharingId(
      nranks,
      [&](int rank, const tuttiUniqueId& id) {
        setenv("TUTTI_TRANSPORT", transport, 1);
        RankReport& report = shared->ranks[rank];
        std::thread killer;
        if (rank == victim && killAfterMs >= 0) {
          killer = std::thread([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(killAfterMs));
            shared->killAtNs.store(nowNs());
            kill(getpid(), SIGKILL);
          });
        }
        tuttiConfig_t config = TUTTI_CONFIG_INITIALIZER;
        config.timeoutMs = kTimeoutMs;
        tuttiComm_t comm = nullptr;
        const int64_t startNs = nowNs();
        report.code = tuttiCommInitRankConfig(&comm, nranks, id, rank, &config);
        std::string message = tuttiGetLastError(nullptr);
        if (comm != nullptr) {
          report.initOk = true;
          const long ms = static_cast<long>((nowNs() - startNs) / 1000000);
          long seen = shared->longestInitMs.load();
          while (ms > seen && !shared->longestInitMs.compare_exchange_weak(seen, ms)) {
          }
          std::vector<int32_t> data(1000, rank + 1);
          const auto giveUp = Clock::now() + std::chrono::seconds(30);
          while (report.code == tuttiSuccess && Clock::now() < giveUp) {
            report.code = tuttiAllReduce(data.data(), data.data(), data.size(), tuttiInt32,
                                         tuttiSum, comm, nullptr);
            if (killAfterMs < 0) break;
          }
          message = tuttiGetLastError(comm);
        }
        if (rank == victim && killer.joinable()) killer.join();  // killed before it returns
        const int64_t killAt = shared->killAtNs.load();
        if (killAt != 0) report.msAfterKill = static_cast<long>((nowNs() - killAt) / 1000000);
        std::snprintf(report.message, sizeof(report.message), "%s", message.c_str());
        report.finished.store(true);
        if (comm != nullptr) tuttiCommDestroy(comm);
        return 0;
      },
      60);
  ASSERT_TRUE(ranks.error.empty()) << ranks.error;
  for (int rank = 0; rank < nranks; ++rank) {
    if (rank == victim && killAfterMs >= 0) {
      // It may have finished first only if it outran its own killer; it must die of it.
      EXPECT_EQ(ranks.ranks[rank].signal, SIGKILL) << "the victim, rank " << rank;
      continue;
    }
    EXPECT_TRUE(ranks.ranks[rank].ok()) << "rank " << rank << ": " << ranks.failures();
  }
}

using Param = std::tuple<int, const char*>;

class InitKillTest : public ::testing::TestWithParam<Param> {};

TEST_P(InitKillTest, EveryOtherRankFailsSoonAfterTheKill) {
  const int nranks = std::get<0>(GetParam());
  const char* transport = std::get<1>(GetParam());
  const int victim = 1;
  Shared* shared = mapShared<Shared>();
  ASSERT_NE(shared, nullptr);

  launch(nranks, transport, victim, -1, shared);
  ASSERT_FALSE(HasFailure());
  const long initMs = shared->longestInitMs.load();
  for (int rank = 0; rank < nranks; ++rank) {
    ASSERT_EQ(shared->ranks[rank].code, tuttiSuccess) << shared->ranks[rank].message;
  }
  std::printf("an unhurt init of %d ranks over %s took %ld ms\n", nranks, transport, initMs);

  for (double fraction : {0.2, 0.4, 0.6, 0.8, 1.0, 1.2}) {
    const int killAfterMs = static_cast<int>(fraction * static_cast<double>(initMs));
    SCOPED_TRACE("rank " + std::to_string(victim) + " killed " + std::to_string(killAfterMs) +
                 " ms into its init");
    launch(nranks, transport, victim, killAfterMs, shared);
    for (int rank = 0; rank < nranks; ++rank) {
      if (rank == victim) continue;
      const RankReport& report = shared->ranks[rank];
      ASSERT_TRUE(report.finished.load()) << "rank " << rank;
      std::printf("killed %d ms into init: rank %d: %s %s %ld ms after the kill: %s\n", killAfterMs,
                  rank, report.initOk ? "init ok, then" : "init", tuttiGetErrorString(report.code),
                  report.msAfterKill, report.message);
      EXPECT_NE(report.code, tuttiSuccess) << "rank " << rank;
      // Killed before its hello reached the root, the victim is only missing there: nobody can
      // tell a rank that never came from a slow one, and init's timeout is the answer. (One that
      // arrived and died ends the meeting: BootstrapTest.ARankGoneAtTheRootEndsTheMeeting.)
      const bool neverArrived = report.code == tuttiTimeout &&
                                std::strstr(report.message, "waiting for all ranks at the root");
      if (!neverArrived) {
        EXPECT_LE(report.msAfterKill, kLimitMs) << "rank " << rank << ": " << report.message;
      }
    }
  }
  std::fflush(stdout);
  munmap(shared, sizeof(Shared));
}

INSTANTIATE_TEST_SUITE_P(Ranks, InitKillTest,
                         ::testing::Values(Param{4, "shm"}, Param{4, "tcp"}, Param{5, "tcp"}),
                         ranksTransportName);

}  // namespace
}  // namespace tutti::test
