// The ucx transport's own behaviour beyond the interface tests (transport_test.cc runs those
// over ucx too): its tags, a shutdown from another thread ending a rank's wait at once, and the
// worker's progress thread moving a rank's sends, and applying a peer's puts, while the rank
// itself is away.
#include "transports/ucx/ucx_connection.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include "transports/fake_setup_channel.h"
#include "transports/progress_engine.h"
#include "transports/test_memory.h"
#include "transports/ucx/ucx_transport.h"

namespace tutti {
namespace {

// Runs body on two ranks (threads) joined by the ucx transport, then a barrier so that nobody
// closes while the other still moves messages.
void runPair(const std::function<void(int rank, SetupChannel& setup, Connection* peer)>& body) {
  FakeSetupGroup group(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      std::unique_ptr<SetupChannel> setup = group.channel(r);
      UcxTransport transport;
      std::vector<std::unique_ptr<Connection>> connections;
      Status status = transport.connect(*setup, {1 - r}, &connections);
      ASSERT_TRUE(status.isOk()) << status.message();
      ASSERT_EQ(connections.size(), 1u);
      body(r, *setup, connections[0].get());
      ASSERT_TRUE(setup->barrier().isOk());
    });
  }
  for (auto& thread : threads) thread.join();
}

// Progresses connection until every request is done: an error, or tuttiTimeout after 10 s
// without progress.
Status waitForAll(Connection* connection, const std::vector<TransferRequest>& requests) {
  ProgressEngine engine(WaitPolicy{0, 0, 10000}, nullptr);
  std::vector<Connection*> all = {connection};
  engine.drive(all);
  auto allDone = [&] {
    for (const TransferRequest& request : requests) {
      if (!request.done) return false;
    }
    return true;
  };
  while (!allDone()) {
    bool progressed = false;
    TUTTI_RETURN_IF_ERROR(engine.poll(&progressed));
    if (!progressed && engine.idle() == ProgressEngine::Idle::kTimedOut) {
      return makeError(tuttiTimeout, "{}", connection->describePending());
    }
  }
  return Status::ok();
}

TEST(UcxConnectionTest, TagsNameTheSenderAndTheMessagesPlace) {
  EXPECT_EQ(UcxConnection::tagOf(0, 0), 0u);
  EXPECT_EQ(UcxConnection::tagOf(3, 17), (uint64_t{3} << 40) | 17);
  EXPECT_NE(UcxConnection::tagOf(1, 5), UcxConnection::tagOf(2, 5));
  // The sequence number wraps within its 40 bits instead of running into the sender's.
  EXPECT_EQ(UcxConnection::tagOf(2, (uint64_t{1} << 40) + 9), UcxConnection::tagOf(2, 9));
}

// Rank 0 waits for a message rank 1 never sends, asleep on the worker's event descriptor;
// shutdown() from another thread (as an abort or the watch's verdict calls it) must end the wait
// with an error at once, not at the 20 s timeout.
TEST(UcxConnectionTest, AShutdownFromAnotherThreadEndsAWaitAtOnce) {
  Status waited = Status::ok();
  long waitedMs = -1;
  runPair([&](int r, SetupChannel& setup, Connection* connection) {
    if (r == 0) {
      std::vector<uint8_t> buffer(100);
      TransferRequest request;
      ASSERT_TRUE(
          connection->postRecv(hostSlice(connection->memoryDomain(), buffer.data(), 100), &request)
              .isOk());
      std::thread stopper([connection] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        connection->shutdown();
      });
      const auto start = std::chrono::steady_clock::now();
      ProgressEngine engine(WaitPolicy{0, 0, 20000}, nullptr);
      std::vector<Connection*> all = {connection};
      engine.drive(all);
      for (;;) {
        bool progressed = false;
        waited = engine.poll(&progressed);
        if (!waited.isOk() || request.done) break;
        if (!progressed && engine.idle() == ProgressEngine::Idle::kTimedOut) {
          waited = makeError(tuttiTimeout, "timed out");
          break;
        }
      }
      waitedMs = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - start)
                                       .count());
      stopper.join();
      EXPECT_FALSE(request.done);
    }
  });
  EXPECT_EQ(waited.code(), tuttiRemoteError) << waited.message();
  EXPECT_NE(waited.message().find("shut down"), std::string::npos) << waited.message();
  EXPECT_GE(waitedMs, 250);
  EXPECT_LT(waitedMs, 5000);
}

// Over UCX's TCP transport, a send's bytes and its rendezvous need the sender's worker
// progressed. Rank 0 posts its sends and then stays away in the setup channel's barrier, as a
// rank whose call has returned stays away from Tutti; rank 1 must still receive every message,
// exact, within the timeout: the worker's own thread progresses rank 0's side meanwhile.
TEST(UcxConnectionTest, TheWorkersThreadMovesARanksSendsWhileTheRankIsAway) {
  setenv("UCX_TLS", "tcp,self", 1);  // read at connect
  constexpr int kMessages = 16;
  constexpr size_t kBytes = 256 << 10;
  Status received = Status::ok();
  size_t wrong = 0;
  runPair([&](int r, SetupChannel& setup, Connection* connection) {
    std::vector<std::vector<uint8_t>> buffers(kMessages, std::vector<uint8_t>(kBytes));
    std::vector<TransferRequest> requests(kMessages);
    if (r == 0) {
      for (int m = 0; m < kMessages; ++m) {
        for (size_t i = 0; i < kBytes; ++i) buffers[m][i] = static_cast<uint8_t>(m * 7 + i);
        ASSERT_TRUE(connection
                        ->postSend(hostSlice(connection->memoryDomain(), buffers[m].data(), kBytes),
                                   &requests[m])
                        .isOk());
      }
      ASSERT_TRUE(setup.barrier().isOk());  // away until rank 1 has every message
    } else {
      for (int m = 0; m < kMessages; ++m) {
        ASSERT_TRUE(connection
                        ->postRecv(hostSlice(connection->memoryDomain(), buffers[m].data(), kBytes),
                                   &requests[m])
                        .isOk());
      }
      received = waitForAll(connection, requests);
      for (int m = 0; m < kMessages; ++m) {
        for (size_t i = 0; i < kBytes; ++i) {
          if (buffers[m][i] != static_cast<uint8_t>(m * 7 + i)) ++wrong;
        }
      }
      ASSERT_TRUE(setup.barrier().isOk());
    }
  });
  unsetenv("UCX_TLS");
  EXPECT_TRUE(received.isOk()) << received.message();
  EXPECT_EQ(wrong, 0u);
}

// Puts over UCX's TCP transport are active messages that the owner's worker applies. Rank 1 puts
// 24 slices into rank 0's window, each raising signal 5, while rank 0 stays away in a barrier
// and never progresses its connection itself: the worker's thread must apply them all, the data
// before each signal, so that rank 0 finds the count and the bytes whole when it comes back.
TEST(UcxConnectionTest, PutsLandWhileTheOwnerIsAway) {
  setenv("UCX_TLS", "tcp,self", 1);  // read at connect
  constexpr int kPuts = 24;
  constexpr size_t kSlice = 128 << 10;
  auto expected = [](size_t i) { return static_cast<uint8_t>(i * 13 + i / kSlice); };
  Status put = Status::ok();
  uint64_t signalled = 0;
  size_t wrong = 0;
  runPair([&](int r, SetupChannel& setup, Connection* connection) {
    ASSERT_TRUE(connection->supportsPut());
    std::vector<uint8_t> window(kPuts * kSlice, 0);
    std::vector<RemoteMemory> exported(2);
    if (r == 0) {
      const Registration* registration = nullptr;
      ASSERT_TRUE(connection->memoryDomain()
                      .registerMemory(Memory{window.data(), window.size(), MemoryKind::kHost, -1},
                                      &registration)
                      .isOk());
      ASSERT_TRUE(connection->exportMemory(*registration, &exported[0]).isOk());
    }
    ASSERT_TRUE(setup.allGather(exported.data(), sizeof(RemoteMemory)).isOk());
    if (r == 0) {
      ASSERT_TRUE(setup.barrier().isOk());  // away while rank 1 puts
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (connection->readSignal(5) < kPuts && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      signalled = connection->readSignal(5);
      for (size_t i = 0; i < window.size(); ++i) wrong += window[i] != expected(i);
      EXPECT_EQ(connection->readSignal(4), 0u);
    } else {
      for (size_t i = 0; i < window.size(); ++i) window[i] = expected(i);
      std::vector<TransferRequest> requests(kPuts);
      for (int p = 0; p < kPuts; ++p) {
        put = connection->putWithSignal(
            hostSlice(connection->memoryDomain(), window.data() + p * kSlice, kSlice), exported[0],
            p * kSlice, 5, &requests[p]);
        // Not ASSERT: the barrier below must still be reached, and the posted puts waited for.
        EXPECT_TRUE(put.isOk()) << put.message();
        if (!put.isOk()) break;
      }
      if (put.isOk()) put = waitForAll(connection, requests);
      ASSERT_TRUE(setup.barrier().isOk());
    }
  });
  unsetenv("UCX_TLS");
  EXPECT_TRUE(put.isOk()) << put.message();
  EXPECT_EQ(signalled, static_cast<uint64_t>(kPuts));
  EXPECT_EQ(wrong, 0u);
}

}  // namespace
}  // namespace tutti
