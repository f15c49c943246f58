// TCP keepalive on Tutti's sockets (base/socket.h, setKeepAlive): a connection whose peer's host
// stops answering (here its link is cut, on emulated hosts: mp/emulated_hosts.h) fails with
// tuttiRemoteError about the keepalive time after the cut, where a wait without it lasts until its
// deadline. The bootstrap and the tcp transport's sockets get it with the heartbeat timeout,
// which is what finds a cut during init, before the communicator's watch runs: the tests below
// cut a host under a bootstrap ring and under a tcp transport connection (ranks as threads, each
// in its host's network namespace) and fail when that socket's keepalive is taken out.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "base/deadline.h"
#include "base/socket.h"
#include "core/bootstrap.h"
#include "core/builtin_transports.h"
#include "mp/emulated_hosts.h"
#include "mp/harness.h"
#include "transports/progress_engine.h"
#include "transports/test_memory.h"

namespace tutti::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kKeepAliveMs = 2000;
constexpr int kDeadlineMs = 20000;  // what a wait without keepalive would last
constexpr long kSlackMs = 1500;     // the kernel's timers and a loaded machine

struct Shared {
  std::atomic<int> port{0};
  std::atomic<int> waiting{0};  // the listener accepted and now waits to receive
  std::atomic<int64_t> cutAtNs{0};
  std::atomic<long> failedAfterMs{-1};  // from the cut to the receive's failure
  tuttiResult_t code = tuttiSuccess;
  char message[512] = {0};
};

// Host 0: listens, accepts host 1's connection, and waits for a byte that never comes.
int listener(const EmulatedHosts& hosts, Shared* shared, int keepAliveMs) {
  if (!hosts.enter(0)) return 2;
  SockAddr addr;
  if (!parseHostPort("10.213.0.1:0", &addr).isOk()) return 3;
  Fd listenFd;
  SockAddr bound;
  if (!listenOn(addr, &listenFd, &bound).isOk()) return 4;
  shared->port.store(bound.port());
  Fd conn;
  const Status accepted = acceptFrom(listenFd.get(), Deadline::afterMs(kDeadlineMs), &conn);
  if (!accepted.isOk()) {
    std::fprintf(stderr, "accept: %s\n", accepted.message().c_str());
    return 5;
  }
  if (!setKeepAlive(conn.get(), keepAliveMs).isOk()) return 6;
  shared->waiting.store(1);
  char byte = 0;
  const Status status = recvAll(conn.get(), &byte, 1, Deadline::afterMs(kDeadlineMs));
  shared->failedAfterMs.store(static_cast<long>((nowNs() - shared->cutAtNs.load()) / 1000000));
  shared->code = status.code();
  std::snprintf(shared->message, sizeof(shared->message), "%s", status.message().c_str());
  return 0;
}

// Host 1: connects and then holds the connection open, silent, until it is killed.
int talker(const EmulatedHosts& hosts, Shared* shared) {
  if (!hosts.enter(1)) return 2;
  const auto giveUp = Clock::now() + std::chrono::seconds(20);
  while (shared->port.load() == 0 && Clock::now() < giveUp) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  SockAddr addr;
  if (!parseHostPort("10.213.0.1:" + std::to_string(shared->port.load()), &addr).isOk()) return 3;
  Fd fd;
  if (!connectTo(addr, Deadline::afterMs(kDeadlineMs), &fd).isOk()) return 4;
  std::this_thread::sleep_for(std::chrono::seconds(60));
  return 0;
}

// Host 1's link goes down while host 0 waits to receive from it; returns how long host 0's
// receive took to fail after the cut (-1: it did not fail within the deadline + slack).
long cutWhileWaiting(int keepAliveMs, Shared* shared) {
  EmulatedHosts hosts(2);
  EXPECT_TRUE(hosts.ok()) << hosts.error();
  if (!hosts.ok()) return -1;
  const pid_t listenerPid = fork();
  if (listenerPid == 0) _exit(listener(hosts, shared, keepAliveMs));
  const pid_t talkerPid = fork();
  if (talkerPid == 0) _exit(talker(hosts, shared));
  const auto giveUp = Clock::now() + std::chrono::seconds(20);
  while (shared->waiting.load() == 0 && Clock::now() < giveUp) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(shared->waiting.load(), 1) << "host 0 never accepted host 1's connection";
  // Let a keepalive probe or two succeed first: the connection is idle, not yet lost.
  std::this_thread::sleep_for(std::chrono::milliseconds(keepAliveMs));
  shared->cutAtNs.store(nowNs());
  EXPECT_TRUE(hosts.cutLink(1));
  int status = 0;
  const auto limit = Clock::now() + std::chrono::milliseconds(kDeadlineMs + 5000);
  while (waitpid(listenerPid, &status, WNOHANG) == 0 && Clock::now() < limit) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(listenerPid, SIGKILL);
  kill(talkerPid, SIGKILL);
  waitpid(listenerPid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "host 0's process: " << status;
  waitpid(talkerPid, nullptr, 0);
  return shared->failedAfterMs.load();
}

class KeepAliveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string reason = EmulatedHosts::unavailableReason();
    if (!reason.empty()) GTEST_SKIP() << "emulated hosts: " << reason;
  }
};

// Without keepalive the same wait would last its 20 s deadline and end in tuttiTimeout: an idle
// connection to a host whose link went down stays open.
TEST_F(KeepAliveTest, AnIdleConnectionToACutHostFailsWithinTheKeepaliveTime) {
  Shared* shared = mapShared<Shared>();
  ASSERT_NE(shared, nullptr);
  const long ms = cutWhileWaiting(kKeepAliveMs, shared);
  std::printf("keepalive %d ms: the receive failed %ld ms after the cut: %s\n", kKeepAliveMs, ms,
              shared->message);
  EXPECT_EQ(shared->code, tuttiRemoteError) << shared->message;
  EXPECT_NE(std::string(shared->message).find("stopped answering"), std::string::npos)
      << shared->message;
  EXPECT_GE(ms, 0);
  EXPECT_LE(ms, kKeepAliveMs + kSlackMs);
  munmap(shared, sizeof(Shared));
}

// Ranks as threads, each moved into its host's network namespace (setns is per thread), meeting
// at a bootstrap root on host 0; body(rank, bootstrap) runs on every rank's thread, and the
// bootstraps live until every body returned.
void meetOnHosts(const EmulatedHosts& hosts, int nranks,
                 const std::function<void(int, Bootstrap&)>& body) {
  Params params;
  params.timeoutMs = kDeadlineMs;
  params.heartbeatTimeoutMs = kKeepAliveMs;
  params.socketIfname = EmulatedHosts::kIfname;
  UniqueIdContents id;
  ASSERT_TRUE(randomBytes(id.secret, kSecretBytes).isOk());
  Status rootStarted = makeError(tuttiInternalError, "host 0 was not entered");
  std::thread([&] {
    if (!hosts.enter(0)) return;
    SockAddr addr;
    SockAddr bound;
    rootStarted = parseHostPort("10.213.0.1:0", &addr);
    if (rootStarted.isOk()) {
      rootStarted = startBootstrapRoot(addr, id.secret, kDeadlineMs, nranks, &bound);
    }
    if (rootStarted.isOk()) id.root = toWire(bound);
  }).join();
  ASSERT_TRUE(rootStarted.isOk()) << rootStarted.message();
  std::atomic<int> bodiesLeft{nranks};
  std::vector<std::thread> threads;
  for (int rank = 0; rank < nranks; ++rank) {
    threads.emplace_back([&, rank] {
      std::unique_ptr<Bootstrap> boot;
      Status status = hosts.enter(rank)
                          ? Bootstrap::create(id, rank, nranks, params, nullptr, &boot)
                          : makeError(tuttiSystemError, "cannot enter host {}", rank);
      EXPECT_TRUE(status.isOk()) << "rank " << rank << ": " << status.message();
      if (status.isOk()) body(rank, *boot);
      // A silent rank's sockets must stay open until the others are done with them.
      --bodiesLeft;
      const auto giveUp = Clock::now() + std::chrono::milliseconds(kDeadlineMs + 5000);
      while (bodiesLeft.load() > 0 && Clock::now() < giveUp) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  }
  for (auto& thread : threads) thread.join();
}

// What the cutting (main) thread and a waiting rank share.
struct CutClock {
  std::atomic<bool> waiting{false};  // the rank is about to wait on the host that will be cut
  std::atomic<int64_t> cutAtNs{0};

  // Called by the main thread: once the rank waits, lets the idle connection pass a probe or two,
  // then cuts `host`.
  void cutWhenWaiting(const EmulatedHosts& hosts, int host) {
    const auto giveUp = Clock::now() + std::chrono::seconds(20);
    while (!waiting.load() && Clock::now() < giveUp) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(waiting.load()) << "the rank never started waiting";
    std::this_thread::sleep_for(std::chrono::milliseconds(kKeepAliveMs));
    cutAtNs.store(nowNs());
    EXPECT_TRUE(hosts.cutLink(host));
  }
  long msSinceCut() const { return static_cast<long>((nowNs() - cutAtNs.load()) / 1000000); }
};

void expectLostHostInTime(const Status& status, long ms, const char* what) {
  std::printf("%s: failed %ld ms after the cut: %s\n", what, ms, status.message().c_str());
  EXPECT_EQ(status.code(), tuttiRemoteError) << status.message();
  EXPECT_NE(status.message().find("stopped answering"), std::string::npos) << status.message();
  EXPECT_GE(ms, 0);
  EXPECT_LE(ms, kKeepAliveMs + kSlackMs)
      << "without the socket's keepalive the wait lasts " << kDeadlineMs << " ms";
}

// On nranks emulated hosts, runs body(rank, bootstrap, clock) on every rank; rank 0's body sets
// clock.waiting when it starts to wait on cutHost, and returns how that wait ended. The main
// thread cuts cutHost meanwhile. Checks that rank 0's wait ended in a lost host, in time.
void cutWhileRankZeroWaits(int nranks, int cutHost, const char* what,
                           const std::function<Status(int, Bootstrap&, CutClock&)>& body) {
  EmulatedHosts hosts(nranks);
  ASSERT_TRUE(hosts.ok()) << hosts.error();
  CutClock clock;
  Status status = makeError(tuttiInternalError, "rank 0's body did not run");
  long ms = -1;
  std::thread cutter([&] { clock.cutWhenWaiting(hosts, cutHost); });
  meetOnHosts(hosts, nranks, [&](int rank, Bootstrap& boot) {
    Status ended = body(rank, boot, clock);
    if (rank == 0) {
      ms = clock.msSinceCut();
      status = ended;
    }
  });
  cutter.join();
  expectLostHostInTime(status, ms, what);
}

// Rank 0 waits in a bootstrap ring allgather for its previous rank (2), whose host is cut:
// prev_ is an idle accepted connection, and only its keepalive ends the wait before the deadline.
TEST_F(KeepAliveTest, BootstrapRingWaitOnACutHostFailsWithinTheKeepaliveTime) {
  cutWhileRankZeroWaits(3, 2, "bootstrap ring", [](int rank, Bootstrap& boot, CutClock& clock) {
    if (rank != 0) return Status::ok();  // ranks 1 and 2 hold their connections, silent
    int slots[3] = {7, 0, 0};
    clock.waiting.store(true);
    return boot.allGather(slots, sizeof(int));
  });
}

// Receives once from `from` through a progress engine, as the executor would.
Status receiveOnce(Connection* from) {
  char buffer[64];
  TransferRequest request;
  TUTTI_RETURN_IF_ERROR(
      from->postRecv(hostSlice(from->memoryDomain(), buffer, sizeof(buffer)), &request));
  ProgressEngine engine(WaitPolicy{100, 0, kDeadlineMs}, nullptr);
  engine.drive({from});
  while (!request.done) {
    bool progressed = false;
    TUTTI_RETURN_IF_ERROR(engine.poll(&progressed));
    if (progressed) continue;
    switch (engine.idle()) {
      case ProgressEngine::Idle::kTimedOut:
        return makeError(tuttiTimeout, "the receive waited {} ms", kDeadlineMs);
      case ProgressEngine::Idle::kFailed:
        return engine.failure();
      default:
        break;
    }
  }
  return Status::ok();
}

// Rank 0 waits to receive over the tcp transport from rank 1, whose host is cut: only the
// transport socket's keepalive ends the wait before the progress engine's inactivity timeout.
TEST_F(KeepAliveTest, TcpTransportReceiveFromACutHostFailsWithinTheKeepaliveTime) {
  // Outlive the ranks' bodies: rank 1 must not close its end when its body returns.
  std::unique_ptr<Transport> transports[2];
  std::vector<std::unique_ptr<Connection>> connections[2];
  cutWhileRankZeroWaits(2, 1, "tcp transport", [&](int rank, Bootstrap& boot, CutClock& clock) {
    Params params;
    params.timeoutMs = kDeadlineMs;
    params.heartbeatTimeoutMs = kKeepAliveMs;
    for (const TransportEntry& entry : builtinTransports().entries()) {
      if (std::string(entry.name) == "tcp") {
        TUTTI_RETURN_IF_ERROR(entry.create(params, &transports[rank]));
      }
    }
    if (transports[rank] == nullptr) return makeError(tuttiInternalError, "no tcp transport");
    TUTTI_RETURN_IF_ERROR(transports[rank]->connect(boot, {1 - rank}, &connections[rank]));
    // Both ranks connected before either waits or is cut.
    TUTTI_RETURN_IF_ERROR(boot.barrier());
    if (rank != 0) return Status::ok();
    clock.waiting.store(true);
    return receiveOnce(connections[0].front().get());
  });
}

TEST(KeepAliveArgsTest, SetsTheSocketOptionsOrLeavesThemAlone) {
  Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_TRUE(fd.valid());
  auto option = [&](int level, int name) {
    int value = -1;
    socklen_t length = sizeof(value);
    EXPECT_EQ(getsockopt(fd.get(), level, name, &value, &length), 0);
    return value;
  };
  ASSERT_TRUE(setKeepAlive(fd.get(), 0).isOk());
  EXPECT_EQ(option(SOL_SOCKET, SO_KEEPALIVE), 0);
  ASSERT_TRUE(setKeepAlive(fd.get(), 10000).isOk());
  EXPECT_EQ(option(SOL_SOCKET, SO_KEEPALIVE), 1);
  // Dead 10 s after the last segment: idle 5 s, then 5 probes a second apart.
  EXPECT_EQ(option(IPPROTO_TCP, TCP_KEEPIDLE), 5);
  EXPECT_EQ(option(IPPROTO_TCP, TCP_KEEPINTVL), 1);
  EXPECT_EQ(option(IPPROTO_TCP, TCP_KEEPCNT), 5);
  // Under 2 s rounds up to 2 s: 1 s idle, one probe.
  ASSERT_TRUE(setKeepAlive(fd.get(), 300).isOk());
  EXPECT_EQ(option(IPPROTO_TCP, TCP_KEEPIDLE), 1);
  EXPECT_EQ(option(IPPROTO_TCP, TCP_KEEPCNT), 1);
  EXPECT_EQ(setKeepAlive(-1, 1000).code(), tuttiSystemError);
}

}  // namespace
}  // namespace tutti::test
