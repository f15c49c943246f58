// Host streams and events (tutti.h): queued collectives on host buffers give exact results and
// return at once; per-call events; a blocking call runs after queued ones; a stream's order holds
// across communicators; in-progress, timeout and failure results; bad handles.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mp/harness.h"

namespace tutti::test {
namespace {

using Clock = std::chrono::steady_clock;

int32_t value(int rank, size_t call, size_t i) {
  return static_cast<int32_t>((rank + 1) * 1000 + call * 7 + i % 97);
}

int32_t expectedSum(int nranks, size_t call, size_t i) {
  int32_t sum = 0;
  for (int r = 0; r < nranks; ++r) sum += value(r, call, i);
  return sum;
}

tuttiStream_t asStream(tuttiHostStream_t stream) { return reinterpret_cast<tuttiStream_t>(stream); }

class HostStreamRanksTest : public ::testing::TestWithParam<int> {};

// Every collective and count class (0, 1, a prime, not divisible by the ranks, large), queued on
// one stream with an event after each; then a blocking call, which must run after all of them.
TEST_P(HostStreamRanksTest, QueuedCollectivesGiveExactResults) {
  const int nranks = GetParam();
  LaunchResult result = runRanks(nranks, [&](int rank, int n, const tuttiUniqueId& id) {
    tuttiComm_t comm = initComm(rank, n, id);
    if (comm == nullptr) return 1;
    tuttiHostStream_t stream = nullptr;
    if (tuttiHostStreamCreate(&stream) != tuttiSuccess) return 2;
    const std::vector<size_t> counts = {0, 1, 131, 1000, 300007};
    struct Call {
      int kind;  // 0 all-reduce, 1 all-gather, 2 reduce-scatter
      size_t count;
      std::vector<int32_t> send, recv;
      tuttiHostEvent_t event = nullptr;
    };
    std::vector<Call> calls;
    for (int kind = 0; kind < 3; ++kind) {
      for (size_t count : counts) calls.push_back(Call{kind, count, {}, {}});
    }
    for (size_t c = 0; c < calls.size(); ++c) {
      Call& call = calls[c];
      const size_t sendCount = call.kind == 2 ? call.count * n : call.count;
      const size_t recvCount = call.kind == 1 ? call.count * n : call.count;
      call.send.resize(sendCount);
      call.recv.assign(recvCount, -1);
      for (size_t i = 0; i < sendCount; ++i) call.send[i] = value(rank, c, i);
      tuttiResult_t queued =
          call.kind == 0   ? tuttiAllReduce(call.send.data(), call.recv.data(), call.count,
                                            tuttiInt32, tuttiSum, comm, asStream(stream))
          : call.kind == 1 ? tuttiAllGather(call.send.data(), call.recv.data(), call.count,
                                            tuttiInt32, comm, asStream(stream))
                           : tuttiReduceScatter(call.send.data(), call.recv.data(), call.count,
                                                tuttiInt32, tuttiSum, comm, asStream(stream));
      if (queued != tuttiSuccess) {
        std::fprintf(stderr, "queue %zu: %s\n", c, tuttiGetLastError(comm));
        return 3;
      }
      if (tuttiHostEventCreate(&call.event) != tuttiSuccess) return 4;
      if (tuttiHostEventRecord(call.event, stream) != tuttiSuccess) return 5;
    }
    // Events complete in order; wait for the first, then the rest.
    if (tuttiHostEventSynchronize(calls.front().event, -1) != tuttiSuccess) return 6;
    std::vector<int32_t> in(777), out(777, -1);
    for (size_t i = 0; i < in.size(); ++i) in[i] = value(rank, 99, i);
    if (tuttiAllReduce(in.data(), out.data(), in.size(), tuttiInt32, tuttiSum, comm, nullptr) !=
        tuttiSuccess) {
      return 7;
    }
    for (size_t c = 0; c < calls.size(); ++c) {
      // The blocking call ran after every queued one: their events are complete.
      if (tuttiHostEventQuery(calls[c].event) != tuttiSuccess) return 8;
    }
    if (tuttiHostStreamQuery(stream) != tuttiSuccess) return 9;
    if (tuttiHostStreamSynchronize(stream, 1000) != tuttiSuccess) return 10;
    for (size_t c = 0; c < calls.size(); ++c) {
      const Call& call = calls[c];
      for (size_t i = 0; i < call.recv.size(); ++i) {
        int32_t want = 0;
        if (call.kind == 0) want = expectedSum(n, c, i);
        if (call.kind == 1) want = value(static_cast<int>(i / call.count), c, i % call.count);
        if (call.kind == 2) want = expectedSum(n, c, rank * call.count + i);
        if (call.recv[i] != want) {
          std::fprintf(stderr, "call %zu (kind %d, count %zu) [%zu] = %d, want %d\n", c, call.kind,
                       call.count, i, call.recv[i], want);
          return 11;
        }
      }
      if (tuttiHostEventDestroy(call.event) != tuttiSuccess) return 12;
    }
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i] != expectedSum(n, 99, i)) return 13;
    }
    if (tuttiHostStreamDestroy(stream) != tuttiSuccess) return 14;
    return tuttiCommDestroy(comm) == tuttiSuccess ? 0 : 15;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

INSTANTIATE_TEST_SUITE_P(Ranks, HostStreamRanksTest, ::testing::Values(1, 2, 3, 5),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "ranks";
                         });

// A stream orders calls of different communicators: rank 0 queues A's call, then B's; rank 1
// makes B's call at once (on a thread) and A's only after 300 ms. B's call must not complete on
// rank 0 before A's, though rank 1 was ready for it long before.
// Both unique ids are made after the fork and handed to the ranks: a parent that forks while a
// bootstrap root thread runs can leave a rank blocked for ever on a lock that thread held (under
// AddressSanitizer this test hung that way, on the allocator's lock).
TEST(HostStreamTest, OrderHoldsAcrossCommunicators) {
  constexpr size_t kIdBytes = sizeof(tuttiUniqueId::internal);
  const RankLaunch launch = forkRanksWithHandout(
      2,
      []() -> std::optional<std::string> {
        std::string ids;
        for (int i = 0; i < 2; ++i) {
          tuttiUniqueId id{};
          if (tuttiGetUniqueId(&id) != tuttiSuccess) return std::nullopt;
          ids.append(id.internal, kIdBytes);
        }
        return ids;
      },
      [&](int rank, const std::string& ids) {
        constexpr int n = 2;
        if (ids.size() != 2 * kIdBytes) return 16;
        tuttiUniqueId id{}, secondId{};
        std::memcpy(id.internal, ids.data(), kIdBytes);
        std::memcpy(secondId.internal, ids.data() + kIdBytes, kIdBytes);
        tuttiComm_t a = initComm(rank, n, id);
        tuttiComm_t b = initComm(rank, n, secondId);
        if (a == nullptr || b == nullptr) return 1;
        std::vector<int32_t> sendA(64, rank + 1), recvA(64, -1), sendB(64, 10 * (rank + 1)),
            recvB(64, -1);
        if (rank == 1) {
          tuttiResult_t resultB = tuttiInternalError;
          std::thread callB([&] {
            resultB =
                tuttiAllReduce(sendB.data(), recvB.data(), 64, tuttiInt32, tuttiSum, b, nullptr);
          });
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          tuttiResult_t resultA =
              tuttiAllReduce(sendA.data(), recvA.data(), 64, tuttiInt32, tuttiSum, a, nullptr);
          callB.join();
          if (resultA != tuttiSuccess || resultB != tuttiSuccess) return 2;
        } else {
          tuttiHostStream_t stream = nullptr;
          tuttiHostEvent_t eventA = nullptr, eventB = nullptr;
          if (tuttiHostStreamCreate(&stream) != tuttiSuccess ||
              tuttiHostEventCreate(&eventA) != tuttiSuccess ||
              tuttiHostEventCreate(&eventB) != tuttiSuccess) {
            return 3;
          }
          if (tuttiAllReduce(sendA.data(), recvA.data(), 64, tuttiInt32, tuttiSum, a,
                             asStream(stream)) != tuttiSuccess ||
              tuttiHostEventRecord(eventA, stream) != tuttiSuccess ||
              tuttiAllReduce(sendB.data(), recvB.data(), 64, tuttiInt32, tuttiSum, b,
                             asStream(stream)) != tuttiSuccess ||
              tuttiHostEventRecord(eventB, stream) != tuttiSuccess) {
            return 4;
          }
          const Clock::time_point deadline = Clock::now() + std::chrono::seconds(30);
          for (;;) {
            const tuttiResult_t doneB = tuttiHostEventQuery(eventB);
            const tuttiResult_t doneA = tuttiHostEventQuery(eventA);
            if (doneB == tuttiSuccess && doneA != tuttiSuccess) return 5;  // B overtook A
            if (doneA == tuttiSuccess && doneB == tuttiSuccess) break;
            if (doneA != tuttiInProgress && doneA != tuttiSuccess) return 6;
            if (Clock::now() > deadline) return 7;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
          if (tuttiHostStreamSynchronize(stream, 1000) != tuttiSuccess) return 8;
          tuttiHostEventDestroy(eventA);
          tuttiHostEventDestroy(eventB);
          tuttiHostStreamDestroy(stream);
        }
        for (int i = 0; i < 64; ++i) {
          if (recvA[i] != 3 || recvB[i] != 30) return 9;
        }
        return tuttiCommDestroy(a) == tuttiSuccess && tuttiCommDestroy(b) == tuttiSuccess ? 0 : 10;
      },
      300);
  EXPECT_TRUE(launch.ok()) << launch.error << launch.failures();
}

// A call waiting for its peer is in progress; a short synchronize times out and the call goes
// on; the full one returns its result.
TEST(HostStreamTest, InProgressThenTimeoutThenDone) {
  LaunchResult result = runRanks(2, [&](int rank, int n, const tuttiUniqueId& id) {
    tuttiComm_t comm = initComm(rank, n, id);
    if (comm == nullptr) return 1;
    std::vector<int32_t> send(1000, rank + 1), recv(1000, -1);
    if (rank == 1) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      if (tuttiAllReduce(send.data(), recv.data(), 1000, tuttiInt32, tuttiSum, comm, nullptr) !=
          tuttiSuccess) {
        return 2;
      }
    } else {
      tuttiHostStream_t stream = nullptr;
      if (tuttiHostStreamCreate(&stream) != tuttiSuccess) return 3;
      if (tuttiAllReduce(send.data(), recv.data(), 1000, tuttiInt32, tuttiSum, comm,
                         asStream(stream)) != tuttiSuccess) {
        return 4;
      }
      if (tuttiHostStreamQuery(stream) != tuttiInProgress) return 5;
      if (tuttiHostStreamSynchronize(stream, 50) != tuttiTimeout) return 6;
      if (tuttiHostStreamSynchronize(stream, -1) != tuttiSuccess) return 7;
      if (tuttiHostStreamDestroy(stream) != tuttiSuccess) return 8;
    }
    for (int32_t v : recv) {
      if (v != 3) return 9;
    }
    return tuttiCommDestroy(comm) == tuttiSuccess ? 0 : 10;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// What a host callback sees (tuttiHostStreamAddCallback).
struct CallbackSeen {
  int calls = 0;
  tuttiResult_t result = tuttiInternalError;
  std::string message = "unset";
  std::thread::id thread;
  int32_t firstValue = -1;                       // recv[0] when it ran
  tuttiResult_t eventThen = tuttiInternalError;  // the event marking the call, when it ran
  const int32_t* recv = nullptr;
  tuttiHostEvent_t event = nullptr;
};

void recordCallback(tuttiResult_t result, const char* message, void* userData) {
  auto* seen = static_cast<CallbackSeen*>(userData);
  ++seen->calls;
  seen->result = result;
  seen->message = message;
  seen->thread = std::this_thread::get_id();
  if (seen->recv != nullptr) seen->firstValue = seen->recv[0];
  if (seen->event != nullptr) seen->eventThen = tuttiHostEventQuery(seen->event);
}

// A callback runs once, on the progress thread, after the call's result is in its buffer and
// before the event marking the call completes; on an empty stream it runs at once.
TEST(HostStreamTest, CallbackRunsOnceBeforeTheEventCompletes) {
  LaunchResult result = runRanks(2, [&](int rank, int n, const tuttiUniqueId& id) {
    tuttiComm_t comm = initComm(rank, n, id);
    if (comm == nullptr) return 1;
    std::vector<int32_t> send(1000, rank + 1), recv(1000, -1);
    if (rank == 1) {
      // Late, so that rank 0's callback cannot have run when it is added.
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      if (tuttiAllReduce(send.data(), recv.data(), 1000, tuttiInt32, tuttiSum, comm, nullptr) !=
          tuttiSuccess) {
        return 2;
      }
      return tuttiCommDestroy(comm) == tuttiSuccess ? 0 : 3;
    }
    tuttiHostStream_t stream = nullptr;
    tuttiHostEvent_t event = nullptr;
    if (tuttiHostStreamCreate(&stream) != tuttiSuccess) return 4;
    if (tuttiHostEventCreate(&event) != tuttiSuccess) return 5;
    CallbackSeen empty;
    if (tuttiHostStreamAddCallback(stream, recordCallback, &empty) != tuttiSuccess) return 6;
    if (empty.calls != 1 || empty.result != tuttiSuccess ||
        empty.thread != std::this_thread::get_id()) {
      return 7;  // nothing queued: at once, here
    }
    if (tuttiAllReduce(send.data(), recv.data(), 1000, tuttiInt32, tuttiSum, comm,
                       asStream(stream)) != tuttiSuccess) {
      return 8;
    }
    if (tuttiHostEventRecord(event, stream) != tuttiSuccess) return 9;
    CallbackSeen seen;
    seen.recv = recv.data();
    seen.event = event;
    if (tuttiHostStreamAddCallback(stream, recordCallback, &seen) != tuttiSuccess) return 10;
    if (tuttiHostEventSynchronize(event, 15000) != tuttiSuccess) return 11;
    if (seen.calls != 1 || seen.result != tuttiSuccess || !seen.message.empty()) return 12;
    if (seen.thread == std::this_thread::get_id()) return 13;  // the progress thread's
    if (seen.firstValue != 3) return 14;                       // the result was there
    if (seen.eventThen != tuttiInProgress) return 15;          // before the event completed
    // Added after completion: at once, with the call's result.
    CallbackSeen late;
    if (tuttiHostStreamAddCallback(stream, recordCallback, &late) != tuttiSuccess) return 16;
    if (late.calls != 1 || late.result != tuttiSuccess) return 17;
    tuttiHostEventDestroy(event);
    tuttiHostStreamDestroy(stream);
    return tuttiCommDestroy(comm) == tuttiSuccess ? 0 : 18;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// A queued call whose peer exits fails: the stream, its event and the communicator say so, and
// the stream's error stays.
TEST(HostStreamTest, AFailedCallIsTheStreamsStickyError) {
  // Rank 1 leaves only once rank 0's call is queued: had the watch already found it gone, the
  // call would fail when it is made, and never reach the stream.
  void* memory = mmap(nullptr, sizeof(std::atomic<int>), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(memory, MAP_FAILED);
  auto* queued = new (memory) std::atomic<int>(0);
  LaunchResult result = runRanks(2, [&](int rank, int n, const tuttiUniqueId& id) {
    tuttiComm_t comm = initComm(rank, n, id, 20000);
    if (comm == nullptr) return 1;
    if (rank == 1) {
      const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(15);
      while (queued->load() == 0 && std::chrono::steady_clock::now() < giveUp) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      _exit(0);  // gone without a word: its connections close
    }
    std::vector<int32_t> send(1000, 1), recv(1000, -1);
    tuttiHostStream_t stream = nullptr;
    tuttiHostEvent_t event = nullptr;
    if (tuttiHostStreamCreate(&stream) != tuttiSuccess) return 2;
    if (tuttiHostEventCreate(&event) != tuttiSuccess) return 3;
    const tuttiResult_t made = tuttiAllReduce(send.data(), recv.data(), 1000, tuttiInt32, tuttiSum,
                                              comm, asStream(stream));
    queued->store(1);
    if (made != tuttiSuccess) return 4;
    if (tuttiHostEventRecord(event, stream) != tuttiSuccess) return 5;
    CallbackSeen seen;
    if (tuttiHostStreamAddCallback(stream, recordCallback, &seen) != tuttiSuccess) return 5;
    const tuttiResult_t synced = tuttiHostStreamSynchronize(stream, 15000);
    if (synced != tuttiRemoteError && synced != tuttiSystemError) {
      std::fprintf(stderr, "synchronize: %d (%s)\n", synced, tuttiGetLastError(nullptr));
      return 6;
    }
    if (tuttiHostStreamQuery(stream) != synced) return 7;
    if (tuttiHostEventQuery(event) != synced) return 8;
    if (seen.calls != 1 || seen.result != synced || seen.message.empty()) return 8;
    tuttiResult_t asyncError = tuttiSuccess;
    if (tuttiCommGetAsyncError(comm, &asyncError) != tuttiSuccess || asyncError != synced) {
      return 9;
    }
    tuttiHostEventDestroy(event);
    tuttiHostStreamDestroy(stream);
    tuttiCommDestroy(comm);
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
  munmap(memory, sizeof(std::atomic<int>));
}

TEST(HostStreamTest, BadHandlesAreClearErrors) {
  EXPECT_EQ(tuttiHostStreamCreate(nullptr), tuttiInvalidArgument);
  EXPECT_EQ(tuttiHostEventCreate(nullptr), tuttiInvalidArgument);
  EXPECT_EQ(tuttiHostStreamSynchronize(nullptr, 0), tuttiInvalidArgument);
  EXPECT_EQ(tuttiHostStreamQuery(nullptr), tuttiInvalidArgument);
  EXPECT_EQ(tuttiHostStreamDestroy(nullptr), tuttiInvalidArgument);
  EXPECT_EQ(tuttiHostEventQuery(nullptr), tuttiInvalidArgument);
  EXPECT_EQ(tuttiHostEventSynchronize(nullptr, 0), tuttiInvalidArgument);
  EXPECT_EQ(tuttiHostEventDestroy(nullptr), tuttiInvalidArgument);
  EXPECT_EQ(tuttiHostStreamAddCallback(nullptr, recordCallback, nullptr), tuttiInvalidArgument);
  tuttiHostStream_t stream = nullptr;
  tuttiHostEvent_t event = nullptr;
  ASSERT_EQ(tuttiHostStreamCreate(&stream), tuttiSuccess);
  ASSERT_EQ(tuttiHostEventCreate(&event), tuttiSuccess);
  // Nothing queued: complete; an event never recorded or recorded on an empty stream: complete.
  EXPECT_EQ(tuttiHostStreamQuery(stream), tuttiSuccess);
  EXPECT_EQ(tuttiHostStreamSynchronize(stream, 0), tuttiSuccess);
  EXPECT_EQ(tuttiHostEventQuery(event), tuttiSuccess);
  EXPECT_EQ(tuttiHostEventRecord(event, stream), tuttiSuccess);
  EXPECT_EQ(tuttiHostEventSynchronize(event, 0), tuttiSuccess);
  EXPECT_EQ(tuttiHostEventRecord(event, nullptr), tuttiInvalidArgument);
  EXPECT_EQ(tuttiHostEventRecord(reinterpret_cast<tuttiHostEvent_t>(stream), stream),
            tuttiInvalidArgument);
  EXPECT_EQ(tuttiHostStreamAddCallback(stream, nullptr, nullptr), tuttiInvalidArgument);
  EXPECT_EQ(tuttiHostEventDestroy(event), tuttiSuccess);
  EXPECT_EQ(tuttiHostEventQuery(event), tuttiInvalidArgument) << "destroyed";
  EXPECT_EQ(tuttiHostStreamDestroy(stream), tuttiSuccess);
  EXPECT_EQ(tuttiHostStreamQuery(stream), tuttiInvalidArgument) << "destroyed";
  EXPECT_EQ(tuttiHostStreamDestroy(stream), tuttiInvalidArgument) << "destroyed twice";
}

// A stream argument that is not a host stream (a CUDA stream, garbage) with host buffers is
// tuttiInvalidUsage, and nothing is queued.
TEST(HostStreamTest, AForeignStreamIsInvalidUsage) {
  LaunchResult result = runRanks(1, [&](int rank, int n, const tuttiUniqueId& id) {
    tuttiComm_t comm = initComm(rank, n, id);
    if (comm == nullptr) return 1;
    int32_t send[4] = {1, 2, 3, 4}, recv[4] = {};
    int notAStream = 0;
    if (tuttiAllReduce(send, recv, 4, tuttiInt32, tuttiSum, comm, &notAStream) !=
        tuttiInvalidUsage) {
      return 2;
    }
    if (std::string(tuttiGetLastError(comm)).find("host stream") == std::string::npos) return 3;
    if (tuttiAllReduce(send, recv, 4, tuttiInt32, tuttiSum, comm, nullptr) != tuttiSuccess) {
      return 4;  // not sticky
    }
    return tuttiCommDestroy(comm) == tuttiSuccess ? 0 : 5;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

}  // namespace
}  // namespace tutti::test
