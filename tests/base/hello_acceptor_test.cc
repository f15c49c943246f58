// The acceptor every listener uses: strangers of every kind, connected before a rank, neither
// block nor delay it; over TCP and over abstract Unix sockets (the shm doorbells); a flood past
// the pending limit; refusals the caller makes.
#include "base/hello_acceptor.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "testing/strangers.h"

namespace tutti {
namespace {

using test::connectStranger;
using test::ListenerAddress;
using test::StrangerKind;

const uint8_t* secret() {
  static uint8_t bytes[kSecretBytes] = {3, 1, 4, 1, 5, 9, 2, 6};
  return bytes;
}

// A listening socket and the address strangers and ranks reach it at.
struct Listener {
  Fd fd;
  ListenerAddress address;
};

Listener listenTcp() {
  Listener listener;
  SockAddr any;
  EXPECT_TRUE(parseHostPort("127.0.0.1:0", &any).isOk());
  EXPECT_TRUE(listenOn(any, &listener.fd, &listener.address.tcp).isOk());
  return listener;
}

Listener listenUnix() {
  Listener listener;
  listener.address.isUnix = true;
  listener.address.unixName = "tutti-acceptor-test-" + std::to_string(getpid());
  listener.fd = Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string& name = listener.address.unixName;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  EXPECT_EQ(::bind(listener.fd.get(), reinterpret_cast<sockaddr*>(&addr),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size())),
            0);
  EXPECT_EQ(::listen(listener.fd.get(), SOMAXCONN), 0);
  return listener;
}

// What a rank does: connect and send its hello at once.
Fd connectRank(const ListenerAddress& address, int rank) {
  // A silent stranger is a connection like a rank's before it speaks.
  Fd fd = connectStranger(address, StrangerKind::kSilent, nullptr);
  EXPECT_TRUE(fd.valid());
  EXPECT_TRUE(
      sendHello(fd.get(), makeHello(HelloKind::kTcpSocket, secret(), rank), Deadline::afterMs(1000))
          .isOk());
  return fd;
}

// The acceptor hands on the rank's connection next, and within a second: a silent stranger
// used to hold a listener for 5 s each.
void expectRankWithinASecond(HelloAcceptor& acceptor, int rank) {
  const auto start = std::chrono::steady_clock::now();
  Fd conn;
  Hello hello;
  Status status = acceptor.next(Deadline::afterMs(3000), &conn, &hello);
  ASSERT_TRUE(status.isOk()) << status.message();
  EXPECT_EQ(hello.rank, rank);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 1.0);
}

TEST(HelloAcceptorTest, StrangersOfEveryKindBeforeARankDoNotDelayIt) {
  for (bool overUnix : {false, true}) {
    Listener listener = overUnix ? listenUnix() : listenTcp();
    std::vector<Fd> strangers;
    for (int round = 0; round < 10; ++round) {
      for (int kind = 0; kind < test::kStrangerKinds; ++kind) {
        // The absurd count knows the secret: the acceptor hands it on, its caller judges counts.
        const bool knowsSecret = static_cast<StrangerKind>(kind) == StrangerKind::kAbsurdCount;
        strangers.push_back(connectStranger(listener.address, static_cast<StrangerKind>(kind),
                                            knowsSecret ? secret() : nullptr));
        ASSERT_TRUE(strangers.back().valid()) << test::strangerName(StrangerKind(kind));
      }
    }
    Fd rank = connectRank(listener.address, 7);
    HelloAcceptor acceptor(listener.fd.get(), HelloKind::kTcpSocket, secret(), "test");
    SCOPED_TRACE(overUnix ? "unix" : "tcp");
    expectRankWithinASecond(acceptor, 7);
    // Garbage, wrong secrets, wrong versions and the absurd counts (a root's hello, the wrong kind
    // here) are turned away as soon as they show it; the silent and truncated ones wait for their
    // deadline.
    EXPECT_EQ(acceptor.turnedAway(), 40);
  }
}

TEST(HelloAcceptorTest, AFloodPastThePendingLimitStillLetsARankThrough) {
  Listener listener = listenTcp();
  const int flood = static_cast<int>(kMaxPendingHellos) + 60;
  std::vector<Fd> strangers;
  for (int i = 0; i < flood; ++i) {
    strangers.push_back(connectStranger(listener.address, StrangerKind::kSilent, nullptr));
    ASSERT_TRUE(strangers.back().valid());
  }
  Fd rank = connectRank(listener.address, 3);
  HelloAcceptor acceptor(listener.fd.get(), HelloKind::kTcpSocket, secret(), "test");
  expectRankWithinASecond(acceptor, 3);
  // The oldest silent ones made room.
  EXPECT_GE(acceptor.turnedAway(), flood - static_cast<int>(kMaxPendingHellos));
}

TEST(HelloAcceptorTest, SilenceAloneEndsInTimeoutAtTheDeadline) {
  Listener listener = listenTcp();
  Fd silent = connectStranger(listener.address, StrangerKind::kSilent, nullptr);
  Fd garbage = connectStranger(listener.address, StrangerKind::kGarbage, nullptr);
  HelloAcceptor acceptor(listener.fd.get(), HelloKind::kTcpSocket, secret(), "test");
  const auto start = std::chrono::steady_clock::now();
  Fd conn;
  Hello hello;
  Status status = acceptor.next(Deadline::afterMs(300), &conn, &hello);
  EXPECT_EQ(status.code(), tuttiTimeout) << status.message();
  EXPECT_NE(status.message().find("1 turned away"), std::string::npos) << status.message();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 1.5);
}

TEST(HelloAcceptorTest, CallerRefusalsAreCountedAndTheNextRankStillComes) {
  Listener listener = listenTcp();
  Fd first = connectRank(listener.address, 1);
  Fd second = connectRank(listener.address, 2);
  int told = 0;
  HelloAcceptor acceptor(listener.fd.get(), HelloKind::kTcpSocket, secret(), "test",
                         [&](int, const Status& why) {
                           ++told;
                           EXPECT_NE(why.message().find("not wanted"), std::string::npos);
                         });
  Fd conn;
  Hello hello;
  ASSERT_TRUE(acceptor.next(Deadline::afterMs(2000), &conn, &hello).isOk());
  EXPECT_EQ(hello.rank, 1);
  acceptor.reject(std::move(conn), makeError(tuttiRemoteError, "not wanted"));
  ASSERT_TRUE(acceptor.next(Deadline::afterMs(2000), &conn, &hello).isOk());
  EXPECT_EQ(hello.rank, 2);
  EXPECT_EQ(acceptor.turnedAway(), 1);
  EXPECT_EQ(told, 1);
}

}  // namespace
}  // namespace tutti
