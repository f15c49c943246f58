// The TCP connection's data path over socket pairs: striping, ordering, header checks, checksums
// (TUTTI_CHECKSUM=1: a byte flipped on the way is an error naming the frame), and the loss of the
// peer.
#include "transports/tcp/tcp_connection.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <numeric>
#include <vector>

#include "transports/tcp/crc32c.h"
#include "transports/test_memory.h"

namespace tutti {
namespace {

struct Pair {
  std::unique_ptr<TcpConnection> a;
  std::unique_ptr<TcpConnection> b;
};

Pair makePair(int nsocks, size_t minStripe, bool checksum = false) {
  std::vector<Fd> left;
  std::vector<Fd> right;
  for (int i = 0; i < nsocks; ++i) {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    left.emplace_back(fds[0]);
    right.emplace_back(fds[1]);
  }
  return Pair{std::make_unique<TcpConnection>(1, std::move(left), minStripe, checksum,
                                              std::make_shared<MemoryDomain>()),
              std::make_unique<TcpConnection>(0, std::move(right), minStripe, checksum,
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

void stripedMessagesArriveInOrder(bool checksum) {
  Pair pair = makePair(3, 1000, checksum);
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
  Status status = drive(pair, all);
  ASSERT_TRUE(status.isOk()) << status.message();
  EXPECT_EQ(received, messages);
}

TEST(TcpConnectionTest, StripesLargeMessagesAndKeepsOrder) {
  EXPECT_EQ(TcpConnection::partCount(10, 4, 1024), 1);
  EXPECT_EQ(TcpConnection::partCount(4096, 4, 1024), 4);
  EXPECT_EQ(TcpConnection::partCount(1 << 20, 4, 1024), 4);
  stripedMessagesArriveInOrder(false);
}

TEST(TcpConnectionTest, ChecksummedFramesArriveIntact) { stripedMessagesArriveInOrder(true); }

// One socket from a to b through the test, which flips the byte at stream offset flipAt (header
// 8 bytes, payload, checksum 4 bytes) once. Returns b's first error, or ok once the message is in.
Status sendThroughFlip(bool checksum, size_t flipAt, const std::vector<char>& out,
                       std::vector<char>* in) {
  int toRelay[2];
  int fromRelay[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, toRelay), 0);
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fromRelay), 0);
  std::vector<Fd> left;
  std::vector<Fd> right;
  left.emplace_back(toRelay[0]);
  Fd relayIn(toRelay[1]);
  Fd relayOut(fromRelay[0]);
  right.emplace_back(fromRelay[1]);
  EXPECT_EQ(fcntl(right[0].get(), F_SETFL, O_NONBLOCK), 0);
  TcpConnection a(1, std::move(left), 1 << 20, checksum, std::make_shared<MemoryDomain>());
  TcpConnection b(0, std::move(right), 1 << 20, checksum, std::make_shared<MemoryDomain>());
  TransferRequest send;
  TransferRequest recv;
  TUTTI_RETURN_IF_ERROR(b.postRecv(hostSlice(b.memoryDomain(), in->data(), in->size()), &recv));
  TUTTI_RETURN_IF_ERROR(
      a.postSend(hostSlice(a.memoryDomain(), const_cast<char*>(out.data()), out.size()), &send));
  size_t relayed = 0;
  for (int spin = 0; spin < 100000 && !recv.done; ++spin) {
    bool progressed = false;
    TUTTI_RETURN_IF_ERROR(a.progress(&progressed));
    char buffer[4096];
    const ssize_t n = ::read(relayIn.get(), buffer, sizeof(buffer));
    if (n > 0) {
      if (flipAt >= relayed && flipAt < relayed + static_cast<size_t>(n)) {
        buffer[flipAt - relayed] ^= 0x10;
      }
      relayed += static_cast<size_t>(n);
      EXPECT_EQ(::write(relayOut.get(), buffer, static_cast<size_t>(n)), n);
    }
    TUTTI_RETURN_IF_ERROR(b.progress(&progressed));
  }
  return recv.done ? Status::ok() : makeError(tuttiTimeout, "the message did not arrive");
}

// queueSend holds a message until the connection next progresses, so that it can leave with the
// ones posted after it; queued and posted messages arrive whole and in order, also when more
// frames are queued than one system call takes and one message is larger than the socket buffer.
void queuedAndPostedArriveInOrder(bool checksum) {
  Pair pair = makePair(2, 1000, checksum);
  constexpr size_t kMessages = 3 * TcpConnection::kFramesPerSend;
  std::vector<std::vector<uint8_t>> messages(kMessages);
  std::vector<std::vector<uint8_t>> received(kMessages);
  for (size_t i = 0; i < kMessages; ++i) {
    messages[i].resize(i == kMessages / 2 ? size_t{4} << 20 : (i * 37) % 301);
    std::iota(messages[i].begin(), messages[i].end(), static_cast<uint8_t>(i));
    received[i].resize(messages[i].size());
  }
  std::vector<TransferRequest> sends(kMessages);
  std::vector<TransferRequest> recvs(kMessages);
  std::vector<TransferRequest*> all;
  for (size_t i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(
        pair.b
            ->postRecv(hostSlice(pair.b->memoryDomain(), received[i].data(), received[i].size()),
                       &recvs[i])
            .isOk());
    all.push_back(&sends[i]);
    all.push_back(&recvs[i]);
  }
  ASSERT_TRUE(
      pair.a
          ->queueSend(hostSlice(pair.a->memoryDomain(), messages[0].data(), messages[0].size()),
                      &sends[0])
          .isOk());
  bool progressed = false;
  ASSERT_TRUE(pair.b->progress(&progressed).isOk());
  EXPECT_FALSE(recvs[0].done) << "a queued message left before its connection progressed";
  EXPECT_FALSE(sends[0].done);
  for (size_t i = 1; i < kMessages; ++i) {
    const Slice slice = hostSlice(pair.a->memoryDomain(), messages[i].data(), messages[i].size());
    ASSERT_TRUE(
        (i % 5 == 0 ? pair.a->postSend(slice, &sends[i]) : pair.a->queueSend(slice, &sends[i]))
            .isOk());
  }
  Status status = drive(pair, all);
  ASSERT_TRUE(status.isOk()) << status.message();
  for (size_t i = 0; i < kMessages; ++i) EXPECT_EQ(received[i], messages[i]) << "message " << i;
}

// A read takes up to kReadAheadBytes beyond the frames posted; receives posted afterwards are
// served from those bytes first (armWait says so rather than sleeping on an empty socket), also
// a frame that lies partly read ahead and partly still in the socket.
void receivesPostedLaterUseTheBytesReadAhead(bool checksum) {
  Pair pair = makePair(1, 1 << 20, checksum);
  const std::vector<size_t> sizes = {8, 100, 0, 3000, 10000, 1, 5000, 4};
  std::vector<std::vector<uint8_t>> messages;
  std::vector<std::vector<uint8_t>> received;
  for (size_t size : sizes) {
    messages.emplace_back(size);
    std::iota(messages.back().begin(), messages.back().end(), static_cast<uint8_t>(size));
    received.emplace_back(size);
  }
  std::vector<TransferRequest> sends(sizes.size());
  std::vector<TransferRequest> recvs(sizes.size());
  std::vector<TransferRequest*> allSends;
  for (size_t i = 0; i < sizes.size(); ++i) {
    ASSERT_TRUE(
        pair.a
            ->queueSend(hostSlice(pair.a->memoryDomain(), messages[i].data(), messages[i].size()),
                        &sends[i])
            .isOk());
    allSends.push_back(&sends[i]);
  }
  ASSERT_TRUE(drive(pair, allSends).isOk());  // every byte is in b's socket now
  auto post = [&](size_t i) {
    return pair.b->postRecv(
        hostSlice(pair.b->memoryDomain(), received[i].data(), received[i].size()), &recvs[i]);
  };
  ASSERT_TRUE(post(0).isOk());
  ASSERT_TRUE(drive(pair, {&recvs[0]}).isOk());
  ASSERT_TRUE(post(1).isOk());
  std::vector<WaitSource> sources;
  EXPECT_TRUE(pair.b->armWait(&sources)) << "message 1 was read with message 0";
  bool progressed = false;
  ASSERT_TRUE(pair.b->progress(&progressed).isOk());
  EXPECT_TRUE(recvs[1].done);
  std::vector<TransferRequest*> rest;
  for (size_t i = 2; i < sizes.size(); ++i) {
    ASSERT_TRUE(post(i).isOk());
    rest.push_back(&recvs[i]);
  }
  Status status = drive(pair, rest);
  ASSERT_TRUE(status.isOk()) << status.message();
  for (size_t i = 0; i < sizes.size(); ++i) EXPECT_EQ(received[i], messages[i]) << "message " << i;
}

TEST(TcpConnectionTest, ReceivesPostedLaterUseTheBytesReadAhead) {
  receivesPostedLaterUseTheBytesReadAhead(false);
}

TEST(TcpConnectionTest, ChecksummedReceivesPostedLaterUseTheBytesReadAhead) {
  receivesPostedLaterUseTheBytesReadAhead(true);
}

TEST(TcpConnectionTest, QueuedSendsLeaveAtProgressWholeAndInOrder) {
  queuedAndPostedArriveInOrder(false);
}

TEST(TcpConnectionTest, QueuedChecksummedSendsLeaveWholeAndInOrder) {
  queuedAndPostedArriveInOrder(true);
}

TEST(TcpConnectionTest, FlippedPayloadByteIsAnErrorNamingTheFrame) {
  std::vector<char> out(1000);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>(i * 7);
  std::vector<char> in(out.size());
  const size_t flipAt = 8 + 100;  // payload byte 100
  Status status = sendThroughFlip(true, flipAt, out, &in);
  std::vector<char> flipped = out;
  flipped[100] ^= 0x10;
  const std::string sent = fmt::format("{:08x}", crc32c(out.data(), out.size()));
  const std::string got = fmt::format("{:08x}", crc32c(flipped.data(), flipped.size()));
  EXPECT_EQ(status.code(), tuttiSystemError) << status.message();
  for (const std::string& part :
       {std::string("from rank 0"), std::string("message #0 part 1 of 1 (1000 bytes)"),
        "CRC32C " + sent, "has " + got}) {
    EXPECT_NE(status.message().find(part), std::string::npos) << part << " in " << status.message();
  }
}

TEST(TcpConnectionTest, FlippedChecksumByteIsAnError) {
  std::vector<char> out(64, 'x');
  std::vector<char> in(out.size());
  Status status = sendThroughFlip(true, 8 + 64 + 2, out, &in);
  EXPECT_EQ(status.code(), tuttiSystemError) << status.message();
  EXPECT_NE(status.message().find("corrupted"), std::string::npos) << status.message();
}

// Without checksums the same flip goes unnoticed: what TUTTI_CHECKSUM=1 is for.
TEST(TcpConnectionTest, WithoutChecksumsAFlippedByteArrives) {
  std::vector<char> out(1000, 'x');
  std::vector<char> in(out.size());
  Status status = sendThroughFlip(false, 8 + 100, out, &in);
  ASSERT_TRUE(status.isOk()) << status.message();
  EXPECT_EQ(in[100], 'x' ^ 0x10);
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

// A connection whose frame failed its check stays failed: each later progress() returns the
// same error at once. (It used to spin for ever on the frame left half credited when bytes read
// ahead followed it, which a call's failure path met when it progressed the connection again to
// read the peer's descriptor.)
TEST(TcpConnectionTest, ProgressAfterAFailedFrameReturnsTheSameError) {
  Pair pair = makePair(1, 1 << 20);
  std::vector<char> first(40, 'a'), second(200, 'b');
  std::vector<char> in(200);
  TransferRequest sends[2];
  TransferRequest recvs[2];
  ASSERT_TRUE(
      pair.a->queueSend(hostSlice(pair.a->memoryDomain(), first.data(), 40), &sends[0]).isOk());
  ASSERT_TRUE(
      pair.a->postSend(hostSlice(pair.a->memoryDomain(), second.data(), 200), &sends[1]).isOk());
  ASSERT_TRUE(drive(pair, {&sends[0], &sends[1]}).isOk());
  // Both frames are in b's socket; b expects 40 bytes, then 100 where 200 come.
  ASSERT_TRUE(pair.b->postRecv(hostSlice(pair.b->memoryDomain(), in.data(), 40), &recvs[0]).isOk());
  ASSERT_TRUE(
      pair.b->postRecv(hostSlice(pair.b->memoryDomain(), in.data() + 40, 100), &recvs[1]).isOk());
  bool progressed = false;
  Status failed = pair.b->progress(&progressed);
  ASSERT_EQ(failed.code(), tuttiInternalError) << failed.message();
  EXPECT_TRUE(recvs[0].done) << "the frame before the bad one was good";
  for (int again = 0; again < 3; ++again) {
    Status status = pair.b->progress(&progressed);
    EXPECT_EQ(status.code(), tuttiInternalError);
    EXPECT_EQ(status.message(), failed.message());
  }
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
