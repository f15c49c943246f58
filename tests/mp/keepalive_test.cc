// TCP keepalive on Tutti's sockets (base/socket.h, setKeepAlive): a connection whose peer's host
// stops answering (here its link is cut, on emulated hosts: mp/emulated_hosts.h) fails with
// tuttiRemoteError about the keepalive time after the cut, where a wait without it lasts until its
// deadline. The bootstrap and the tcp transport's sockets get it with the heartbeat timeout,
// which is what finds a cut during init, before the communicator's watch runs.
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
#include <string>
#include <thread>

#include "base/deadline.h"
#include "base/socket.h"
#include "mp/emulated_hosts.h"

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

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

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

Shared* mapShared() {
  void* memory =
      mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return memory == MAP_FAILED ? nullptr : new (memory) Shared();
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
  Shared* shared = mapShared();
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
