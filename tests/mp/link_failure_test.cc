// Link failures between hosts (issue 12, item 8): ranks on emulated hosts (a network namespace,
// a hostname and a veth each, all on one bridge: mp/emulated_hosts.h) run exact all-reduces over
// TCP; the test's parent sets one rank's interface down mid-loop. A down link closes nothing:
// only heartbeats (TUTTI_HEARTBEAT_TIMEOUT_MS) or the transport's inactivity timeout
// (TUTTI_TIMEOUT_MS) can find it. Every rank, the cut one too, must return tuttiRemoteError or
// tuttiTimeout within the timeout + 2 s, and every rank must name the cut rank and its host (the
// cut rank hears every peer fall silent at once and names itself).
// A cut during init is found by TCP keepalive on the bootstrap's sockets (set from the heartbeat
// timeout) where a rank waits on an established connection, else by init's timeout.
// A link down for less than the heartbeat timeout and back, or slowed for longer than it, must
// be no failure, and so must random packet loss: every all-reduce exact, no rank's watch judging
// it.
// The time from the cut to each rank's error is printed (docs/reliability.md, "Link failures
// between hosts").
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/comm.h"
#include "mp/emulated_hosts.h"
#include "mp/exact_round.h"
#include "mp/harness.h"
#include "testing/rank_launcher.h"

namespace tutti::test {
namespace {

using Clock = std::chrono::steady_clock;

// The heartbeat is the detector of a silent link (the defaults have it 60 times shorter than the
// timeout); the timeout bounds every wait behind it. 2 s: heartbeats stay on time on a loaded
// machine.
constexpr int kHeartbeatTimeoutMs = 2000;
constexpr int kTimeoutMs = 4000;
constexpr long kLimitMs = std::max(kHeartbeatTimeoutMs, kTimeoutMs) + 2000;
constexpr int kMaxRanks = 8;
constexpr int kRoundsBeforeCut = 5;  // every rank completes these before the link goes down
constexpr size_t kCount = 1 << 14;

// What a rank reports to the parent, which checks it.
struct RankReport {
  std::atomic<int> rounds{0};  // all-reduces completed exactly
  std::atomic<int> pid{0};
  std::atomic<bool> finished{false};
  tuttiResult_t code = tuttiSuccess;   // of the call that failed
  tuttiResult_t later = tuttiSuccess;  // of the next call
  tuttiResult_t async = tuttiSuccess;  // tuttiCommGetAsyncError afterwards
  long ms = -1;                        // from the cut to the error
  char message[2048] = {0};            // of the call that failed
};

// Mapped before the fork: the unique id rank 0 makes inside its namespace (its bootstrap root
// must be reachable from the other hosts), the cut's time, and each rank's report.
struct Shared {
  IdHandout id;
  std::atomic<int64_t> cutAtNs{0};       // when the parent ran ip link set down
  std::atomic<int> cutDone{0};           // ip returned
  std::atomic<int64_t> restoredAtNs{0};  // when a cut link came back (ip link set up returned)
  std::atomic<long> longestInitMs{0};    // of the inits that succeeded
  RankReport ranks[kMaxRanks];
};

// In a rank: its host, TCP over its own interface, the short timeouts, and the unique id.
bool joinHost(const EmulatedHosts& hosts, int rank, Shared* shared, tuttiUniqueId* id) {
  if (!hosts.enter(rank)) return false;
  setenv("TUTTI_TRANSPORT", "tcp", 1);
  setenv("TUTTI_SOCKET_IFNAME", (std::string("=") + EmulatedHosts::kIfname).c_str(), 1);
  setenv("TUTTI_HEARTBEAT_TIMEOUT_MS", std::to_string(kHeartbeatTimeoutMs).c_str(), 1);
  setenv("TUTTI_TIMEOUT_MS", std::to_string(kTimeoutMs).c_str(), 1);
  shared->ranks[rank].pid.store(getpid());
  return takeUniqueId(rank, &shared->id, id);
}

// joinHost, then the communicator (nullptr when either failed).
tuttiComm_t joinHostAndInit(const EmulatedHosts& hosts, int rank, int nranks, Shared* shared) {
  tuttiUniqueId id{};
  if (!joinHost(hosts, rank, shared, &id)) return nullptr;
  return initComm(rank, nranks, id, kTimeoutMs);
}

// Round r: rank k contributes (k + 1) * (r + 1) + i % 5 at element i.
tuttiResult_t allReduceRound(tuttiComm_t comm, int rank, int nranks, int round, bool* exact) {
  std::vector<int32_t> data(kCount);
  for (size_t i = 0; i < kCount; ++i) data[i] = (rank + 1) * (round + 1) + static_cast<int>(i % 5);
  const tuttiResult_t rc =
      tuttiAllReduce(data.data(), data.data(), kCount, tuttiInt32, tuttiSum, comm, nullptr);
  *exact = true;
  if (rc != tuttiSuccess) return rc;
  for (size_t i = 0; i < kCount; ++i) {
    const int32_t expected =
        (round + 1) * nranks * (nranks + 1) / 2 + nranks * static_cast<int>(i % 5);
    if (data[i] != expected) {
      std::fprintf(stderr, "rank %d round %d: element %zu is %d, expected %d\n", rank, round, i,
                   data[i], expected);
      *exact = false;
      break;
    }
  }
  return rc;
}

// All-reduces until one fails (the link is cut after kRoundsBeforeCut), then the report.
int loopUntilError(tuttiComm_t comm, int rank, int nranks, Shared* shared) {
  RankReport& report = shared->ranks[rank];
  tuttiResult_t rc = tuttiSuccess;
  const auto giveUp = Clock::now() + std::chrono::seconds(40);
  for (int round = 0; rc == tuttiSuccess && Clock::now() < giveUp; ++round) {
    bool exact = true;
    rc = allReduceRound(comm, rank, nranks, round, &exact);
    if (!exact) return 3;
    if (rc == tuttiSuccess) report.rounds.fetch_add(1);
  }
  report.ms = static_cast<long>((nowNs() - shared->cutAtNs.load()) / 1000000);
  report.code = rc;
  std::snprintf(report.message, sizeof(report.message), "%s", tuttiGetLastError(comm));
  bool exact = true;
  report.later = allReduceRound(comm, rank, nranks, 0, &exact);
  tuttiCommGetAsyncError(comm, &report.async);
  report.finished.store(true);
  tuttiCommDestroy(comm);
  return 0;
}

// The parent's side of a cut: once every rank's report counts `rounds` (all-reduces done, or
// "entered init"), waits delayMs, sets victim's link down and notes when. Waits by yielding
// when a delay follows (cuts a few milliseconds into init land where meant), else by sleeping.
std::thread cutWhenReady(const EmulatedHosts& hosts, Shared* shared, int nranks, int victim,
                         int rounds, std::atomic<bool>* cut, int delayMs = 0) {
  return std::thread([&hosts, shared, nranks, victim, rounds, cut, delayMs] {
    const auto giveUp = Clock::now() + std::chrono::seconds(30);
    auto ready = [&] {
      for (int rank = 0; rank < nranks; ++rank) {
        if (shared->ranks[rank].rounds.load() < rounds) return false;
      }
      return true;
    };
    while (!ready() && Clock::now() < giveUp) {
      if (delayMs > 0) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
    shared->cutAtNs.store(nowNs());
    cut->store(hosts.cutLink(victim));
    shared->cutDone.store(1);
  });
}

// A rank's init with timeoutMs and nothing after it: the report gets its code, the time from the
// cut (waited for, if init returned first) and the message.
int initAndReport(int rank, int nranks, const tuttiUniqueId& id, int timeoutMs, Shared* shared) {
  RankReport& report = shared->ranks[rank];
  tuttiConfig_t config = TUTTI_CONFIG_INITIALIZER;
  config.timeoutMs = timeoutMs;
  tuttiComm_t comm = nullptr;
  report.code = tuttiCommInitRankConfig(&comm, nranks, id, rank, &config);
  const auto giveUp = Clock::now() + std::chrono::seconds(40);
  while (shared->cutDone.load() == 0 && Clock::now() < giveUp) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  report.ms = static_cast<long>((nowNs() - shared->cutAtNs.load()) / 1000000);
  std::snprintf(report.message, sizeof(report.message), "%s", tuttiGetLastError(nullptr));
  report.finished.store(true);
  if (comm != nullptr) tuttiCommDestroy(comm);
  return 0;
}

bool hasError(tuttiResult_t rc) { return rc == tuttiRemoteError || rc == tuttiTimeout; }

using Param = std::tuple<int, int>;  // ranks, the rank whose link is cut

class LinkFailureTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    const std::string reason = EmulatedHosts::unavailableReason();
    if (!reason.empty()) GTEST_SKIP() << "emulated hosts: " << reason;
  }
};

// With every link up, exact collectives cross the namespaces: the harness works.
TEST_P(LinkFailureTest, CollectivesAcrossHostsAreExact) {
  const int nranks = std::get<0>(GetParam());
  EmulatedHosts hosts(nranks);
  ASSERT_TRUE(hosts.ok()) << hosts.error();
  Shared* shared = mapShared<Shared>();
  ASSERT_NE(shared, nullptr);
  const RankLaunch launch = forkRanks(
      nranks,
      [&](int rank) {
        tuttiComm_t comm = joinHostAndInit(hosts, rank, nranks, shared);
        if (comm == nullptr) return 2;
        // Every rank counts as a host of its own, reached over tcp.
        const int next = (rank + 1) % nranks;
        bool apart = false;
        withLiveComm(comm, [&](tuttiComm* c) {
          apart = c->nhosts == nranks && c->interTransport == "tcp" &&
                  c->rankHosts[next] == EmulatedHosts::hostname(next);
        });
        if (!apart) {
          std::fprintf(stderr, "rank %d: not on hosts of their own over tcp\n", rank);
          return 4;
        }
        long wrong = exactRound(comm, rank, nranks);
        for (int round = 0; round < 3 && wrong == 0; ++round) {
          bool exact = true;
          if (allReduceRound(comm, rank, nranks, round, &exact) != tuttiSuccess || !exact)
            wrong = 1;
        }
        tuttiCommDestroy(comm);
        return wrong == 0 ? 0 : 3;
      },
      60);
  EXPECT_TRUE(launch.ok()) << launch.error << launch.failures();
  munmap(shared, sizeof(Shared));
}

// Mid-loop, the victim's interface goes down: every rank returns an error within the limit, and
// the connected ones name the victim, its host and pid, and the call.
TEST_P(LinkFailureTest, LinkDownDuringAllReduces) {
  const int nranks = std::get<0>(GetParam());
  const int victim = std::get<1>(GetParam());
  EmulatedHosts hosts(nranks);
  ASSERT_TRUE(hosts.ok()) << hosts.error();
  Shared* shared = mapShared<Shared>();
  ASSERT_NE(shared, nullptr);
  std::atomic<bool> cut{false};
  std::thread cutter = cutWhenReady(hosts, shared, nranks, victim, kRoundsBeforeCut, &cut);
  const RankLaunch launch = forkRanks(
      nranks,
      [&](int rank) {
        tuttiComm_t comm = joinHostAndInit(hosts, rank, nranks, shared);
        if (comm == nullptr) return 2;
        return loopUntilError(comm, rank, nranks, shared);
      },
      60);
  cutter.join();
  ASSERT_TRUE(launch.error.empty()) << launch.error;
  ASSERT_TRUE(cut.load()) << "could not set rank " << victim << "'s link down";
  const std::string named = "rank " + std::to_string(victim) + " (host " +
                            EmulatedHosts::hostname(victim) + ", pid " +
                            std::to_string(shared->ranks[victim].pid.load()) + ") failed";
  for (int rank = 0; rank < nranks; ++rank) {
    const RankReport& report = shared->ranks[rank];
    std::printf("rank %d%s: %s %ld ms after the cut: %s\n", rank, rank == victim ? " (cut)" : "",
                tuttiGetErrorString(report.code), report.ms, report.message);
    EXPECT_TRUE(launch.ranks[rank].ok()) << "rank " << rank << ": " << launch.failures();
    ASSERT_TRUE(report.finished.load()) << "rank " << rank;
    EXPECT_TRUE(hasError(report.code)) << "rank " << rank << ": " << report.message;
    EXPECT_TRUE(hasError(report.later)) << "rank " << rank;
    EXPECT_TRUE(hasError(report.async)) << "rank " << rank;
    EXPECT_LE(report.ms, kLimitMs) << "rank " << rank << ": " << report.message;
    const std::string message = report.message;
    EXPECT_NE(message.find("all_reduce call #"), std::string::npos) << message;
    // One root cause everywhere: the connected ranks heard the victim fall silent, and the victim
    // heard every rank it watches fall silent at once, which is its own link.
    EXPECT_NE(message.find(named), std::string::npos) << "rank " << rank << ": " << message;
    const char* why = rank == victim ? "its own network link is likely down" : "no heartbeat";
    EXPECT_NE(message.find(why), std::string::npos) << "rank " << rank << ": " << message;
  }
  std::fflush(stdout);
  munmap(shared, sizeof(Shared));
}

// The victim's link goes down after every rank has the unique id and before any calls init: every
// rank's init fails within the limit (no hang), the victim's too.
TEST_P(LinkFailureTest, LinkDownDuringInit) {
  const int nranks = std::get<0>(GetParam());
  const int victim = std::get<1>(GetParam());
  EmulatedHosts hosts(nranks);
  ASSERT_TRUE(hosts.ok()) << hosts.error();
  Shared* shared = mapShared<Shared>();
  ASSERT_NE(shared, nullptr);
  // rounds here counts "joined": every rank has its id; the cut comes before init.
  std::atomic<bool> cut{false};
  std::thread cutter = cutWhenReady(hosts, shared, nranks, victim, 1, &cut);
  const RankLaunch launch = forkRanks(
      nranks,
      [&](int rank) {
        tuttiUniqueId id{};
        if (!joinHost(hosts, rank, shared, &id)) return 2;
        RankReport& report = shared->ranks[rank];
        report.rounds.store(1);
        const auto giveUp = Clock::now() + std::chrono::seconds(20);
        while (shared->cutDone.load() == 0 && Clock::now() < giveUp) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return initAndReport(rank, nranks, id, kTimeoutMs, shared);
      },
      60);
  cutter.join();
  ASSERT_TRUE(launch.error.empty()) << launch.error;
  ASSERT_TRUE(cut.load()) << "could not set rank " << victim << "'s link down";
  for (int rank = 0; rank < nranks; ++rank) {
    const RankReport& report = shared->ranks[rank];
    std::printf("init, rank %d%s: %s %ld ms after the cut: %s\n", rank,
                rank == victim ? " (cut)" : "", tuttiGetErrorString(report.code), report.ms,
                report.message);
    EXPECT_TRUE(launch.ranks[rank].ok()) << "rank " << rank << ": " << launch.failures();
    ASSERT_TRUE(report.finished.load()) << "rank " << rank;
    EXPECT_NE(report.code, tuttiSuccess) << "rank " << rank;
    EXPECT_LE(report.ms, kLimitMs) << "rank " << rank << ": " << report.message;
    EXPECT_GT(std::strlen(report.message), 0u) << "rank " << rank;
  }
  std::fflush(stdout);
  munmap(shared, sizeof(Shared));
}

// The host of the bootstrap root (rank 0's, which made the unique id and has not called init yet)
// is cut while every other rank waits at the root for the table of addresses. Their sockets to the
// root are idle and open: only TCP keepalive (set from the heartbeat timeout) finds the lost host,
// within the heartbeat timeout of the last segment heard, long before init's 20 s timeout. (The
// parameter's victim is not used: the root's host is the one cut.)
TEST_P(LinkFailureTest, RootHostCutWhileRanksWaitAtTheRoot) {
  const int nranks = std::get<0>(GetParam());
  constexpr int kRoot = 0;
  constexpr int kLongTimeoutMs = 20000;
  constexpr long kKeepAliveLimitMs = kHeartbeatTimeoutMs + 1500;
  EmulatedHosts hosts(nranks);
  ASSERT_TRUE(hosts.ok()) << hosts.error();
  Shared* shared = mapShared<Shared>();
  ASSERT_NE(shared, nullptr);
  // rounds counts "entered init" (for the root's host: "holds the id"); the ranks' hellos reach
  // the root within milliseconds of entering, and the cut comes 300 ms later.
  std::atomic<bool> cut{false};
  std::thread cutter = cutWhenReady(hosts, shared, nranks, kRoot, 1, &cut, 300);
  const RankLaunch launch = forkRanks(
      nranks,
      [&](int rank) {
        tuttiUniqueId id{};
        if (!joinHost(hosts, rank, shared, &id)) return 2;
        RankReport& report = shared->ranks[rank];
        report.rounds.store(1);
        if (rank == kRoot) {
          // Keeps the root thread alive, unreachable, until the others are done.
          const auto giveUp = Clock::now() + std::chrono::seconds(kLongTimeoutMs / 1000 + 5);
          auto othersDone = [&] {
            for (int other = 1; other < nranks; ++other) {
              if (!shared->ranks[other].finished.load()) return false;
            }
            return true;
          };
          while (!othersDone() && Clock::now() < giveUp) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          }
          report.finished.store(true);
          return 0;
        }
        return initAndReport(rank, nranks, id, kLongTimeoutMs, shared);
      },
      60);
  cutter.join();
  ASSERT_TRUE(launch.error.empty()) << launch.error;
  ASSERT_TRUE(cut.load()) << "could not set the root host's link down";
  for (int rank = 1; rank < nranks; ++rank) {
    const RankReport& report = shared->ranks[rank];
    std::printf("root host cut, rank %d: %s %ld ms after the cut: %s\n", rank,
                tuttiGetErrorString(report.code), report.ms, report.message);
    EXPECT_TRUE(launch.ranks[rank].ok()) << "rank " << rank << ": " << launch.failures();
    ASSERT_TRUE(report.finished.load()) << "rank " << rank;
    EXPECT_EQ(report.code, tuttiRemoteError) << "rank " << rank << ": " << report.message;
    EXPECT_NE(std::string(report.message).find("stopped answering"), std::string::npos)
        << "rank " << rank << ": " << report.message;
    EXPECT_LE(report.ms, kKeepAliveLimitMs) << "rank " << rank << ": " << report.message;
  }
  std::fflush(stdout);
  munmap(shared, sizeof(Shared));
}

// One init of nranks ranks on fresh hosts whose victim's link goes down cutDelayMs after every
// rank entered tuttiCommInitRank (no cut when negative). A rank whose init succeeds runs exact
// all-reduces until one fails (or, with no cut, runs one). Fills each rank's report (code, ms
// from the cut, message) and *initMs, the longest successful init.
void initWithCut(int nranks, int victim, int cutDelayMs, long* initMs) {
  EmulatedHosts hosts(nranks);
  ASSERT_TRUE(hosts.ok()) << hosts.error();
  Shared* shared = mapShared<Shared>();
  ASSERT_NE(shared, nullptr);
  // rounds here counts "entered init"; the cutter waits for every rank, then for the delay.
  std::atomic<bool> cut{cutDelayMs < 0};
  std::thread cutter = cutDelayMs < 0
                           ? std::thread()
                           : cutWhenReady(hosts, shared, nranks, victim, 1, &cut, cutDelayMs);
  const RankLaunch launch = forkRanks(
      nranks,
      [&](int rank) {
        tuttiUniqueId id{};
        if (!joinHost(hosts, rank, shared, &id)) return 2;
        RankReport& report = shared->ranks[rank];
        tuttiConfig_t config = TUTTI_CONFIG_INITIALIZER;
        config.timeoutMs = kTimeoutMs;
        tuttiComm_t comm = nullptr;
        report.rounds.store(1);
        const int64_t startNs = nowNs();
        report.code = tuttiCommInitRankConfig(&comm, nranks, id, rank, &config);
        std::string message = tuttiGetLastError(nullptr);
        if (comm != nullptr) {
          const long ms = static_cast<long>((nowNs() - startNs) / 1000000);
          long seen = shared->longestInitMs.load();
          while (ms > seen && !shared->longestInitMs.compare_exchange_weak(seen, ms)) {
          }
          // Init finished before the cut took effect: calls go on until the cut fails one.
          const auto giveUp = Clock::now() + std::chrono::seconds(40);
          for (int round = 0; report.code == tuttiSuccess && Clock::now() < giveUp; ++round) {
            bool exact = true;
            report.code = allReduceRound(comm, rank, nranks, round, &exact);
            if (!exact) return 3;
            if (cutDelayMs < 0) break;
          }
          message =
              "init succeeded in " + std::to_string(ms) + " ms; then: " + tuttiGetLastError(comm);
        }
        if (cutDelayMs >= 0) {
          while (shared->cutDone.load() == 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
          report.ms = static_cast<long>((nowNs() - shared->cutAtNs.load()) / 1000000);
        }
        std::snprintf(report.message, sizeof(report.message), "%s", message.c_str());
        report.finished.store(true);
        if (comm != nullptr) tuttiCommDestroy(comm);
        return 0;
      },
      60);
  if (cutter.joinable()) cutter.join();
  *initMs = shared->longestInitMs.load();
  ASSERT_TRUE(launch.error.empty()) << launch.error;
  ASSERT_TRUE(cut.load()) << "could not set rank " << victim << "'s link down";
  for (int rank = 0; rank < nranks; ++rank) {
    const RankReport& report = shared->ranks[rank];
    EXPECT_TRUE(launch.ranks[rank].ok()) << "rank " << rank << ": " << launch.failures();
    ASSERT_TRUE(report.finished.load()) << "rank " << rank;
    if (cutDelayMs < 0) {
      EXPECT_EQ(report.code, tuttiSuccess) << "rank " << rank << ": " << report.message;
      continue;
    }
    std::printf("cut %d ms into init, rank %d%s: %s %ld ms after the cut: %s\n", cutDelayMs, rank,
                rank == victim ? " (cut)" : "", tuttiGetErrorString(report.code), report.ms,
                report.message);
    EXPECT_TRUE(hasError(report.code))
        << "rank " << rank << ": " << tuttiGetErrorString(report.code) << ": " << report.message;
    EXPECT_LE(report.ms, kLimitMs) << "rank " << rank << ": " << report.message;
    EXPECT_GT(std::strlen(report.message), 0u) << "rank " << rank;
  }
  std::fflush(stdout);
  munmap(shared, sizeof(Shared));
}

// The victim's link goes down part way through init, at fractions of how long an uncut init of
// these hosts takes (measured first), so that the cut lands in the bootstrap, in the transports'
// setup, or just after init. No rank may hang: each must fail its init, or, if its init finished,
// a later all-reduce, with tuttiRemoteError or tuttiTimeout and a message within the limit of the
// cut.
TEST_P(LinkFailureTest, LinkDownPartWayThroughInit) {
  const int nranks = std::get<0>(GetParam());
  const int victim = std::get<1>(GetParam());
  long initMs = 0;
  initWithCut(nranks, victim, -1, &initMs);
  ASSERT_FALSE(HasFailure());
  std::printf("an uncut init of %d ranks took %ld ms\n", nranks, initMs);
  for (double fraction : {0.05, 0.5, 0.75, 0.9, 1.0, 1.5}) {
    const int delayMs = static_cast<int>(fraction * static_cast<double>(initMs));
    SCOPED_TRACE("cut " + std::to_string(delayMs) + " ms after every rank entered init");
    long unused = 0;
    initWithCut(nranks, victim, delayMs, &unused);
  }
}

std::string ranksVictimName(const ::testing::TestParamInfo<Param>& info) {
  return std::to_string(std::get<0>(info.param)) + "ranks_cut" +
         std::to_string(std::get<1>(info.param));
}

// Trouble on the victim's link that must not be a failure: the parent starts it once every rank
// has done kRoundsBeforeCut all-reduces, ends it holdMs later; meanwhile the ranks run
// kTroubleRounds all-reduces, each exact. After the heartbeat timeout has passed since the end,
// every rank checks its communicator healthy and does one more all-reduce. Returns the longest
// all-reduce any rank saw, in ms (-1 when the trouble could not be made).
long noFailureThrough(int nranks, int victim, const std::function<bool(EmulatedHosts&)>& begin,
                      const std::function<bool(EmulatedHosts&)>& end, int holdMs) {
  constexpr int kTroubleRounds = 1000;
  EmulatedHosts hosts(nranks);
  EXPECT_TRUE(hosts.ok()) << hosts.error();
  if (!hosts.ok()) return -1;
  Shared* shared = mapShared<Shared>();
  EXPECT_NE(shared, nullptr);
  if (shared == nullptr) return -1;
  std::atomic<bool> begun{false};
  std::atomic<bool> ended{false};
  std::vector<int> roundsAtBegin(nranks, -1);
  std::vector<int> roundsAtEnd(nranks, -1);
  std::thread parent([&] {
    const auto giveUp = Clock::now() + std::chrono::seconds(30);
    for (int rank = 0; rank < nranks && Clock::now() < giveUp; ++rank) {
      while (shared->ranks[rank].rounds.load() < kRoundsBeforeCut && Clock::now() < giveUp) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    begun.store(begin(hosts));
    for (int rank = 0; rank < nranks; ++rank) roundsAtBegin[rank] = shared->ranks[rank].rounds;
    std::this_thread::sleep_for(std::chrono::milliseconds(holdMs));
    ended.store(end(hosts));
    shared->restoredAtNs.store(nowNs());
    for (int rank = 0; rank < nranks; ++rank) roundsAtEnd[rank] = shared->ranks[rank].rounds;
  });
  const RankLaunch launch = forkRanks(
      nranks,
      [&](int rank) {
        tuttiComm_t comm = joinHostAndInit(hosts, rank, nranks, shared);
        if (comm == nullptr) return 2;
        RankReport& report = shared->ranks[rank];
        long longestMs = 0;
        for (int round = 0; round < kTroubleRounds; ++round) {
          bool exact = true;
          const int64_t start = nowNs();
          report.code = allReduceRound(comm, rank, nranks, round, &exact);
          if (report.code != tuttiSuccess || !exact) break;
          longestMs = std::max(longestMs, static_cast<long>((nowNs() - start) / 1000000));
          report.rounds.fetch_add(1);
        }
        // Past the heartbeat timeout after the trouble ended: nobody judged it a failure.
        const auto giveUp = Clock::now() + std::chrono::seconds(30);
        while (shared->restoredAtNs.load() == 0 && Clock::now() < giveUp) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        while (nowNs() - shared->restoredAtNs.load() < (kHeartbeatTimeoutMs + 500) * 1000000LL &&
               Clock::now() < giveUp) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        tuttiCommGetAsyncError(comm, &report.async);
        bool exact = report.code == tuttiSuccess;
        if (exact) report.later = allReduceRound(comm, rank, nranks, kTroubleRounds, &exact);
        report.ms = longestMs;
        std::snprintf(report.message, sizeof(report.message), "%s",
                      report.code == tuttiSuccess && report.later == tuttiSuccess && exact
                          ? ""
                          : tuttiGetLastError(comm));
        report.finished.store(true);
        tuttiCommDestroy(comm);
        return exact ? 0 : 3;
      },
      90);
  parent.join();
  EXPECT_TRUE(launch.error.empty()) << launch.error;
  EXPECT_TRUE(begun.load()) << "could not make the trouble on rank " << victim << "'s link";
  EXPECT_TRUE(ended.load()) << "could not end the trouble on rank " << victim << "'s link";
  long longest = 0;
  for (int rank = 0; rank < nranks; ++rank) {
    const RankReport& report = shared->ranks[rank];
    std::printf(
        "rank %d%s: %d all-reduces done before the trouble, %d by its end, %d in all; the "
        "longest took %ld ms; then %s, %s: %s\n",
        rank, rank == victim ? " (victim)" : "", roundsAtBegin[rank], roundsAtEnd[rank],
        report.rounds.load(), report.ms, tuttiGetErrorString(report.async),
        tuttiGetErrorString(report.later), report.message);
    EXPECT_TRUE(launch.ranks[rank].ok()) << "rank " << rank << ": " << launch.failures();
    EXPECT_EQ(report.code, tuttiSuccess) << "rank " << rank << ": " << report.message;
    EXPECT_EQ(report.rounds.load(), kTroubleRounds) << "rank " << rank;
    EXPECT_EQ(report.async, tuttiSuccess) << "rank " << rank;
    EXPECT_EQ(report.later, tuttiSuccess) << "rank " << rank << ": " << report.message;
    // The loop ran through the whole trouble, and past it.
    EXPECT_LT(roundsAtEnd[rank], kTroubleRounds) << "rank " << rank;
    longest = std::max(longest, report.ms);
  }
  std::fflush(stdout);
  munmap(shared, sizeof(Shared));
  return longest;
}

// A link that goes down for less than the heartbeat timeout and comes back is no failure: TCP
// retransmits what was lost, and no rank's watch judges the pause (the victim must not think
// itself cut off either). Some call was in flight while the link was down, and waited for it.
TEST_P(LinkFailureTest, LinkDownBrieflyAndBackIsNoFailure) {
  constexpr int kDownMs = 300;
  const int victim = std::get<1>(GetParam());
  const long longest = noFailureThrough(
      std::get<0>(GetParam()), victim, [&](EmulatedHosts& h) { return h.cutLink(victim); },
      [&](EmulatedHosts& h) { return h.restoreLink(victim); }, kDownMs);
  EXPECT_GE(longest, kDownMs / 2);
}

// A link slowed to 20 Mbit/s (a token bucket that drops what waits over 50 ms) for longer than
// the heartbeat timeout is no failure either: the watch's heartbeats share the congested link
// with the all-reduces' data.
TEST_P(LinkFailureTest, SlowLinkIsNoFailure) {
  constexpr int kSlowMs = 3000;
  const int victim = std::get<1>(GetParam());
  const long longest = noFailureThrough(
      std::get<0>(GetParam()), victim,
      [&](EmulatedHosts& h) { return h.limitRate(victim, 0, "20mbit"); },
      [&](EmulatedHosts& h) { return h.unlimitRate(victim, 0); }, kSlowMs);
  // At 20 Mbit/s the victim's share of an all-reduce (over 64 KiB) takes over 20 ms.
  EXPECT_GE(longest, 20);
}

// Random loss of 5% of the packets the victim's host sends and receives, for longer than the
// heartbeat timeout, is no failure: TCP retransmits (a lost retransmission backs off to 400 ms
// and more), the heartbeats ride the same lossy link, and nothing may be judged.
TEST_P(LinkFailureTest, RandomPacketLossIsNoFailure) {
  const std::string reason = EmulatedHosts::lossUnavailableReason();
  if (!reason.empty()) GTEST_SKIP() << reason;
  constexpr int kLossyMs = 3000;
  constexpr int kPercent = 5;
  const int victim = std::get<1>(GetParam());
  long long dropped = -1;
  const long longest = noFailureThrough(
      std::get<0>(GetParam()), victim,
      [&](EmulatedHosts& h) { return h.loseRandomly(victim, kPercent); },
      [&](EmulatedHosts& h) {
        dropped = h.stopLosing(victim);
        return dropped >= 0;
      },
      kLossyMs);
  std::printf("rank %d's host dropped %lld packets; the longest all-reduce took %ld ms\n", victim,
              dropped, longest);
  EXPECT_GT(dropped, 0) << "no packet was dropped: the loss was not made";
}

INSTANTIATE_TEST_SUITE_P(Hosts, LinkFailureTest, ::testing::Values(Param{3, 2}, Param{4, 1}),
                         ranksVictimName);

}  // namespace
}  // namespace tutti::test
