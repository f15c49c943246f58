// The one hello: what it accepts and what it turns away, and that silence is bounded.
#include "base/handshake.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

namespace tutti {
namespace {

struct SocketPair {
  Fd a;
  Fd b;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    a = Fd(fds[0]);
    b = Fd(fds[1]);
  }
};

const uint8_t* secret() {
  static uint8_t bytes[kSecretBytes] = {1, 2, 3, 4, 5};
  return bytes;
}

Status exchange(const Hello& sent, HelloKind expected, Hello* got) {
  SocketPair pair;
  EXPECT_TRUE(sendHello(pair.a.get(), sent, Deadline::afterMs(1000)).isOk());
  return receiveHello(pair.b.get(), expected, secret(), Deadline::afterMs(1000), got);
}

TEST(HandshakeTest, AcceptsItsOwnHelloWithEveryField) {
  Hello hello = makeHello(HelloKind::kTcpSocket, secret(), 7);
  hello.count = 3;
  hello.index = 2;
  Hello got;
  Status status = exchange(hello, HelloKind::kTcpSocket, &got);
  ASSERT_TRUE(status.isOk()) << status.message();
  EXPECT_EQ(got.rank, 7);
  EXPECT_EQ(got.count, 3);
  EXPECT_EQ(got.index, 2);
}

TEST(HandshakeTest, TurnsAwayWrongSecretVersionKindAndMagic) {
  Hello got;
  uint8_t other[kSecretBytes] = {9};
  Status status = exchange(makeHello(HelloKind::kTcpSocket, other, 0), HelloKind::kTcpSocket, &got);
  EXPECT_EQ(status.code(), tuttiRemoteError);
  EXPECT_NE(status.message().find("secret"), std::string::npos) << status.message();

  Hello old = makeHello(HelloKind::kTcpSocket, secret(), 0);
  old.version = kHelloVersion - 1;
  status = exchange(old, HelloKind::kTcpSocket, &got);
  EXPECT_NE(status.message().find("version"), std::string::npos) << status.message();

  status = exchange(makeHello(HelloKind::kShmDoorbell, secret(), 0), HelloKind::kTcpSocket, &got);
  EXPECT_NE(status.message().find("kind"), std::string::npos) << status.message();

  Hello garbage = makeHello(HelloKind::kTcpSocket, secret(), 0);
  garbage.magic = 0x47455420;  // "GET " from a stray HTTP client
  status = exchange(garbage, HelloKind::kTcpSocket, &got);
  EXPECT_EQ(status.code(), tuttiRemoteError);
  EXPECT_NE(status.message().find("not Tutti"), std::string::npos) << status.message();
}

TEST(HandshakeTest, ASilentConnectionTimesOutWithinTheDeadline) {
  SocketPair pair;
  Hello got;
  auto start = std::chrono::steady_clock::now();
  Status status =
      receiveHello(pair.b.get(), HelloKind::kTcpSocket, secret(), Deadline::afterMs(200), &got);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(status.code(), tuttiTimeout) << status.message();
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

}  // namespace
}  // namespace tutti
