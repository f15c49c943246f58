#include "base/socket.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "base/unique_id.h"

namespace tutti {
namespace {

TEST(SocketTest, ParsesHostPortInBothFamilies) {
  SockAddr addr;
  ASSERT_TRUE(parseHostPort("127.0.0.1:29500", &addr).isOk());
  EXPECT_EQ(addr.family(), AF_INET);
  EXPECT_EQ(addr.port(), 29500);
  EXPECT_EQ(addr.toString(), "127.0.0.1:29500");
  ASSERT_TRUE(parseHostPort("[::1]:80", &addr).isOk());
  EXPECT_EQ(addr.family(), AF_INET6);
  EXPECT_EQ(addr.toString(), "[::1]:80");
  ASSERT_TRUE(parseHostPort("localhost:1", &addr).isOk());
  EXPECT_TRUE(addr.isLoopback());
  EXPECT_EQ(parseHostPort("127.0.0.1", &addr).code(), tuttiInvalidArgument);
  EXPECT_EQ(parseHostPort("127.0.0.1:http", &addr).code(), tuttiInvalidArgument);
  EXPECT_EQ(parseHostPort("[::1:80", &addr).code(), tuttiInvalidArgument);
  EXPECT_EQ(parseHostPort("no.such.host.invalid:80", &addr).code(), tuttiInvalidArgument);
}

TEST(SocketTest, WireFormRoundTrips) {
  for (const char* text : {"10.1.2.3:7", "[fd00::2]:65535"}) {
    SockAddr addr;
    ASSERT_TRUE(parseHostPort(text, &addr).isOk());
    SockAddr back;
    ASSERT_TRUE(fromWire(toWire(addr), &back).isOk());
    EXPECT_EQ(back.toString(), addr.toString());
  }
}

TEST(SocketTest, ListenConnectAndTransfer) {
  SockAddr any;
  ASSERT_TRUE(parseHostPort("127.0.0.1:0", &any).isOk());
  Fd listener;
  SockAddr bound;
  ASSERT_TRUE(listenOn(any, &listener, &bound).isOk());
  EXPECT_NE(bound.port(), 0);
  Fd client;
  ASSERT_TRUE(connectTo(bound, Deadline::afterMs(2000), &client).isOk());
  Fd server;
  ASSERT_TRUE(acceptFrom(listener.get(), Deadline::afterMs(2000), &server).isOk());
  // Both ends send 4 MiB before reading: only simultaneous progress avoids a deadlock.
  std::vector<char> a(4 << 20, 'a');
  std::vector<char> b(4 << 20, 'b');
  std::vector<char> gotA(a.size());
  std::vector<char> gotB(b.size());
  std::thread peer([&] {
    EXPECT_TRUE(sendRecvAll(server.get(), b.data(), b.size(), server.get(), gotA.data(),
                            gotA.size(), Deadline::afterMs(10000))
                    .isOk());
  });
  EXPECT_TRUE(sendRecvAll(client.get(), a.data(), a.size(), client.get(), gotB.data(), gotB.size(),
                          Deadline::afterMs(10000))
                  .isOk());
  peer.join();
  EXPECT_EQ(gotA, a);
  EXPECT_EQ(gotB, b);
  Fd none;
  EXPECT_EQ(acceptFrom(listener.get(), Deadline::afterMs(50), &none).code(), tuttiTimeout);
  server.reset();
  char byte;
  EXPECT_EQ(recvAll(client.get(), &byte, 1, Deadline::afterMs(2000)).code(), tuttiRemoteError);
}

TEST(UniqueIdTest, EncodesAndRejectsForeignBytes) {
  UniqueIdContents contents;
  SockAddr addr;
  ASSERT_TRUE(parseHostPort("192.0.2.1:1234", &addr).isOk());
  contents.root = toWire(addr);
  ASSERT_TRUE(randomBytes(contents.secret, kSecretBytes).isOk());
  tuttiUniqueId id;
  encodeUniqueId(contents, &id);
  UniqueIdContents back;
  ASSERT_TRUE(decodeUniqueId(id, &back).isOk());
  EXPECT_TRUE(secretsEqual(back.secret, contents.secret));
  EXPECT_EQ(back.root.port, 1234);
  tuttiUniqueId zero{};
  EXPECT_EQ(decodeUniqueId(zero, &back).code(), tuttiInvalidArgument);
  uint8_t a[kSecretBytes];
  uint8_t b[kSecretBytes];
  secretFromString("host:1", a);
  secretFromString("host:2", b);
  EXPECT_FALSE(secretsEqual(a, b));
}

}  // namespace
}  // namespace tutti
