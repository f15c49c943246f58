// Device buffers on streams, on the emulated device (TUTTI_DEVICE=emulated): stream order (work
// queued before a collective is seen by it, work queued after it sees its result), the call's
// asynchrony, two communicators on two streams issued in opposite orders, the communicator's
// device, and the argument errors of device calls. The exact results of every type, op and
// count on device buffers are collectives_test.cc's EmulatedDevice cases.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <vector>

#include "mp/harness.h"
#include "tutti/tutti_emulated.h"

namespace tutti::test {
namespace {

constexpr size_t kCount = 100003;  // floats, a prime

// A stand-in for the kernels of a training step: fills a device buffer on the stream, after a
// delay, so that a collective that did not wait for it would read stale data.
struct Producer {
  float* device = nullptr;
  float value = 0;
};
void produce(void* arg) {
  auto* p = static_cast<Producer*>(arg);
  usleep(100 * 1000);
  for (size_t i = 0; i < kCount; ++i) p->device[i] = p->value + static_cast<float>(i % 7);
}

struct Consumer {
  const float* device = nullptr;
  float expectedBase = 0;  // every element
  std::atomic<long> wrong{-1};
};
void consume(void* arg) {
  auto* c = static_cast<Consumer*>(arg);
  long wrong = 0;
  for (size_t i = 0; i < kCount; ++i) {
    if (c->device[i] != c->expectedBase) ++wrong;
  }
  c->wrong = wrong;
}

// A rank on the emulated device: its communicator and a stream; 0, or the exit code to return.
int setUpRank(int rank, int nranks, const tuttiUniqueId& id, tuttiComm_t* comm,
              tuttiEmuStream_t* stream, int timeoutMs = 60000) {
  setenv("TUTTI_DEVICE", "emulated", 1);
  *comm = initComm(rank, nranks, id, timeoutMs);
  if (*comm == nullptr) return 2;
  CHECK_RC(tuttiEmuStreamCreate(stream));
  return 0;
}

TEST(DeviceStreamTest, CollectiveKeepsStreamOrderAndReturnsBeforeCompleting) {
  for (int nranks : {1, 2, 3}) {
    LaunchResult result = runRanks(nranks, [](int rank, int nranks, const tuttiUniqueId& id) {
      tuttiComm_t comm = nullptr;
      tuttiEmuStream_t stream = nullptr;
      if (const int failed = setUpRank(rank, nranks, id, &comm, &stream)) return failed;
      void* send = nullptr;
      void* recv = nullptr;
      CHECK_RC(tuttiMemAlloc(&send, kCount * sizeof(float)));
      CHECK_RC(tuttiMemAlloc(&recv, kCount * sizeof(float)));
      // Every rank contributes rank + 1 + i % 7; the sum is nranks(nranks+1)/2 + nranks (i % 7).
      Producer producer{static_cast<float*>(send), static_cast<float>(rank + 1)};
      CHECK_RC(tuttiEmuLaunchHostFunc(stream, produce, &producer));
      CHECK_RC(tuttiAllReduce(send, recv, kCount, tuttiFloat32, tuttiSum, comm, stream));
      // The call returned while the producer still sleeps: it only queued the work.
      if (tuttiEmuStreamSynchronize(stream, 0) != tuttiTimeout) {
        std::fprintf(stderr, "rank %d: the stream was idle right after the call\n", rank);
        return 3;
      }
      std::vector<float> host(kCount);
      CHECK_RC(tuttiEmuMemcpy(host.data(), recv, kCount * sizeof(float), stream));
      const float base = static_cast<float>(nranks * (nranks + 1) / 2);
      for (size_t i = 0; i < kCount; ++i) {
        const float expected = base + static_cast<float>(nranks) * static_cast<float>(i % 7);
        if (host[i] != expected) {
          std::fprintf(stderr, "rank %d: element %zu is %g, expected %g\n", rank, i, host[i],
                       expected);
          return 4;
        }
      }
      tuttiResult_t async = tuttiSuccess;
      CHECK_RC(tuttiCommGetAsyncError(comm, &async));
      CHECK_RC(async);
      CHECK_RC(tuttiMemFree(send));
      CHECK_RC(tuttiMemFree(recv));
      CHECK_RC(tuttiEmuStreamDestroy(stream));
      CHECK_RC(tuttiCommDestroy(comm));
      return 0;
    });
    EXPECT_TRUE(result.ok) << nranks << " ranks: " << result.failure;
  }
}

// Work queued after the collective sees its result without any synchronisation by the host.
TEST(DeviceStreamTest, WorkQueuedAfterTheCallSeesItsResult) {
  LaunchResult result = runRanks(2, [](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_DEVICE", "emulated", 1);
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 2;
    tuttiEmuStream_t stream = nullptr;
    CHECK_RC(tuttiEmuStreamCreate(&stream));
    void* buffer = nullptr;
    CHECK_RC(tuttiMemAlloc(&buffer, kCount * sizeof(float)));
    std::vector<float> ones(kCount, 1.0f);
    CHECK_RC(tuttiEmuMemcpyAsync(buffer, ones.data(), kCount * sizeof(float), stream));
    CHECK_RC(tuttiAllReduce(buffer, buffer, kCount, tuttiFloat32, tuttiSum, comm, stream));
    Consumer consumer;
    consumer.device = static_cast<const float*>(buffer);
    consumer.expectedBase = static_cast<float>(nranks);
    CHECK_RC(tuttiEmuLaunchHostFunc(stream, consume, &consumer));
    CHECK_RC(tuttiEmuStreamSynchronize(stream, 60000));
    if (consumer.wrong != 0) {
      std::fprintf(stderr, "rank %d: the work after the call saw %ld wrong elements\n", rank,
                   consumer.wrong.load());
      return 3;
    }
    CHECK_RC(tuttiMemFree(buffer));
    CHECK_RC(tuttiCommDestroy(comm));
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// Two communicators, each on a stream of its own, issued in opposite orders on the two ranks: a
// stream held by one communicator's call must not hold the other communicator (NCCL's classic
// deadlock when one thread serves both).
TEST(DeviceStreamTest, TwoCommunicatorsOnTwoStreamsInOppositeOrders) {
  LaunchResult result = runRanks(2, [](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_DEVICE", "emulated", 1);
    tuttiComm_t first = initComm(rank, nranks, id);
    if (first == nullptr) return 2;
    // A second communicator of the same ranks: rank 0's new unique id, broadcast over the first.
    tuttiUniqueId secondId;
    if (rank == 0) CHECK_RC(tuttiGetUniqueId(&secondId));
    CHECK_RC(tuttiBroadcast(&secondId, &secondId, sizeof(secondId), tuttiInt8, 0, first, nullptr));
    tuttiComm_t second = initComm(rank, nranks, secondId);
    if (second == nullptr) return 2;
    tuttiEmuStream_t streams[2] = {nullptr, nullptr};
    CHECK_RC(tuttiEmuStreamCreate(&streams[0]));
    CHECK_RC(tuttiEmuStreamCreate(&streams[1]));
    void* buffers[2] = {nullptr, nullptr};
    std::vector<float> ones(kCount, 1.0f);
    for (int b = 0; b < 2; ++b) {
      CHECK_RC(tuttiMemAlloc(&buffers[b], kCount * sizeof(float)));
      CHECK_RC(tuttiEmuMemcpy(buffers[b], ones.data(), kCount * sizeof(float), streams[b]));
    }
    tuttiComm_t comms[2] = {first, second};
    for (int k = 0; k < 2; ++k) {
      const int c = rank == 0 ? k : 1 - k;
      CHECK_RC(tuttiAllReduce(buffers[c], buffers[c], kCount, tuttiFloat32, tuttiSum, comms[c],
                              streams[c]));
    }
    for (int b = 0; b < 2; ++b) {
      CHECK_RC(tuttiEmuStreamSynchronize(streams[b], 60000));
      std::vector<float> host(kCount);
      CHECK_RC(tuttiEmuMemcpy(host.data(), buffers[b], kCount * sizeof(float), streams[b]));
      for (size_t i = 0; i < kCount; ++i) {
        if (host[i] != 2.0f) {
          std::fprintf(stderr, "rank %d: communicator %d element %zu is %g\n", rank, b, i, host[i]);
          return 3;
        }
      }
      CHECK_RC(tuttiMemFree(buffers[b]));
    }
    CHECK_RC(tuttiCommDestroy(second));
    CHECK_RC(tuttiCommDestroy(first));
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// Many calls queued on one stream before a single synchronize, as a training step queues them:
// each has its own buffers, every one's inputs are uploaded and results downloaded on the same
// stream, and all must be exact at the end.
TEST(DeviceStreamTest, ManyQueuedCallsOfMixedCollectivesBeforeOneSynchronize) {
  for (int nranks : {2, 3}) {
    LaunchResult result = runRanks(nranks, [](int rank, int nranks, const tuttiUniqueId& id) {
      tuttiComm_t comm = nullptr;
      tuttiEmuStream_t stream = nullptr;
      if (const int failed = setUpRank(rank, nranks, id, &comm, &stream)) return failed;
      constexpr int kCalls = 16;
      const size_t n = static_cast<size_t>(nranks);
      struct Call {
        int kind;  // 0 all-reduce, 1 all-gather, 2 reduce-scatter, 3 broadcast
        size_t count;
        int root;
        std::vector<int32_t> input, output;
        void* send = nullptr;
        void* recv = nullptr;
      };
      std::vector<Call> calls(kCalls);
      for (int c = 0; c < kCalls; ++c) {
        Call& call = calls[c];
        call.kind = c % 4;
        call.count = 1 + static_cast<size_t>(c) * 977;
        call.root = c % nranks;
        const size_t sendCount = call.kind == 2 ? call.count * n : call.count;
        const size_t recvCount = call.kind == 1 ? call.count * n : call.count;
        call.input.resize(sendCount);
        for (size_t i = 0; i < sendCount; ++i) {
          call.input[i] =
              static_cast<int32_t>((rank + 1) * 1000 + c * 7 + static_cast<int>(i % 101));
        }
        call.output.assign(recvCount, -1);
        CHECK_RC(tuttiMemAlloc(&call.send, sendCount * 4));
        CHECK_RC(tuttiMemAlloc(&call.recv, recvCount * 4));
        CHECK_RC(tuttiEmuMemcpyAsync(call.send, call.input.data(), sendCount * 4, stream));
        switch (call.kind) {
          case 0:
            CHECK_RC(tuttiAllReduce(call.send, call.recv, call.count, tuttiInt32, tuttiSum, comm,
                                    stream));
            break;
          case 1:
            CHECK_RC(tuttiAllGather(call.send, call.recv, call.count, tuttiInt32, comm, stream));
            break;
          case 2:
            CHECK_RC(tuttiReduceScatter(call.send, call.recv, call.count, tuttiInt32, tuttiSum,
                                        comm, stream));
            break;
          case 3:
            CHECK_RC(tuttiBroadcast(call.send, call.recv, call.count, tuttiInt32, call.root, comm,
                                    stream));
            break;
        }
        CHECK_RC(tuttiEmuMemcpyAsync(call.output.data(), call.recv, recvCount * 4, stream));
      }
      CHECK_RC(tuttiEmuStreamSynchronize(stream, 120000));
      // Rank r's input element i of call c: (r + 1) * 1000 + 7c + i % 101.
      auto input = [](int r, int c, size_t i) {
        return static_cast<int32_t>((r + 1) * 1000 + c * 7 + static_cast<int>(i % 101));
      };
      for (int c = 0; c < kCalls; ++c) {
        const Call& call = calls[c];
        for (size_t i = 0; i < call.output.size(); ++i) {
          int32_t expected = 0;
          if (call.kind == 0 || call.kind == 2) {
            const size_t at = call.kind == 2 ? static_cast<size_t>(rank) * call.count + i : i;
            for (int r = 0; r < nranks; ++r) expected += input(r, c, at);
          } else if (call.kind == 1) {
            expected = input(static_cast<int>(i / call.count), c, i % call.count);
          } else {
            expected = input(call.root, c, i);
          }
          if (call.output[i] != expected) {
            std::fprintf(stderr, "rank %d: call %d (kind %d) element %zu is %d, expected %d\n",
                         rank, c, call.kind, i, call.output[i], expected);
            return 3;
          }
        }
        CHECK_RC(tuttiMemFree(call.send));
        CHECK_RC(tuttiMemFree(call.recv));
      }
      CHECK_RC(tuttiEmuStreamDestroy(stream));
      CHECK_RC(tuttiCommDestroy(comm));
      return 0;
    });
    EXPECT_TRUE(result.ok) << nranks << " ranks: " << result.failure;
  }
}

// A peer that dies while a call is queued on a stream: the stream does not hang (the failed call
// raises the flag too), and the communicator reports the error.
// Staged, the closed connections end the call; over mapped peer memory (p2p), the barrier's
// timeout does (5 s here).
TEST(DeviceStreamTest, APeerThatDiesReleasesTheStreamWithAnError) {
  for (const char* p2pDisable : {"1", "0"}) {
    LaunchResult result = runRanks(
        2,
        [&](int rank, int nranks, const tuttiUniqueId& id) {
          setenv("TUTTI_P2P_DISABLE", p2pDisable, 1);
          tuttiComm_t comm = nullptr;
          tuttiEmuStream_t stream = nullptr;
          if (const int failed = setUpRank(rank, nranks, id, &comm, &stream, 5000)) return failed;
          if (rank == 1) _exit(0);  // gone without a word, its sockets closed by the kernel
          void* buffer = nullptr;
          CHECK_RC(tuttiMemAlloc(&buffer, kCount * sizeof(float)));
          // The peer watch may see the death before this call is queued; then the call itself
          // fails with the sticky error, which is as good as the stream being released.
          const tuttiResult_t queued =
              tuttiAllReduce(buffer, buffer, kCount, tuttiFloat32, tuttiSum, comm, stream);
          if (queued != tuttiSuccess && queued != tuttiRemoteError) {
            std::fprintf(stderr, "rank 0: queueing failed with %s, not a remote error\n",
                         tuttiGetErrorString(queued));
            return 6;
          }
          // Work after the call must run, late but not never.
          if (tuttiEmuStreamSynchronize(stream, 30000) != tuttiSuccess) {
            std::fprintf(stderr, "rank 0: the stream is still held 30 s after the peer died\n");
            return 3;
          }
          tuttiResult_t async = tuttiSuccess;
          CHECK_RC(tuttiCommGetAsyncError(comm, &async));
          if (async == tuttiSuccess || async == tuttiInProgress) {
            std::fprintf(stderr, "rank 0: no error after the peer died (%s)\n",
                         tuttiGetErrorString(async));
            return 4;
          }
          // Later calls on the stream fail at once with the sticky error.
          if (tuttiAllReduce(buffer, buffer, kCount, tuttiFloat32, tuttiSum, comm, stream) ==
              tuttiSuccess) {
            return 5;
          }
          CHECK_RC(tuttiMemFree(buffer));
          tuttiCommDestroy(comm);
          return 0;
        },
        120);
    EXPECT_TRUE(result.ok) << "TUTTI_P2P_DISABLE=" << p2pDisable << ": " << result.failure;
  }
}

// The communicator's device is the current device at init, or the launcher's local rank when
// the program set none; buffers of another device, mixed buffers and wrong streams are refused.
TEST(DeviceStreamTest, DeviceChoiceAndArgumentErrors) {
  LaunchResult result = runRanks(2, [](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_DEVICE", "emulated", 1);
    setenv("LOCAL_RANK", std::to_string(rank + 2).c_str(), 1);  // devices 2 and 3
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 2;
    const int myDevice = rank + 2;
    void* other = nullptr;  // on device 0, the thread's current device
    CHECK_RC(tuttiMemAlloc(&other, 64 * sizeof(float)));
    CHECK_RC(tuttiEmuSetDevice(myDevice));
    void* mine = nullptr;
    CHECK_RC(tuttiMemAlloc(&mine, 64 * sizeof(float)));
    tuttiEmuStream_t stream = nullptr;
    CHECK_RC(tuttiEmuStreamCreate(&stream));
    std::vector<float> host(64, 1.0f);
    tuttiHostStream_t hostStream = nullptr;
    CHECK_RC(tuttiHostStreamCreate(&hostStream));
    struct Case {
      const char* what;
      const void* send;
      void* recv;
      void* stream;
      const char* needle;  // in the message
    } cases[] = {
        {"device buffer of another device", other, other, stream, "device 0"},
        {"host sendbuff, device recvbuff", host.data(), mine, stream, "all device memory"},
        {"device sendbuff, host recvbuff", mine, host.data(), stream, "all device memory"},
        {"a host stream with device buffers", mine, mine, hostStream, "host stream"},
        {"a stream that is not live", mine, mine, reinterpret_cast<void*>(0x1234), "not a live"},
    };
    for (const Case& c : cases) {
      const tuttiResult_t rc =
          tuttiAllReduce(c.send, c.recv, 64, tuttiFloat32, tuttiSum, comm, c.stream);
      const char* message = tuttiGetLastError(comm);
      if (rc != tuttiInvalidArgument || std::strstr(message, c.needle) == nullptr) {
        std::fprintf(stderr, "rank %d: %s: got %s: %s\n", rank, c.what, tuttiGetErrorString(rc),
                     message);
        return 3;
      }
    }
    // The communicator still works after the refused calls (they are not sticky).
    CHECK_RC(tuttiEmuMemcpy(mine, host.data(), 64 * sizeof(float), stream));
    CHECK_RC(tuttiAllReduce(mine, mine, 64, tuttiFloat32, tuttiSum, comm, stream));
    CHECK_RC(tuttiEmuMemcpy(host.data(), mine, 64 * sizeof(float), stream));
    if (host[63] != static_cast<float>(nranks)) return 4;
    if (tuttiMemAlloc(nullptr, 8) != tuttiInvalidArgument) return 5;
    if (tuttiMemFree(host.data()) != tuttiInvalidArgument) return 6;
    if (tuttiEmuSetDevice(64) != tuttiInvalidArgument) return 7;
    CHECK_RC(tuttiMemFree(mine));
    CHECK_RC(tuttiMemFree(other));
    CHECK_RC(tuttiHostStreamDestroy(hostStream));
    CHECK_RC(tuttiEmuStreamDestroy(stream));
    CHECK_RC(tuttiCommDestroy(comm));
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

}  // namespace
}  // namespace tutti::test
