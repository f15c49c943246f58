// NIC rails over TCP (TUTTI_TCP_RAILS): ranks on emulated hosts (mp/emulated_hosts.h) with two
// interfaces each, one per rail network, as in rail-optimised clusters. With two rails, every
// rail must carry its share of a rank's bytes (counted by the kernel on each interface) and
// results stay exact; with one rail, the second interface carries next to nothing (the control
// that shows the count tells rails apart); a rank with one rail among ranks with two connects to
// them over the one rail they share. A rail cut mid-loop, and a bootstrap network of its own
// (TUTTI_BOOTSTRAP_IFNAME) cut under live data, are errors on every rank.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/comm.h"
#include "mp/emulated_hosts.h"
#include "mp/exact_round.h"
#include "mp/harness.h"
#include "testing/rank_launcher.h"

namespace tutti::test {
namespace {

constexpr int kRails = 2;
constexpr int kMaxRanks = 4;
constexpr size_t kCount = 4 << 20;  // int32 elements of each all-reduce: 16 MiB
constexpr int kRounds = 3;
constexpr int kTimeoutMs = 4000;                // of the tests that cut a link
constexpr int kHeartbeatTimeoutMs = 2000;       // likewise
constexpr long long kAllReduceBytes = 1 << 20;  // likewise, each of their all-reduces

struct Shared {
  IdHandout id;
  char transport[kMaxRanks][128] = {};  // each rank's interTransport
  // The rail cut: all-reduces done per rank, and each rank's first failure.
  std::atomic<int> rounds[kMaxRanks] = {};
  std::atomic<int> finished[kMaxRanks] = {};
  tuttiResult_t code[kMaxRanks] = {};
  long ms[kMaxRanks] = {};  // from the cut to the failure
  std::atomic<int64_t> cutAtNs{0};
  char message[kMaxRanks][2048] = {};
};

// In a rank: its host, tcp over the tnet interfaces with `rails` rails, and the unique id (made
// by rank 0 inside its namespace, where its bootstrap root must listen).
// environment() may set more, or override these.
bool joinHost(
    const EmulatedHosts& hosts, int rank, int rails, Shared* shared, tuttiUniqueId* id,
    const std::function<void()>& environment = [] {}) {
  if (!hosts.enter(rank)) return false;
  setenv("TUTTI_TRANSPORT", "tcp", 1);
  setenv("TUTTI_SOCKET_IFNAME", "tnet", 1);
  setenv("TUTTI_TCP_RAILS", std::to_string(rails).c_str(), 1);
  environment();
  return takeUniqueId(rank, &shared->id, id);
}

// kRounds all-reduces of kCount elements, checked exactly; the number of wrong elements.
long largeAllReduces(tuttiComm_t comm, int rank, int nranks) {
  std::vector<int32_t> data(kCount);
  for (int round = 0; round < kRounds; ++round) {
    for (size_t i = 0; i < kCount; ++i) {
      data[i] = (rank + 1) * (round + 1) + static_cast<int>(i % 7);
    }
    if (tuttiAllReduce(data.data(), data.data(), kCount, tuttiInt32, tuttiSum, comm, nullptr) !=
        tuttiSuccess) {
      std::fprintf(stderr, "rank %d: all-reduce: %s\n", rank, tuttiGetLastError(comm));
      return -1;
    }
    for (size_t i = 0; i < kCount; ++i) {
      const int32_t expected =
          (round + 1) * nranks * (nranks + 1) / 2 + nranks * static_cast<int>(i % 7);
      if (data[i] != expected) {
        std::fprintf(stderr, "rank %d round %d: element %zu is %d, expected %d\n", rank, round, i,
                     data[i], expected);
        return 1;
      }
    }
  }
  return 0;
}

// Runs the ranks with railsOf(rank) rails each: exact rounds, then the large all-reduces.
RankLaunch runRanks(const EmulatedHosts& hosts, int nranks, Shared* shared,
                    const std::function<int(int)>& railsOf) {
  return forkRanks(
      nranks,
      [&](int rank) {
        tuttiUniqueId id{};
        if (!joinHost(hosts, rank, railsOf(rank), shared, &id)) return 2;
        tuttiComm_t comm = initComm(rank, nranks, id, 30000);
        if (comm == nullptr) return 2;
        withLiveComm(comm, [&](tuttiComm* c) {
          std::snprintf(shared->transport[rank], sizeof(shared->transport[rank]), "%s",
                        c->interTransport.c_str());
        });
        long wrong = exactRound(comm, rank, nranks);
        if (wrong == 0) wrong = largeAllReduces(comm, rank, nranks);
        tuttiCommDestroy(comm);
        return wrong == 0 ? 0 : 3;
      },
      120);
}

class TcpRailsTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    const std::string reason = EmulatedHosts::unavailableReason();
    if (!reason.empty()) GTEST_SKIP() << "emulated hosts: " << reason;
  }
  void TearDown() override {
    if (shared_ != nullptr) munmap(shared_, sizeof(Shared));
  }

  // Runs GetParam() ranks on hosts with kRails interfaces each, railsOf(rank) of them used;
  // every rank must end well. Then sent(rank, rail) is what the rank's interface sent.
  void run(const std::function<int(int)>& railsOf) {
    nranks_ = GetParam();
    hosts_ = std::make_unique<EmulatedHosts>(nranks_, kRails);
    ASSERT_TRUE(hosts_->ok()) << hosts_->error();
    shared_ = mapShared<Shared>();
    ASSERT_NE(shared_, nullptr);
    const RankLaunch launch = runRanks(*hosts_, nranks_, shared_, railsOf);
    ASSERT_TRUE(launch.ok()) << launch.error << launch.failures();
    for (int rank = 0; rank < nranks_; ++rank) {
      std::printf("rank %d (%s) sent %lld bytes on tnet0, %lld on tnet1\n", rank,
                  shared_->transport[rank], sent(rank, 0), sent(rank, 1));
    }
  }
  // Ranks on hosts with kRails interfaces, environment() run in each before init, loop exact
  // all-reduces of 1 MiB until one fails; once every rank has done 3, the parent cuts rank 1's
  // interface of cutRail. Every rank must end with tuttiRemoteError or tuttiTimeout; its code,
  // message and the ms from the cut are in shared_, printed.
  void cutDuringAllReduces(int cutRail, const std::function<void()>& environment) {
    nranks_ = GetParam();
    hosts_ = std::make_unique<EmulatedHosts>(nranks_, kRails);
    ASSERT_TRUE(hosts_->ok()) << hosts_->error();
    shared_ = mapShared<Shared>();
    ASSERT_NE(shared_, nullptr);
    Shared* shared = shared_;
    std::thread cutter([this, shared, cutRail] {
      const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      auto ready = [&] {
        for (int rank = 0; rank < nranks_; ++rank) {
          if (shared->rounds[rank].load() < 3) return false;
        }
        return true;
      };
      while (!ready() && std::chrono::steady_clock::now() < giveUp) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      shared->cutAtNs.store(nowNs());
      hosts_->cutLink(1, cutRail);
    });
    const RankLaunch launch = forkRanks(
        nranks_,
        [&](int rank) {
          tuttiUniqueId id{};
          const bool joined = joinHost(*hosts_, rank, kRails, shared, &id, [&] {
            setenv("TUTTI_HEARTBEAT_TIMEOUT_MS", std::to_string(kHeartbeatTimeoutMs).c_str(), 1);
            environment();
          });
          if (!joined) return 2;
          tuttiComm_t comm = initComm(rank, nranks_, id, kTimeoutMs);
          if (comm == nullptr) return 2;
          withLiveComm(comm, [&](tuttiComm* c) {
            std::snprintf(shared->transport[rank], sizeof(shared->transport[rank]), "%s",
                          c->interTransport.c_str());
          });
          std::vector<int32_t> data(kAllReduceBytes / sizeof(int32_t));
          tuttiResult_t rc = tuttiSuccess;
          const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(40);
          while (rc == tuttiSuccess && std::chrono::steady_clock::now() < giveUp) {
            for (size_t i = 0; i < data.size(); ++i) data[i] = rank + static_cast<int>(i % 3);
            rc = tuttiAllReduce(data.data(), data.data(), data.size(), tuttiInt32, tuttiSum, comm,
                                nullptr);
            if (rc != tuttiSuccess) break;
            for (size_t i = 0; i < data.size(); ++i) {
              if (data[i] != nranks_ * (nranks_ - 1) / 2 + nranks_ * static_cast<int>(i % 3)) {
                return 3;
              }
            }
            shared->rounds[rank].fetch_add(1);
          }
          shared->ms[rank] = static_cast<long>((nowNs() - shared->cutAtNs.load()) / 1000000);
          shared->code[rank] = rc;
          std::snprintf(shared->message[rank], sizeof(shared->message[rank]), "%s",
                        tuttiGetLastError(comm));
          shared->finished[rank].store(1);
          tuttiCommDestroy(comm);
          return 0;
        },
        90);
    cutter.join();
    ASSERT_TRUE(launch.ok()) << launch.error << launch.failures();
    for (int rank = 0; rank < nranks_; ++rank) {
      std::printf("rank %d (%s): %s %ld ms after the cut: %s\n", rank, shared->transport[rank],
                  tuttiGetErrorString(shared->code[rank]), shared->ms[rank], shared->message[rank]);
      ASSERT_EQ(shared->finished[rank].load(), 1) << "rank " << rank;
      EXPECT_TRUE(shared->code[rank] == tuttiRemoteError || shared->code[rank] == tuttiTimeout)
          << "rank " << rank << ": " << shared->message[rank];
    }
  }

  long long sent(int rank, int rail) const { return hosts_->sentBytes(rank, rail); }
  const char* transport(int rank) const { return shared_->transport[rank]; }

  static constexpr long long kBytes = static_cast<long long>(kCount * sizeof(int32_t));
  int nranks_ = 0;
  std::unique_ptr<EmulatedHosts> hosts_;
  Shared* shared_ = nullptr;
};

// Two rails: each carries at least a third of each rank's bytes (an even split gives half; the
// bootstrap's traffic rides rail 0), and the transport names both.
TEST_P(TcpRailsTest, EveryRailCarriesItsShare) {
  ASSERT_NO_FATAL_FAILURE(run([](int) { return kRails; }));
  for (int rank = 0; rank < nranks_; ++rank) {
    EXPECT_STREQ(transport(rank), "tcp/rails:tnet0,tnet1") << "rank " << rank;
    const long long total = sent(rank, 0) + sent(rank, 1);
    EXPECT_GT(total, kBytes);
    EXPECT_GE(3 * sent(rank, 0), total) << "rank " << rank;
    EXPECT_GE(3 * sent(rank, 1), total) << "rank " << rank;
  }
}

// One rail (the default): the second interface carries under 1% of what the first does.
TEST_P(TcpRailsTest, OneRailLeavesTheOtherInterfaceIdle) {
  ASSERT_NO_FATAL_FAILURE(run([](int) { return 1; }));
  for (int rank = 0; rank < nranks_; ++rank) {
    EXPECT_STREQ(transport(rank), "tcp") << "rank " << rank;
    EXPECT_GT(sent(rank, 0), kBytes);
    EXPECT_LT(100 * sent(rank, 1), sent(rank, 0)) << "rank " << rank;
  }
}

// Rank 0 has one rail, the others two: the pairs with rank 0 use the rail they share, the others
// both, and every result is exact. Rank 0 sends next to nothing on its second interface.
TEST_P(TcpRailsTest, RanksWithFewerRailsUseTheRailsTheyShare) {
  ASSERT_NO_FATAL_FAILURE(run([](int rank) { return rank == 0 ? 1 : kRails; }));
  EXPECT_STREQ(transport(0), "tcp");
  EXPECT_LT(100 * sent(0, 1), sent(0, 0));
  if (nranks_ >= 3) {
    // Ranks 1 and 2 share both rails, and every algorithm moves data between them.
    EXPECT_GT(sent(1, 1) + sent(2, 1), kBytes / 8);
  }
}

// Mid-loop, rank 1's second rail goes down while its first (the bootstrap's, which carries the
// heartbeats) stays up: its peers still hear it, so only the data path can notice. Every rank
// must return an error within TUTTI_TIMEOUT_MS + 2 s, never hang or succeed with wrong data.
TEST_P(TcpRailsTest, ALostRailIsAnErrorOnEveryRank) {
  cutDuringAllReduces(1, [] {});
  bool namesRail = false;
  for (int rank = 0; rank < nranks_; ++rank) {
    EXPECT_LE(shared_->ms[rank], kTimeoutMs + 2000) << "rank " << rank;
    namesRail = namesRail || std::strstr(shared_->message[rank], "over tnet1") != nullptr;
  }
  // Whichever finds it (keepalive on an idle socket, the data's timeout, a closed socket), the
  // socket's rail is named: a lost rail is told apart from a lost host or a hung peer.
  EXPECT_TRUE(namesRail) << "no rank named the lost rail";
}

// The bootstrap on a network of its own (TUTTI_BOOTSTRAP_IFNAME=tnet0, the data on tnet1): rank
// 1's tnet0 is cut while the all-reduces' data still flows on tnet1. Its heartbeats stop, so
// every rank fails within the heartbeat timeout (the data path never times out): the others name
// rank 1, and rank 1, hearing every peer fall silent at once, names itself cut off. A rank that
// the watch cannot reach can neither learn of failures nor take part in a shrink, so it is
// failed rather than left to run blind.
TEST_P(TcpRailsTest, ALostBootstrapNetworkIsAnErrorOnEveryRank) {
  cutDuringAllReduces(0, [] {
    setenv("TUTTI_BOOTSTRAP_IFNAME", "=tnet0", 1);
    setenv("TUTTI_SOCKET_IFNAME", "=tnet1", 1);
    setenv("TUTTI_TCP_RAILS", "1", 1);
  });
  for (int rank = 0; rank < nranks_; ++rank) {
    // The data went over tnet1: at least the 3 all-reduces of 1 MiB before the cut (a ring's
    // share is over half of that each), and tnet0 carried the bootstrap's little.
    std::printf("rank %d sent %lld bytes on tnet0, %lld on tnet1\n", rank, sent(rank, 0),
                sent(rank, 1));
    EXPECT_GT(sent(rank, 1), 3 * (kAllReduceBytes / 2)) << "rank " << rank;
    EXPECT_LT(sent(rank, 0), sent(rank, 1) / 10) << "rank " << rank;
    EXPECT_EQ(shared_->code[rank], tuttiRemoteError) << "rank " << rank;
    EXPECT_LE(shared_->ms[rank], kHeartbeatTimeoutMs + 1500) << "rank " << rank;
    const std::string message = shared_->message[rank];
    if (rank != 1) {
      EXPECT_NE(message.find("rank 1 (host tutti-host1"), std::string::npos)
          << "rank " << rank << ": " << message;
    }
    EXPECT_NE(message.find("heartbeat"), std::string::npos) << "rank " << rank << ": " << message;
  }
}

// With the bootstrap on interfaces of its own, a data interface that TUTTI_SOCKET_IFNAME does
// not find is an error at init on every rank, naming what was looked for, never data moved onto
// the bootstrap's network (on one host, over loopback: no namespaces needed).
TEST(TcpDataInterfaceTest, NoDataInterfaceBesideABootstrapNetworkOfItsOwnFailsInit) {
  LaunchResult result = tutti::test::runRanks(
      2,
      [](int rank, int nranks, const tuttiUniqueId& id) {
        setenv("TUTTI_TRANSPORT", "tcp", 1);
        setenv("TUTTI_BOOTSTRAP_IFNAME", "=lo", 1);
        setenv("TUTTI_SOCKET_IFNAME", "=tutti-none0", 1);
        tuttiConfig_t config = TUTTI_CONFIG_INITIALIZER;
        config.timeoutMs = 10000;
        tuttiComm_t comm = nullptr;
        const tuttiResult_t rc = tuttiCommInitRankConfig(&comm, nranks, id, rank, &config);
        const std::string message = tuttiGetLastError(nullptr);
        std::printf("rank %d: %s: %s\n", rank, tuttiGetErrorString(rc), message.c_str());
        if (rc == tuttiSuccess) {
          tuttiCommDestroy(comm);
          return 1;
        }
        return message.find("the data interface") != std::string::npos &&
                       message.find("tutti-none0") != std::string::npos
                   ? 0
                   : 1;
      },
      60);
  EXPECT_TRUE(result.ok) << result.failure;
}

INSTANTIATE_TEST_SUITE_P(Ranks, TcpRailsTest, ::testing::Values(2, 3),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "ranks";
                         });

}  // namespace
}  // namespace tutti::test
