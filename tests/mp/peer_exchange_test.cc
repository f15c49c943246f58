// Point-to-point sends and receives and NCCL's group semantics across forked ranks: grouped
// sends and receives of different sizes per peer (an all-to-all-v, the rank itself included)
// with exact bytes, several messages to one peer matched in issue order, nested groups run at the
// outermost end, an empty group, calls outside a group, and the errors: tuttiGroupEnd without
// tuttiGroupStart, peers out of range, unpaired calls to self. Over shm and tcp, 1 to 8 ranks.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "mp/harness.h"

namespace tutti::test {
namespace {

// Elements rank `from` sends to rank `to` in all-to-all-v round `round`: 0 to a few hundred
// thousand, different per pair and direction, 0 for some pairs.
size_t countOf(int from, int to, int round) {
  const size_t sizes[] = {0, 1, 7, 131, 4099, 70001, 300007};
  return sizes[(static_cast<size_t>(from) * 5 + static_cast<size_t>(to) * 3 + round) % 7];
}

// The value of element i of the message from `from` to `to`.
int32_t valueOf(int from, int to, size_t i) {
  return static_cast<int32_t>((static_cast<uint32_t>(from) * 0x9E3779B1u) ^
                              (static_cast<uint32_t>(to) * 0x85EBCA77u) ^
                              static_cast<uint32_t>(i * 2654435761u));
}

class PeerExchangeTest : public ::testing::TestWithParam<std::tuple<int, const char*>> {};

// Grouped sends and receives with a different count per pair form an all-to-all-v: it completes
// (no deadlock, even where every rank sends hundreds of KiB before any receive) and every
// received element is exact. Sends are issued in one order and receives in another.
TEST_P(PeerExchangeTest, GroupedSendsAndReceivesFormAnAllToAllV) {
  const int nranks = std::get<0>(GetParam());
  const std::string transport = std::get<1>(GetParam());
  LaunchResult result = runRanks(nranks, [&](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_TRANSPORT", transport.c_str(), 1);
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 2;
    long wrong = 0;
    for (int round = 0; round < 3; ++round) {
      std::vector<std::vector<int32_t>> out(nranks), in(nranks);
      if (tuttiGroupStart() != tuttiSuccess) return 3;
      for (int k = 0; k < nranks; ++k) {
        const int to = (rank + k) % nranks;
        out[to].resize(countOf(rank, to, round));
        for (size_t i = 0; i < out[to].size(); ++i) out[to][i] = valueOf(rank, to, i);
        if (tuttiSend(out[to].data(), out[to].size(), tuttiInt32, to, comm, nullptr) !=
            tuttiSuccess) {
          return 3;
        }
      }
      for (int k = 0; k < nranks; ++k) {
        const int from = (rank + nranks - k) % nranks;
        in[from].assign(countOf(from, rank, round), -1);
        if (tuttiRecv(in[from].data(), in[from].size(), tuttiInt32, from, comm, nullptr) !=
            tuttiSuccess) {
          return 3;
        }
      }
      const tuttiResult_t rc = tuttiGroupEnd();
      if (rc != tuttiSuccess) {
        std::fprintf(stderr, "rank %d: tuttiGroupEnd: %s\n", rank, tuttiGetLastError(comm));
        return 3;
      }
      for (int from = 0; from < nranks; ++from) {
        for (size_t i = 0; i < in[from].size(); ++i) wrong += in[from][i] != valueOf(from, rank, i);
      }
    }
    if (wrong > 0) std::fprintf(stderr, "rank %d: %ld wrong elements\n", rank, wrong);
    tuttiCommDestroy(comm);
    return wrong == 0 ? 0 : 1;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

INSTANTIATE_TEST_SUITE_P(Ranks, PeerExchangeTest,
                         ::testing::Combine(::testing::Values(1, 2, 3, 5, 8),
                                            ::testing::Values("shm", "tcp")),
                         ranksTransportName);

// Several messages between two ranks are matched in the order each end issued them; nested
// groups run at the outermost end (two large sends in an inner group, whose receives are in the
// outer one, would wait for each other if the inner end ran them); an empty group succeeds;
// send and receive outside a group run at once; a rank sends to itself inside a group.
TEST(PeerExchangeSemanticsTest, OrderNestingEmptyGroupsSelfAndUngroupedCalls) {
  for (const char* transport : {"shm", "tcp"}) {
    LaunchResult result = runRanks(2, [&](int rank, int nranks, const tuttiUniqueId& id) {
      setenv("TUTTI_TRANSPORT", transport, 1);
      tuttiComm_t comm = initComm(rank, nranks, id);
      if (comm == nullptr) return 2;
      const int peer = 1 - rank;
      int failures = 0;
      // Three messages to the peer, the middle one empty: matched in issue order.
      const size_t counts[] = {5, 0, 100000};
      std::vector<std::vector<int32_t>> out(3), in(3);
      failures += tuttiGroupStart() != tuttiSuccess;
      for (int m = 0; m < 3; ++m) {
        out[m].resize(counts[m]);
        for (size_t i = 0; i < counts[m]; ++i) out[m][i] = valueOf(rank, m, i);
        in[m].assign(counts[m], -1);
        failures += tuttiSend(out[m].data(), counts[m], tuttiInt32, peer, comm, nullptr);
      }
      for (int m = 0; m < 3; ++m) {
        failures += tuttiRecv(in[m].data(), counts[m], tuttiInt32, peer, comm, nullptr);
      }
      failures += tuttiGroupEnd() != tuttiSuccess;
      for (int m = 0; m < 3; ++m) {
        for (size_t i = 0; i < counts[m]; ++i) failures += in[m][i] != valueOf(peer, m, i);
      }
      // Nested: both ranks send 8 MiB in an inner group and receive in the outer one.
      std::vector<char> big(8 << 20, static_cast<char>(rank + 1)), got(8 << 20, 0);
      failures += tuttiGroupStart() != tuttiSuccess;
      failures += tuttiGroupStart() != tuttiSuccess;
      failures += tuttiSend(big.data(), big.size(), tuttiUint8, peer, comm, nullptr);
      failures += tuttiGroupEnd() != tuttiSuccess;  // closes the inner level only
      failures += tuttiRecv(got.data(), got.size(), tuttiUint8, peer, comm, nullptr);
      failures += tuttiGroupEnd() != tuttiSuccess;
      failures += got != std::vector<char>(8 << 20, static_cast<char>(peer + 1));
      // Empty groups, nested too.
      failures += tuttiGroupStart() != tuttiSuccess || tuttiGroupEnd() != tuttiSuccess;
      failures += tuttiGroupStart() != tuttiSuccess || tuttiGroupStart() != tuttiSuccess ||
                  tuttiGroupEnd() != tuttiSuccess || tuttiGroupEnd() != tuttiSuccess;
      // Outside a group: rank 0 sends, rank 1 receives, then back.
      double x = rank == 0 ? 2.5 : 0;
      if (rank == 0) {
        failures += tuttiSend(&x, 1, tuttiFloat64, 1, comm, nullptr) != tuttiSuccess;
        failures += tuttiRecv(&x, 1, tuttiFloat64, 1, comm, nullptr) != tuttiSuccess;
        failures += x != 5.0;
      } else {
        failures += tuttiRecv(&x, 1, tuttiFloat64, 0, comm, nullptr) != tuttiSuccess;
        x *= 2;
        failures += tuttiSend(&x, 1, tuttiFloat64, 0, comm, nullptr) != tuttiSuccess;
      }
      // To itself inside a group, with a message to the peer beside it.
      int64_t self = 40 + rank, selfIn = 0, fromPeer = 0;
      failures += tuttiGroupStart() != tuttiSuccess;
      failures += tuttiSend(&self, 1, tuttiInt64, rank, comm, nullptr);
      failures += tuttiSend(&self, 1, tuttiInt64, peer, comm, nullptr);
      failures += tuttiRecv(&fromPeer, 1, tuttiInt64, peer, comm, nullptr);
      failures += tuttiRecv(&selfIn, 1, tuttiInt64, rank, comm, nullptr);
      failures += tuttiGroupEnd() != tuttiSuccess;
      failures += selfIn != 40 + rank || fromPeer != 40 + peer;
      if (failures > 0) {
        std::fprintf(stderr, "rank %d: %d failures (%s)\n", rank, failures,
                     tuttiGetLastError(comm));
      }
      tuttiCommDestroy(comm);
      return failures == 0 ? 0 : 1;
    });
    EXPECT_TRUE(result.ok) << transport << ": " << result.failure;
  }
}

// Bad calls are refused with a message and harm nothing: the communicator goes on.
TEST(PeerExchangeSemanticsTest, BadCallsAreRefusedAndTheCommunicatorGoesOn) {
  LaunchResult result = runRanks(2, [](int rank, int nranks, const tuttiUniqueId& id) {
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 2;
    int failures = 0;
    auto lastErrorHas = [&](const char* text) {
      return std::string(tuttiGetLastError(comm)).find(text) != std::string::npos;
    };
    int32_t value = rank;
    failures += tuttiGroupEnd() != tuttiInvalidUsage;
    failures += std::string(tuttiGetLastError(nullptr)).find("without tuttiGroupStart") ==
                std::string::npos;
    for (int peer : {-1, nranks, 1 << 30}) {
      failures += tuttiSend(&value, 1, tuttiInt32, peer, comm, nullptr) != tuttiInvalidArgument;
      failures += !lastErrorHas("peer");
      failures += tuttiRecv(&value, 1, tuttiInt32, peer, comm, nullptr) != tuttiInvalidArgument;
    }
    failures += tuttiSend(nullptr, 1, tuttiInt32, 1 - rank, comm, nullptr) != tuttiInvalidArgument;
    failures += !lastErrorHas("sendbuff is NULL");
    failures += tuttiRecv(&value, 1, static_cast<tuttiDataType_t>(12), 1 - rank, comm, nullptr) !=
                tuttiInvalidArgument;
    int dummy = 0;
    failures += tuttiSend(&value, 1, tuttiInt32, 1 - rank, comm, &dummy) != tuttiInvalidUsage;
    // A send to itself without its receive: refused at the end, nothing sent.
    failures += tuttiGroupStart() != tuttiSuccess;
    failures += tuttiSend(&value, 1, tuttiInt32, rank, comm, nullptr) != tuttiSuccess;
    failures += tuttiGroupEnd() != tuttiInvalidUsage;
    failures += !lastErrorHas("itself");
    // Count 0 takes NULL; the communicator still works.
    failures += tuttiGroupStart() != tuttiSuccess;
    failures += tuttiSend(nullptr, 0, tuttiInt32, 1 - rank, comm, nullptr) != tuttiSuccess;
    failures += tuttiRecv(nullptr, 0, tuttiInt32, 1 - rank, comm, nullptr) != tuttiSuccess;
    int32_t got = -1;
    failures += tuttiSend(&value, 1, tuttiInt32, 1 - rank, comm, nullptr) != tuttiSuccess;
    failures += tuttiRecv(&got, 1, tuttiInt32, 1 - rank, comm, nullptr) != tuttiSuccess;
    failures += tuttiGroupEnd() != tuttiSuccess;
    failures += got != 1 - rank;
    if (failures > 0) std::fprintf(stderr, "rank %d: %d failures\n", rank, failures);
    tuttiCommDestroy(comm);
    return failures == 0 ? 0 : 1;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

}  // namespace
}  // namespace tutti::test
