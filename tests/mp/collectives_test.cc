// Exact results of the three collectives across forked ranks: every type, op, a range of counts
// (0, 1, primes, counts not divisible by the rank count, several MiB), in place and out of place,
// 1 to 8 ranks.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "core/comm.h"
#include "device/device_runtime.h"
#include "mp/harness.h"
#include "testing/exact_data.h"

namespace tutti::test {
namespace {

enum class Coll { kAllReduce, kAllGather, kReduceScatter };

const char* collName(Coll coll) {
  return coll == Coll::kAllReduce   ? "all_reduce"
         : coll == Coll::kAllGather ? "all_gather"
                                    : "reduce_scatter";
}

// Device mode (a mode ending in "_dev": TUTTI_DEVICE=emulated; "_cuda": a real GPU): each call
// runs on device buffers from tuttiMemAlloc, queued on a stream of the device runtime; inputs are
// copied in and results out as a GPU program would. Set in the child before its communicator is
// made (never in the parent: CUDA does not survive fork).
bool gOnDevice = false;
void* gStream = nullptr;
// Registered modes ("_p2preg..."): every call's buffers lie in one arena per rank, registered as a
// TUTTI_WIN_COLL_SYMMETRIC window: send buffers near its start, receive buffers past half-way, the
// same offsets on every rank.
constexpr size_t kArenaHalf = size_t{4} << 20;
char* gArena = nullptr;

// memcpy between buffers of the call's kind (host, or device: then on the stream, waited for).
void copyBytes(void* dst, const void* src, size_t bytes) {
  if (gOnDevice) {
    device::Runtime* runtime = device::activeRuntime();
    (void)runtime->copyAsync(dst, src, bytes, gStream);
    (void)runtime->streamSynchronize(gStream, 120000);
  } else {
    std::memcpy(dst, src, bytes);
  }
}

// Runs one call and checks every output element; returns the number of wrong elements, or -1
// when the call failed.
long runAndCheck(tuttiComm_t comm, int rank, int nranks, Coll coll, tuttiDataType_t type,
                 tuttiRedOp_t op, size_t count, bool inPlace) {
  const size_t size = typeSize(type);
  const size_t n = static_cast<size_t>(nranks);
  const size_t sendCount = coll == Coll::kReduceScatter ? count * n : count;
  const size_t recvCount = coll == Coll::kAllGather ? count * n : count;
  std::vector<char> recv(recvCount * size + 1, static_cast<char>(0xA5));  // sentinel
  std::vector<char> send(sendCount * size + 1);
  std::vector<char> expected(recvCount * size + 1);

  // Input for this rank.
  char* sendPtr = send.data();
  char* recvPtr = recv.data();
  if (coll == Coll::kAllGather) {
    fillContributions(sendPtr, type, op, nranks, rank, 0, count);
    for (int r = 0; r < nranks; ++r) {
      fillContributions(expected.data() + r * count * size, type, op, nranks, r, 0, count);
    }
  } else {
    fillContributions(sendPtr, type, op, nranks, rank, 0, sendCount);
    size_t base = coll == Coll::kReduceScatter ? static_cast<size_t>(rank) * count : 0;
    for (size_t i = 0; i < recvCount; ++i) {
      expectedReduction(expected.data() + i * size, type, op, nranks, base + i);
    }
  }
  // The call's buffers: the host vectors, or device copies of them.
  char* sendBase = sendPtr;
  char* recvBase = recvPtr;
  if (gArena != nullptr) {
    // Offsets other than 0, so that a peer's buffer found at the wrong offset shows.
    constexpr size_t kSendOffset = 256;
    constexpr size_t kRecvOffset = kArenaHalf + 512;
    if (send.size() > kArenaHalf - 512 || recv.size() > kArenaHalf - 512) {
      std::fprintf(stderr, "rank %d: %zu and %zu bytes do not fit the arena\n", rank, send.size(),
                   recv.size());
      return -1;
    }
    sendBase = gArena + kSendOffset;
    recvBase = gArena + kRecvOffset;
    copyBytes(sendBase, send.data(), send.size());
    copyBytes(recvBase, recv.data(), recv.size());
  } else if (gOnDevice) {
    void* deviceSend = nullptr;
    void* deviceRecv = nullptr;
    if (tuttiMemAlloc(&deviceSend, send.size()) != tuttiSuccess ||
        tuttiMemAlloc(&deviceRecv, recv.size()) != tuttiSuccess) {
      std::fprintf(stderr, "rank %d: tuttiMemAlloc: %s\n", rank, tuttiGetLastError(nullptr));
      return -1;
    }
    sendBase = static_cast<char*>(deviceSend);
    recvBase = static_cast<char*>(deviceRecv);
    copyBytes(sendBase, send.data(), send.size());
    copyBytes(recvBase, recv.data(), recv.size());  // the sentinel
  }
  char* callRecv = recvBase;  // where the result lands (in place: inside the send buffer)
  void* stream = gOnDevice ? gStream : nullptr;
  tuttiResult_t rc = tuttiSuccess;
  switch (coll) {
    case Coll::kAllReduce:
      if (inPlace) {
        copyBytes(recvBase, sendBase, count * size);
        rc = tuttiAllReduce(recvBase, recvBase, count, type, op, comm, stream);
      } else {
        rc = tuttiAllReduce(sendBase, recvBase, count, type, op, comm, stream);
      }
      break;
    case Coll::kAllGather:
      if (inPlace) {
        char* mine = recvBase + static_cast<size_t>(rank) * count * size;
        copyBytes(mine, sendBase, count * size);
        rc = tuttiAllGather(mine, recvBase, count, type, comm, stream);
      } else {
        rc = tuttiAllGather(sendBase, recvBase, count, type, comm, stream);
      }
      break;
    case Coll::kReduceScatter:
      if (inPlace) {
        char* mine = sendBase + static_cast<size_t>(rank) * count * size;
        rc = tuttiReduceScatter(sendBase, mine, count, type, op, comm, stream);
        callRecv = mine;
      } else {
        rc = tuttiReduceScatter(sendBase, recvBase, count, type, op, comm, stream);
      }
      break;
  }
  if (gOnDevice) {
    // Completion is the stream's: results are copied back after it (tuttiEmuMemcpy waits).
    copyBytes(recv.data(), recvBase, recv.size());
    copyBytes(send.data(), sendBase, send.size());
    tuttiResult_t asyncError = tuttiSuccess;
    tuttiCommGetAsyncError(comm, &asyncError);
    if (rc == tuttiSuccess) rc = asyncError;
    if (gArena == nullptr) {
      tuttiMemFree(sendBase);
      tuttiMemFree(recvBase);
    }
  }
  if (rc != tuttiSuccess) {
    std::fprintf(stderr, "rank %d: %s %s %s count %zu %s (%d ranks) failed: %s\n", rank,
                 collName(coll), typeName(type), opName(op), count,
                 inPlace ? "in-place" : "out-of-place", nranks, tuttiGetLastError(comm));
    return -1;
  }
  recvPtr = callRecv == recvBase ? recv.data() : send.data() + (callRecv - sendBase);
  size_t first = 0;
  size_t wrong = countMismatches(recvPtr, expected.data(), recvCount, type, &first);
  if (wrong > 0) {
    std::fprintf(stderr, "rank %d: %s %s %s count %zu %s (%d ranks): %zu wrong, first at %zu\n",
                 rank, collName(coll), typeName(type), opName(op), count,
                 inPlace ? "in-place" : "out-of-place", nranks, wrong, first);
  }
  if (!inPlace && recv[recvCount * size] != static_cast<char>(0xA5)) {
    std::fprintf(stderr, "rank %d: %s wrote past the end of recvbuff\n", rank, collName(coll));
    ++wrong;
  }
  return static_cast<long>(wrong);
}

// Modes: "<transport>[_<variant>]", set in the environment before the communicator is made.
// cma_all: every shared-memory message by the single-copy rendezvous; fifo: every one through
// the FIFOs; ring, rd: TUTTI_ALGO pins the algorithm (otherwise the cost model chooses, which
// picks rd for the small counts and ring for the large ones).
// treeNhosts: TUTTI_ALGO=tree with the ranks posed as N hosts in blocks (TUTTI_HOSTID), so that
// the tree crosses posed hosts over TCP and chains through shared memory inside each.
void applyMode(const std::string& mode, int rank, int nranks) {
  const std::string transport = mode.substr(0, mode.find('_'));
  const std::string variant =
      mode.find('_') == std::string::npos ? "" : mode.substr(mode.find('_') + 1);
  if (transport != "auto") setenv("TUTTI_TRANSPORT", transport.c_str(), 1);
  if (variant.rfind("tree", 0) == 0 && variant.size() > 4) {
    const int hosts = std::atoi(variant.c_str() + 4);
    setenv("TUTTI_ALGO", "tree", 1);
    setenv("TUTTI_HOSTID", ("posed" + std::to_string(rank * hosts / nranks)).c_str(), 1);
  }
  if (variant.rfind("hosts", 0) == 0) {  // posed hosts, the cost model chooses per call
    const int hosts = std::atoi(variant.c_str() + 5);
    setenv("TUTTI_HOSTID", ("posed" + std::to_string(rank * hosts / nranks)).c_str(), 1);
  }
  if (variant == "cma_all") {
    setenv("TUTTI_SHM_CMA", "1", 1);  // also where ranks outnumber CPUs (default off there)
    setenv("TUTTI_SHM_CMA_MIN_BYTES", "1", 1);
  }
  if (variant == "fifo") setenv("TUTTI_SHM_CMA", "0", 1);
  if (variant == "ring" || variant == "rd") setenv("TUTTI_ALGO", variant.c_str(), 1);
  if (variant == "devpieces") {
    // Pieces of 24 bytes (3 to 24 elements, at most 64 a call): nearly every call is pipelined,
    // in pieces that do not divide its count.
    setenv("TUTTI_DEVICE_CHUNK_BYTES", "24", 1);
  }
  if (variant == "dev" || variant == "devpieces") {
    // The staged path: every rank is on one host, where device calls would otherwise go over
    // mapped peer memory (the p2p variants below).
    setenv("TUTTI_P2P_DISABLE", "1", 1);
  }
  if (variant.rfind("p2p", 0) == 0) {
    // The p2p path, with windows of 8 KiB: calls of more than 1,024 elements of 8 bytes loop over
    // chunks. p2p: the cost model chooses; p2pone, p2ptwo: all-reduce by one-shot or two-shot;
    // p2preg, p2pregtwo: the same over registered buffers (gArena).
    setenv("TUTTI_P2P_WINDOW_BYTES", "8192", 1);
    if (variant == "p2pone") setenv("TUTTI_ALGO", "allreduce:oneshot", 1);
    if (variant == "p2ptwo" || variant == "p2pregtwo") {
      setenv("TUTTI_ALGO", "allreduce:twoshot", 1);
    }
  }
  if (variant == "dev" || variant == "devpieces" || variant == "cuda" || variant == "cudareg" ||
      variant.rfind("p2p", 0) == 0) {
    setenv("TUTTI_DEVICE", variant.rfind("cuda", 0) == 0 ? "cuda" : "emulated", 1);
    gOnDevice = device::activeRuntime() != nullptr &&
                device::activeRuntime()->streamCreate(&gStream).isOk();
    if (!gOnDevice) std::fprintf(stderr, "rank %d: no %s device runtime\n", rank, variant.c_str());
  }
}

class CollectivesTest : public ::testing::TestWithParam<std::tuple<int, const char*>> {};

TEST_P(CollectivesTest, ExactForEveryTypeOpCountAndPlacement) {
  const int nranks = std::get<0>(GetParam());
  const std::string transport = std::get<1>(GetParam());
  const bool wantsGpu = transport.find("_cuda") != std::string::npos;
  if (wantsGpu && std::getenv("TUTTI_TEST_CUDA") == nullptr) {
    GTEST_SKIP() << "a GPU test: set TUTTI_TEST_CUDA=1 on a machine with a GPU "
                    "(scripts/gpu-check.sh does)";
  }
  LaunchResult result = runRanks(nranks, [&](int rank, int nranks, const tuttiUniqueId& id) {
    applyMode(transport, rank, nranks);
    const bool p2p = transport.find("_p2p") != std::string::npos;
    if (transport.find("_dev") != std::string::npos ||
        transport.find("_cuda") != std::string::npos || p2p) {
      if (!gOnDevice) return 4;
    }
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 2;
    const bool registered = transport.find("_p2preg") != std::string::npos ||
                            transport.find("_cudareg") != std::string::npos;
    tuttiWindow_t arenaWindow = nullptr;
    void* allocation = nullptr;
    if (registered) {
      // The window starts 4 KiB into its allocation: CUDA IPC maps whole allocations, and the
      // peers must find the window at its offset.
      if (tuttiMemAlloc(&allocation, 2 * kArenaHalf + 4096) != tuttiSuccess ||
          tuttiCommWindowRegister(comm, static_cast<char*>(allocation) + 4096, 2 * kArenaHalf,
                                  &arenaWindow, TUTTI_WIN_COLL_SYMMETRIC) != tuttiSuccess) {
        std::fprintf(stderr, "rank %d: registering: %s\n", rank, tuttiGetLastError(comm));
        return 7;
      }
      gArena = static_cast<char*>(allocation) + 4096;
    }
    long failures = 0;
    const size_t counts[] = {0, 1, 2, 3, 7, static_cast<size_t>(nranks) + 1, 131, 1000, 4099};
    for (Coll coll : {Coll::kAllReduce, Coll::kAllGather, Coll::kReduceScatter}) {
      for (int t = 0; t < tuttiNumTypes; ++t) {
        for (int o = 0; o < tuttiNumOps; ++o) {
          if (coll == Coll::kAllGather && o > 0) break;  // no op
          for (size_t count : counts) {
            for (bool inPlace : {false, true}) {
              long wrong = runAndCheck(comm, rank, nranks, coll, static_cast<tuttiDataType_t>(t),
                                       static_cast<tuttiRedOp_t>(o), count, inPlace);
              if (wrong < 0) return 3;
              failures += wrong;
            }
          }
        }
      }
    }
    // Several MiB: more than one slice per chunk, so pipelining and slot reuse are exercised.
    const size_t large = (3u << 20) / 4 + 13;
    for (Coll coll : {Coll::kAllReduce, Coll::kAllGather, Coll::kReduceScatter}) {
      for (auto [type, op] : {std::pair{tuttiFloat32, tuttiSum}, std::pair{tuttiInt8, tuttiMax},
                              std::pair{tuttiBfloat16, tuttiAvg}}) {
        size_t count = coll == Coll::kAllReduce ? large : large / nranks + 1;
        for (bool inPlace : {false, true}) {
          long wrong = runAndCheck(comm, rank, nranks, coll, type, op, count, inPlace);
          if (wrong < 0) return 3;
          failures += wrong;
        }
      }
    }
    // The calls took the path the mode names: p2p modes over mapped windows, the others staged.
    const bool emulated = transport.find("_cuda") == std::string::npos;
    if (gOnDevice && emulated && (liveComm(comm)->p2pState == 1) != p2p) {
      std::fprintf(stderr, "rank %d: p2p state %d in mode %s\n", rank, liveComm(comm)->p2pState,
                   transport.c_str());
      return 5;
    }
    if (p2p) {
      // The all-reduce algorithms the mode names, or both by the model's choice (one-shot for
      // the small calls; two-shot for the 3 MiB ones from 3 ranks on).
      const P2pWindow& window = *liveComm(comm)->p2p;
      const uint64_t one = window.allReduces(P2pAlgorithm::kOneShot);
      const uint64_t two = window.allReduces(P2pAlgorithm::kTwoShot);
      const bool wanted = transport == "shm_p2pone" ? one > 0 && two == 0
                          : transport == "shm_p2ptwo" || transport == "shm_p2pregtwo"
                              ? one == 0 && two > 0
                          : nranks >= 3 ? one > 0 && two > 0
                                        : one > 0 && two == 0;
      if (!wanted) {
        std::fprintf(stderr, "rank %d: %llu one-shot and %llu two-shot all-reduces in mode %s\n",
                     rank, static_cast<unsigned long long>(one),
                     static_cast<unsigned long long>(two), transport.c_str());
        return 6;
      }
      if (!registered && window.registeredCalls() != 0) return 8;
    }
    if (registered) {
      // Every p2p call read the peers' buffers directly (on CUDA too: the ranks share one host).
      const P2pWindow* window = liveComm(comm)->p2p.get();
      const uint64_t direct = window != nullptr ? window->registeredCalls() : 0;
      const uint64_t calls = window != nullptr ? window->calls() : 0;
      if (direct == 0 || direct != calls) {
        std::fprintf(stderr, "rank %d: %llu of %llu p2p calls read registered buffers in mode %s\n",
                     rank, static_cast<unsigned long long>(direct),
                     static_cast<unsigned long long>(calls), transport.c_str());
        return 8;
      }
    }
    if (registered) {
      if (tuttiCommWindowDeregister(comm, arenaWindow) != tuttiSuccess) {
        std::fprintf(stderr, "rank %d: deregistering: %s\n", rank, tuttiGetLastError(comm));
        return 9;
      }
      tuttiMemFree(allocation);
      gArena = nullptr;
    }
    tuttiCommDestroy(comm);
    return failures == 0 ? 0 : 1;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

INSTANTIATE_TEST_SUITE_P(Ranks, CollectivesTest,
                         ::testing::Combine(::testing::Values(1, 2, 3, 4, 5, 6, 7, 8),
                                            ::testing::Values("shm", "tcp")),
                         ranksTransportName);
// Device buffers on streams of the emulated device, staged through pinned host memory.
INSTANTIATE_TEST_SUITE_P(EmulatedDevice, CollectivesTest,
                         ::testing::Combine(::testing::Values(1, 2, 3, 4, 5, 8),
                                            ::testing::Values("shm_dev", "tcp_dev")),
                         ranksTransportName);
// The same cut into many pieces, each staged, run and written back on its own (pipelining).
INSTANTIATE_TEST_SUITE_P(PipelinedDevice, CollectivesTest,
                         ::testing::Combine(::testing::Values(3, 5),
                                            ::testing::Values("shm_devpieces", "tcp_devpieces")),
                         ranksTransportName);
// Device buffers over mapped peer memory (core/p2p_collective.h) on the emulated device, with
// windows small enough that most calls loop over chunks: the cost model's choice (one-shot and
// two-shot all-reduce by size), each all-reduce algorithm forced, and the direct all-gather and
// reduce-scatter in all of them. The transport only matters where a call falls back.
INSTANTIATE_TEST_SUITE_P(P2pDevice, CollectivesTest,
                         ::testing::Combine(::testing::Values(1, 2, 3, 5, 8),
                                            ::testing::Values("shm_p2p")),
                         ranksTransportName);
// The same over registered buffers (core/p2p_registration.h): the model's choice, and two-shot
// forced (the model never takes it for 2 ranks).
INSTANTIATE_TEST_SUITE_P(P2pRegistered, CollectivesTest,
                         ::testing::Combine(::testing::Values(1, 2, 3, 5, 8),
                                            ::testing::Values("shm_p2preg")),
                         ranksTransportName);
INSTANTIATE_TEST_SUITE_P(P2pRegisteredTwoShot, CollectivesTest,
                         ::testing::Combine(::testing::Values(2, 5),
                                            ::testing::Values("shm_p2pregtwo")),
                         ranksTransportName);
// 8 ranks are P2pDevice's: the model takes one-shot below 95 KiB and two-shot for the 3 MiB calls.
INSTANTIATE_TEST_SUITE_P(P2pAlgorithms, CollectivesTest,
                         ::testing::Combine(::testing::Values(2, 3, 5),
                                            ::testing::Values("shm_p2pone", "shm_p2ptwo")),
                         ranksTransportName);
// The same on a real GPU (skipped without TUTTI_TEST_CUDA=1): the ranks share the one device.
INSTANTIATE_TEST_SUITE_P(CudaDevice, CollectivesTest,
                         ::testing::Combine(::testing::Values(1, 2, 3, 4, 8),
                                            ::testing::Values("shm_cuda", "tcp_cuda")),
                         ranksTransportName);
// Registered buffers on the GPU: CUDA IPC of buffers inside an allocation (the arena's offsets).
INSTANTIATE_TEST_SUITE_P(CudaRegistered, CollectivesTest,
                         ::testing::Combine(::testing::Values(2, 3, 8),
                                            ::testing::Values("shm_cudareg")),
                         ranksTransportName);
INSTANTIATE_TEST_SUITE_P(ShmPaths, CollectivesTest,
                         ::testing::Combine(::testing::Values(2, 3, 8),
                                            ::testing::Values("shm_cma_all", "shm_fifo")),
                         ranksTransportName);
INSTANTIATE_TEST_SUITE_P(Algorithms, CollectivesTest,
                         ::testing::Combine(::testing::Values(2, 3, 4, 5, 6, 7, 8),
                                            ::testing::Values("shm_ring", "shm_rd")),
                         ranksTransportName);
INSTANTIATE_TEST_SUITE_P(
    TreeOnPosedHosts, CollectivesTest,
    ::testing::Values(std::make_tuple(2, "auto_tree2"), std::make_tuple(4, "auto_tree2"),
                      std::make_tuple(5, "auto_tree3"), std::make_tuple(6, "auto_tree3"),
                      std::make_tuple(7, "auto_tree7"), std::make_tuple(8, "auto_tree4"),
                      std::make_tuple(3, "shm_tree1"), std::make_tuple(6, "auto_hosts3"),
                      std::make_tuple(8, "auto_hosts8")),
    ranksTransportName);
INSTANTIATE_TEST_SUITE_P(AlgorithmsTcp, CollectivesTest,
                         ::testing::Combine(::testing::Values(3, 4),
                                            ::testing::Values("tcp_ring", "tcp_rd")),
                         ranksTransportName);
#if TUTTI_HAVE_UCX
// The ucx transport (TUTTI_TRANSPORT=ucx): UCX picks its own paths here (shared memory, CMA).
INSTANTIATE_TEST_SUITE_P(Ucx, CollectivesTest,
                         ::testing::Combine(::testing::Values(1, 2, 3, 5, 8),
                                            ::testing::Values("ucx")),
                         ranksTransportName);
INSTANTIATE_TEST_SUITE_P(AlgorithmsUcx, CollectivesTest,
                         ::testing::Combine(::testing::Values(4),
                                            ::testing::Values("ucx_ring", "ucx_rd")),
                         ranksTransportName);
#endif

}  // namespace
}  // namespace tutti::test

namespace tutti::test {
namespace {

// Seeded random sequences of the three collectives, as an application issues them: every call
// differs from the last in collective, type, op, count (0 to 300,000) and placement.
TEST(CollectivesRandomTest, SeededSequencesOfMixedCalls) {
  for (int nranks : {1, 2, 3, 5}) {
    LaunchResult result = runRanks(nranks, [](int rank, int nranks, const tuttiUniqueId& id) {
      tuttiComm_t comm = initComm(rank, nranks, id);
      if (comm == nullptr) return 2;
      uint64_t state = 0x2545F4914F6CDD1Dull * static_cast<uint64_t>(nranks);
      auto next = [&state] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
      };
      long failures = 0;
      for (int call = 0; call < 40; ++call) {
        Coll coll = static_cast<Coll>(next() % 3);
        auto type = static_cast<tuttiDataType_t>(next() % tuttiNumTypes);
        auto op = static_cast<tuttiRedOp_t>(next() % tuttiNumOps);
        size_t count = static_cast<size_t>(next() % 300001) >> (next() % 12);
        if (coll != Coll::kAllReduce) count /= static_cast<size_t>(nranks);
        bool inPlace = next() % 2 == 0;
        long wrong = runAndCheck(comm, rank, nranks, coll, type, op, count, inPlace);
        if (wrong < 0) return 3;
        failures += wrong;
      }
      tuttiCommDestroy(comm);
      return failures == 0 ? 0 : 1;
    });
    EXPECT_TRUE(result.ok) << nranks << " ranks: " << result.failure;
  }
}

}  // namespace
}  // namespace tutti::test
