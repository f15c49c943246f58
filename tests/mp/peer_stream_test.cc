// Groups of tuttiSend/tuttiRecv queued on host streams (tutti.h, "Streams" under point-to-point):
// tuttiGroupEnd returns at once, the group runs on the progress thread in issue order with the
// collectives queued around it, and every element arrives exact (several peers, a different count
// per peer, the rank itself included); a blocking group runs behind queued calls; the errors.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "mp/harness.h"

namespace tutti::test {
namespace {

// Elements `from` sends to `to` in round `round`: 0 to a few hundred thousand, per pair.
size_t countOf(int from, int to, int round) {
  const size_t sizes[] = {0, 1, 13, 1021, 65537, 250003};
  return sizes[(static_cast<size_t>(from) * 7 + static_cast<size_t>(to) * 3 + round) % 6];
}

int64_t valueOf(int from, int to, int round, size_t i) {
  return (static_cast<int64_t>(from) << 48) ^ (static_cast<int64_t>(to) << 40) ^
         (static_cast<int64_t>(round) << 32) ^ static_cast<int64_t>(i * 2654435761u);
}

tuttiStream_t asStream(tuttiHostStream_t stream) { return reinterpret_cast<tuttiStream_t>(stream); }

class PeerStreamTest : public ::testing::TestWithParam<int> {};

// Rounds of all-to-all-v groups, each followed by an all-reduce, all queued on one stream before
// any is waited for. Rank 0 issues late, so the other ranks' tuttiGroupEnd must have returned
// before their group could run (their event is still in progress).
void runQueuedGroups(int nranks, const std::string& transport) {
  LaunchResult result = runRanks(nranks, [&](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_TRANSPORT", transport.c_str(), 1);
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 2;
    tuttiHostStream_t stream = nullptr;
    if (tuttiHostStreamCreate(&stream) != tuttiSuccess) return 3;
    constexpr int kRounds = 3;
    std::vector<std::vector<std::vector<int64_t>>> out(kRounds), in(kRounds);
    std::vector<int64_t> sums(kRounds, 0);
    std::vector<tuttiHostEvent_t> events(kRounds, nullptr);
    int failures = 0;
    if (rank == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (int round = 0; round < kRounds; ++round) {
      out[round].resize(nranks);
      in[round].resize(nranks);
      failures += tuttiGroupStart() != tuttiSuccess;
      // Receives issued before sends, peers in different orders: the group runs them together.
      for (int k = 0; k < nranks; ++k) {
        const int from = (rank + k) % nranks;
        in[round][from].assign(countOf(from, rank, round), -1);
        failures += tuttiRecv(in[round][from].data(), in[round][from].size(), tuttiInt64, from,
                              comm, asStream(stream)) != tuttiSuccess;
      }
      for (int k = 0; k < nranks; ++k) {
        const int to = (rank + nranks - k) % nranks;
        std::vector<int64_t>& message = out[round][to];
        message.resize(countOf(rank, to, round));
        for (size_t i = 0; i < message.size(); ++i) message[i] = valueOf(rank, to, round, i);
        failures += tuttiSend(message.data(), message.size(), tuttiInt64, to, comm,
                              asStream(stream)) != tuttiSuccess;
      }
      if (tuttiGroupEnd() != tuttiSuccess) {
        std::fprintf(stderr, "rank %d: tuttiGroupEnd: %s\n", rank, tuttiGetLastError(comm));
        return 4;
      }
      failures += tuttiHostEventCreate(&events[round]) != tuttiSuccess;
      failures += tuttiHostEventRecord(events[round], stream) != tuttiSuccess;
      if (round == 0 && rank != 0 && tuttiHostEventQuery(events[round]) != tuttiInProgress) {
        std::fprintf(stderr, "rank %d: the group completed before rank 0 issued its own\n", rank);
        ++failures;
      }
      sums[round] = rank + round;
      failures += tuttiAllReduce(&sums[round], &sums[round], 1, tuttiInt64, tuttiSum, comm,
                                 asStream(stream)) != tuttiSuccess;
    }
    if (tuttiHostStreamSynchronize(stream, 120000) != tuttiSuccess) {
      std::fprintf(stderr, "rank %d: synchronize: %s\n", rank, tuttiGetLastError(nullptr));
      return 5;
    }
    long wrong = 0;
    for (int round = 0; round < kRounds; ++round) {
      failures += tuttiHostEventQuery(events[round]) != tuttiSuccess;
      failures += tuttiHostEventDestroy(events[round]) != tuttiSuccess;
      failures += sums[round] != static_cast<int64_t>(nranks) * (nranks - 1) / 2 + nranks * round;
      for (int from = 0; from < nranks; ++from) {
        const std::vector<int64_t>& got = in[round][from];
        for (size_t i = 0; i < got.size(); ++i) wrong += got[i] != valueOf(from, rank, round, i);
      }
    }
    if (wrong + failures > 0) {
      std::fprintf(stderr, "rank %d: %ld wrong elements, %d failures\n", rank, wrong, failures);
    }
    failures += tuttiHostStreamDestroy(stream) != tuttiSuccess;
    failures += tuttiCommDestroy(comm) != tuttiSuccess;
    return wrong + failures == 0 ? 0 : 1;
  });
  EXPECT_TRUE(result.ok) << transport << ": " << result.failure;
}

TEST_P(PeerStreamTest, QueuedGroupsAreExactAndOrderedWithCollectives) {
  for (const char* transport : {"shm", "tcp"}) {
    runQueuedGroups(GetParam(), transport);
  }
}

INSTANTIATE_TEST_SUITE_P(Ranks, PeerStreamTest, ::testing::Values(1, 2, 3, 4));

// A ring of single sends and receives outside a group, each a queued call of its own: the
// receive's callback runs after its buffer holds the data. Then a blocking (NULL stream) group
// issued while queued calls are pending runs after them instead of being refused.
TEST(PeerStreamSemanticsTest, UngroupedQueuedCallsAndABlockingGroupBehindQueuedCalls) {
  LaunchResult result = runRanks(3, [](int rank, int nranks, const tuttiUniqueId& id) {
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 2;
    tuttiHostStream_t stream = nullptr;
    if (tuttiHostStreamCreate(&stream) != tuttiSuccess) return 3;
    int failures = 0;
    const int next = (rank + 1) % nranks;
    const int prev = (rank + nranks - 1) % nranks;
    std::vector<float> out(100003), in(100003, -1.0f);
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(rank * 1000003 + i);
    // Rank 0 receives first, the others send first: the ring cannot close without queuing.
    if (rank == 0) {
      failures += tuttiRecv(in.data(), in.size(), tuttiFloat32, prev, comm, asStream(stream));
      failures += tuttiSend(out.data(), out.size(), tuttiFloat32, next, comm, asStream(stream));
    } else {
      failures += tuttiSend(out.data(), out.size(), tuttiFloat32, next, comm, asStream(stream));
      failures += tuttiRecv(in.data(), in.size(), tuttiFloat32, prev, comm, asStream(stream));
    }
    struct Seen {
      const std::vector<float>* in;
      int prev;
      long wrong = -1;
    } seen{&in, prev};
    failures += tuttiHostStreamAddCallback(
        stream,
        [](tuttiResult_t result, const char*, void* user) {
          auto* s = static_cast<Seen*>(user);
          s->wrong = result == tuttiSuccess ? 0 : 1;
          for (size_t i = 0; i < s->in->size(); ++i) {
            s->wrong += (*s->in)[i] != static_cast<float>(s->prev * 1000003 + i);
          }
        },
        &seen);
    // Blocking, behind the queued calls: an exchange with both neighbours.
    int32_t token = rank, fromPrev = -1, fromNext = -1;
    failures += tuttiGroupStart();
    failures += tuttiSend(&token, 1, tuttiInt32, next, comm, nullptr);
    failures += tuttiSend(&token, 1, tuttiInt32, prev, comm, nullptr);
    failures += tuttiRecv(&fromPrev, 1, tuttiInt32, prev, comm, nullptr);
    failures += tuttiRecv(&fromNext, 1, tuttiInt32, next, comm, nullptr);
    if (tuttiGroupEnd() != tuttiSuccess) {
      std::fprintf(stderr, "rank %d: blocking group: %s\n", rank, tuttiGetLastError(comm));
      return 4;
    }
    // It ran after the queued calls: they are complete, their callback ran.
    failures += tuttiHostStreamQuery(stream) != tuttiSuccess;
    failures += seen.wrong != 0;
    failures += fromPrev != prev || fromNext != next;
    if (failures > 0) std::fprintf(stderr, "rank %d: %d failures\n", rank, failures);
    failures += tuttiHostStreamDestroy(stream) != tuttiSuccess;
    failures += tuttiCommDestroy(comm) != tuttiSuccess;
    return failures == 0 ? 0 : 1;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// Refused at tuttiGroupEnd, with nothing queued: unpaired calls to self on a stream, calls of one
// communicator on two streams, a stream destroyed before the end; a foreign stream at the call.
// The communicator goes on.
TEST(PeerStreamSemanticsTest, BadQueuedGroupsAreRefusedAtGroupEnd) {
  LaunchResult result = runRanks(2, [](int rank, int nranks, const tuttiUniqueId& id) {
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 2;
    tuttiHostStream_t a = nullptr, b = nullptr, doomed = nullptr;
    if (tuttiHostStreamCreate(&a) != tuttiSuccess || tuttiHostStreamCreate(&b) != tuttiSuccess ||
        tuttiHostStreamCreate(&doomed) != tuttiSuccess) {
      return 3;
    }
    int failures = 0;
    auto lastErrorHas = [&](const char* text) {
      return std::string(tuttiGetLastError(comm)).find(text) != std::string::npos;
    };
    int32_t value = rank, got = -1;
    const int peer = 1 - rank;
    failures += tuttiGroupStart();
    failures += tuttiSend(&value, 1, tuttiInt32, rank, comm, asStream(a));
    failures += tuttiGroupEnd() != tuttiInvalidUsage;
    failures += !lastErrorHas("itself");
    failures += tuttiGroupStart();
    failures += tuttiSend(&value, 1, tuttiInt32, peer, comm, asStream(a));
    failures += tuttiRecv(&got, 1, tuttiInt32, peer, comm, asStream(b));
    failures += tuttiGroupEnd() != tuttiInvalidUsage;
    failures += !lastErrorHas("different streams");
    failures += tuttiGroupStart();
    failures += tuttiSend(&value, 1, tuttiInt32, peer, comm, asStream(doomed));
    failures += tuttiHostStreamDestroy(doomed);
    failures += tuttiGroupEnd() != tuttiInvalidUsage;
    failures += !lastErrorHas("destroyed");
    int notAStream = 0;
    failures += tuttiRecv(&got, 1, tuttiInt32, peer, comm,
                          reinterpret_cast<tuttiStream_t>(&notAStream)) != tuttiInvalidUsage;
    failures += !lastErrorHas("host stream");
    // Nothing was queued; the communicator still works, queued.
    failures += tuttiHostStreamQuery(a) != tuttiSuccess || tuttiHostStreamQuery(b) != tuttiSuccess;
    failures += tuttiGroupStart();
    failures += tuttiSend(&value, 1, tuttiInt32, peer, comm, asStream(a));
    failures += tuttiRecv(&got, 1, tuttiInt32, peer, comm, asStream(a));
    failures += tuttiGroupEnd() != tuttiSuccess;
    failures += tuttiHostStreamSynchronize(a, 60000) != tuttiSuccess;
    failures += got != peer;
    if (failures > 0) std::fprintf(stderr, "rank %d: %d failures\n", rank, failures);
    failures += tuttiHostStreamDestroy(a) + tuttiHostStreamDestroy(b);
    failures += tuttiCommDestroy(comm) != tuttiSuccess;
    return failures == 0 ? 0 : 1;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

}  // namespace
}  // namespace tutti::test
