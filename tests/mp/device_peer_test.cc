// Point-to-point calls on device buffers (TUTTI_DEVICE=emulated): a group of sends and receives
// with a different count for every pair, self and zero included, queued on a device stream as
// one all-to-all-v; ungrouped calls in matching orders; and the errors of device groups.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "mp/harness.h"
#include "tutti/tutti_emulated.h"

namespace tutti::test {
namespace {

// Elements rank `from` sends to rank `to`: 0 for some pairs, up to a few thousand (some above
// the pinned pool's smallest buffer), never the same for both directions of a pair.
size_t pairCount(int from, int to) {
  const size_t k = static_cast<size_t>(from * 7 + to * 3) % 6;
  return k == 0 ? 0 : k * k * 97 + static_cast<size_t>(from);
}
int32_t pairValue(int from, int to, size_t i) {
  return from * 1000003 + to * 10007 + static_cast<int32_t>(i);
}

class DevicePeerTest : public ::testing::TestWithParam<std::tuple<int, const char*>> {};

TEST_P(DevicePeerTest, AllToAllVGroupOnAStreamIsExact) {
  const int nranks = std::get<0>(GetParam());
  const std::string transport = std::get<1>(GetParam());
  LaunchResult result = runRanks(nranks, [&](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_DEVICE", "emulated", 1);
    setenv("TUTTI_TRANSPORT", transport.c_str(), 1);
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 2;
    tuttiEmuStream_t stream = nullptr;
    CHECK_RC(tuttiEmuStreamCreate(&stream));
    std::vector<size_t> sendAt(nranks + 1, 0), recvAt(nranks + 1, 0);
    for (int p = 0; p < nranks; ++p) {
      sendAt[p + 1] = sendAt[p] + pairCount(rank, p);
      recvAt[p + 1] = recvAt[p] + pairCount(p, rank);
    }
    std::vector<int32_t> input(sendAt[nranks] + 1);
    for (int p = 0; p < nranks; ++p) {
      for (size_t i = 0; i < pairCount(rank, p); ++i) input[sendAt[p] + i] = pairValue(rank, p, i);
    }
    void* send = nullptr;
    void* recv = nullptr;
    CHECK_RC(tuttiMemAlloc(&send, input.size() * sizeof(int32_t)));
    CHECK_RC(tuttiMemAlloc(&recv, (recvAt[nranks] + 1) * sizeof(int32_t)));
    CHECK_RC(tuttiEmuMemcpy(send, input.data(), input.size() * sizeof(int32_t), stream));
    for (int round = 0; round < 3; ++round) {  // staging buffers reused between rounds
      std::vector<int32_t> output(recvAt[nranks] + 1, -1);
      CHECK_RC(tuttiEmuMemcpy(recv, output.data(), output.size() * sizeof(int32_t), stream));
      CHECK_RC(tuttiGroupStart());
      for (int k = 0; k < nranks; ++k) {
        // Receives first on even ranks, sends first on odd ones: order inside a group is free.
        const int p = (rank + k) % nranks;
        auto* sendAtP = static_cast<int32_t*>(send) + sendAt[p];
        auto* recvAtP = static_cast<int32_t*>(recv) + recvAt[p];
        if (rank % 2 == 0) {
          CHECK_RC(tuttiRecv(recvAtP, pairCount(p, rank), tuttiInt32, p, comm, stream));
          CHECK_RC(tuttiSend(sendAtP, pairCount(rank, p), tuttiInt32, p, comm, stream));
        } else {
          CHECK_RC(tuttiSend(sendAtP, pairCount(rank, p), tuttiInt32, p, comm, stream));
          CHECK_RC(tuttiRecv(recvAtP, pairCount(p, rank), tuttiInt32, p, comm, stream));
        }
      }
      CHECK_RC(tuttiGroupEnd());
      CHECK_RC(tuttiEmuMemcpy(output.data(), recv, output.size() * sizeof(int32_t), stream));
      for (int p = 0; p < nranks; ++p) {
        for (size_t i = 0; i < pairCount(p, rank); ++i) {
          if (output[recvAt[p] + i] != pairValue(p, rank, i)) {
            std::fprintf(stderr, "rank %d round %d: element %zu from %d is %d, expected %d\n", rank,
                         round, i, p, output[recvAt[p] + i], pairValue(p, rank, i));
            return 3;
          }
        }
      }
      if (output[recvAt[nranks]] != -1) return 4;  // nothing written past the last block
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
  EXPECT_TRUE(result.ok) << result.failure;
}

INSTANTIATE_TEST_SUITE_P(Ranks, DevicePeerTest,
                         ::testing::Combine(::testing::Values(1, 2, 3, 5),
                                            ::testing::Values("shm", "tcp")),
                         ranksTransportName);

// Ungrouped calls on a stream in orders that match (rank 0 sends then receives, rank 1 the
// reverse), with the device's default stream (NULL) for one of them; then the refused calls.
TEST(DevicePeerErrorsTest, UngroupedCallsAndRefusals) {
  LaunchResult result = runRanks(2, [](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_DEVICE", "emulated", 1);
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 2;
    constexpr size_t kCount = 4099;
    tuttiEmuStream_t stream = nullptr;
    CHECK_RC(tuttiEmuStreamCreate(&stream));
    void* mine = nullptr;
    void* theirs = nullptr;
    CHECK_RC(tuttiMemAlloc(&mine, kCount * sizeof(double)));
    CHECK_RC(tuttiMemAlloc(&theirs, kCount * sizeof(double)));
    std::vector<double> values(kCount);
    for (size_t i = 0; i < kCount; ++i) values[i] = rank * 1e6 + static_cast<double>(i);
    CHECK_RC(tuttiEmuMemcpy(mine, values.data(), kCount * sizeof(double), stream));
    const int peer = 1 - rank;
    if (rank == 0) {
      CHECK_RC(tuttiSend(mine, kCount, tuttiFloat64, peer, comm, stream));
      CHECK_RC(tuttiRecv(theirs, kCount, tuttiFloat64, peer, comm, stream));
    } else {
      CHECK_RC(tuttiRecv(theirs, kCount, tuttiFloat64, peer, comm, stream));
      CHECK_RC(tuttiSend(mine, kCount, tuttiFloat64, peer, comm, stream));
    }
    CHECK_RC(tuttiEmuMemcpy(values.data(), theirs, kCount * sizeof(double), stream));
    for (size_t i = 0; i < kCount; ++i) {
      if (values[i] != peer * 1e6 + static_cast<double>(i)) return 3;
    }
    // A device buffer with a host stream, host and device buffers in one group, a device
    // buffer of another device: refused, and the communicator goes on working.
    tuttiHostStream_t hostStream = nullptr;
    CHECK_RC(tuttiHostStreamCreate(&hostStream));
    if (tuttiSend(mine, kCount, tuttiFloat64, peer, comm, hostStream) != tuttiInvalidArgument ||
        std::strstr(tuttiGetLastError(comm), "host stream") == nullptr) {
      std::fprintf(stderr, "rank %d: host stream: %s\n", rank, tuttiGetLastError(comm));
      return 4;
    }
    std::vector<double> host(kCount);
    CHECK_RC(tuttiGroupStart());
    CHECK_RC(tuttiSend(mine, kCount, tuttiFloat64, peer, comm, nullptr));
    CHECK_RC(tuttiRecv(host.data(), kCount, tuttiFloat64, peer, comm, nullptr));
    if (tuttiGroupEnd() != tuttiInvalidUsage ||
        std::strstr(tuttiGetLastError(comm), "device memory and the others host") == nullptr) {
      std::fprintf(stderr, "rank %d: mixed group: %s\n", rank, tuttiGetLastError(comm));
      return 5;
    }
    CHECK_RC(tuttiEmuSetDevice(1));
    void* elsewhere = nullptr;
    CHECK_RC(tuttiMemAlloc(&elsewhere, 64));
    if (tuttiSend(elsewhere, 8, tuttiFloat64, peer, comm, stream) != tuttiInvalidArgument ||
        std::strstr(tuttiGetLastError(comm), "device 1") == nullptr) {
      std::fprintf(stderr, "rank %d: other device: %s\n", rank, tuttiGetLastError(comm));
      return 6;
    }
    CHECK_RC(tuttiMemFree(elsewhere));
    CHECK_RC(tuttiEmuSetDevice(0));
    CHECK_RC(tuttiGroupStart());
    CHECK_RC(tuttiSend(mine, kCount, tuttiFloat64, peer, comm, nullptr));  // the default stream
    CHECK_RC(tuttiRecv(theirs, kCount, tuttiFloat64, peer, comm, nullptr));
    CHECK_RC(tuttiGroupEnd());
    CHECK_RC(tuttiEmuMemcpy(values.data(), theirs, kCount * sizeof(double), nullptr));
    if (values[kCount - 1] != peer * 1e6 + static_cast<double>(kCount - 1)) return 7;
    CHECK_RC(tuttiHostStreamDestroy(hostStream));
    CHECK_RC(tuttiMemFree(mine));
    CHECK_RC(tuttiMemFree(theirs));
    CHECK_RC(tuttiEmuStreamDestroy(stream));
    CHECK_RC(tuttiCommDestroy(comm));
    return 0;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

}  // namespace
}  // namespace tutti::test
