// The TCP connection's data path over socket pairs: striping, ordering, header checks, and the
// loss of the peer.
#include "transports/tcp/tcp_connection.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <memory>
#include <numeric>
#include <vector>

#include "transports/test_memory.h"

namespace tutti {
namespace {

struct Pair {
  std::unique_ptr<TcpConnection> a;
  std::unique_ptr<TcpConnection> b;
};

Pair makePair(int nsocks, size_t minStripe) {
  std::vector<Fd> left;
  std::vector<Fd> right;
  for (int i = 0; i < nsocks; ++i) {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    left.emplace_back(fds[0]);
    right.emplace_back(fds[1]);
  }
  return Pair{std::make_unique<TcpConnection>(1, std::move(left), minStripe,
                                              std::make_shared<MemoryDomain>()),
              std::make_unique<TcpConnection>(0, std::move(right), minStripe,
                                              std::make_shared<MemoryDomain>())};
}

Status drive(Pair& pair, const std::vector<TransferRequest*>& requests) {
  for (int spin = 0; spin < 1000000; ++spin) {
    bool all = true;
    for (TransferRequest* request : requests) all = all && request->done;
    if (all) return Status::ok();
    bool progressed = false;
    TUTTI_RETURN_IF_ERROR(pair.a->progress(&progressed));
    TUTTI_RETURN_IF_ERROR(pair.b->progress(&progressed));
  }
  return makeError(tuttiTimeout, "transfers did not complete");
}

TEST(TcpConnectionTest, StripesLargeMessagesAndKeepsOrder) {
  EXPECT_EQ(TcpConnection::partCount(10, 4, 1024), 1);
  EXPECT_EQ(TcpConnection::partCount(4096, 4, 1024), 4);
  EXPECT_EQ(TcpConnection::partCount(1 << 20, 4, 1024), 4);
  Pair pair = makePair(3, 1000);
  std::vector<std::vector<uint8_t>> messages;
  for (size_t size : {0u, 1u, 999u, 3001u, 1u << 20, 77u}) {
    std::vector<uint8_t> m(size);
    std::iota(m.begin(), m.end(), static_cast<uint8_t>(size));
    messages.push_back(m);
  }
  std::vector<std::vector<uint8_t>> received;
  for (const auto& m : messages) received.emplace_back(m.size());
  std::vector<TransferRequest> sends(messages.size());
  std::vector<TransferRequest> recvs(messages.size());
  std::vector<TransferRequest*> all;
  for (size_t i = 0; i < messages.size(); ++i) {
    ASSERT_TRUE(
        pair.b
            ->postRecv(hostSlice(pair.b->memoryDomain(), received[i].data(), received[i].size()),
                       &recvs[i])
            .isOk());
    ASSERT_TRUE(
        pair.a
            ->postSend(hostSlice(pair.a->memoryDomain(), messages[i].data(), messages[i].size()),
                       &sends[i])
            .isOk());
    all.push_back(&sends[i]);
    all.push_back(&recvs[i]);
  }
  ASSERT_TRUE(drive(pair, all).isOk());
  EXPECT_EQ(received, messages);
}

TEST(TcpConnectionTest, SizeMismatchIsAnErrorNotCorruption) {
  Pair pair = makePair(2, 64);
  std::vector<char> out(100, 'x');
  std::vector<char> in(50);
  TransferRequest send;
  TransferRequest recv;
  ASSERT_TRUE(
      pair.a->postSend(hostSlice(pair.a->memoryDomain(), out.data(), out.size()), &send).isOk());
  ASSERT_TRUE(
      pair.b->postRecv(hostSlice(pair.b->memoryDomain(), in.data(), in.size()), &recv).isOk());
  Status status = drive(pair, {&send, &recv});
  EXPECT_EQ(status.code(), tuttiInternalError);
  EXPECT_NE(status.message().find("disagree"), std::string::npos) << status.message();
}

TEST(TcpConnectionTest, ClosedPeerIsARemoteError) {
  Pair pair = makePair(2, 64);
  std::vector<char> in(10);
  TransferRequest recv;
  ASSERT_TRUE(
      pair.b->postRecv(hostSlice(pair.b->memoryDomain(), in.data(), in.size()), &recv).isOk());
  pair.a.reset();  // the peer process exits
  bool progressed = false;
  Status status = pair.b->progress(&progressed);
  EXPECT_EQ(status.code(), tuttiRemoteError);
  EXPECT_NE(status.message().find("rank 0"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace tutti
