// Exact results of the collectives beyond the three (broadcast, reduce, all-to-all, gather,
// scatter) across forked ranks: every type, every op for reduce, counts 0, 1, primes, counts not
// divisible by the rank count and several MiB, a spread of roots (every root over the calls of
// a run), in place and out of place, 1 to 8 ranks, over shm and tcp and with each algorithm
// pinned. NCCL's rules are checked as well: NULL for buffers a rank does not use, send buffers
// never written, a non-root rank's in-place reduce keeping its input, bit patterns kept by
// copies, integer Sum and Prod wrapping, bad roots refused without harm.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "device/device_runtime.h"
#include "mp/harness.h"
#include "testing/exact_data.h"

namespace tutti::test {
namespace {

enum class Coll { kBroadcast, kReduce, kAllToAll, kGather, kScatter };
constexpr Coll kColls[] = {Coll::kBroadcast, Coll::kReduce, Coll::kAllToAll, Coll::kGather,
                           Coll::kScatter};

const char* collName(Coll coll) {
  switch (coll) {
    case Coll::kBroadcast:
      return "broadcast";
    case Coll::kReduce:
      return "reduce";
    case Coll::kAllToAll:
      return "alltoall";
    case Coll::kGather:
      return "gather";
    case Coll::kScatter:
      return "scatter";
  }
  return "?";
}

bool rooted(Coll coll) { return coll != Coll::kAllToAll; }

struct Call {
  Coll coll;
  tuttiDataType_t type;
  tuttiRedOp_t op;
  size_t count;
  int root;
  bool inPlace;
};

std::string describe(const Call& call, int rank, int nranks) {
  char text[200];
  std::snprintf(text, sizeof(text), "rank %d of %d: %s %s %s count %zu root %d %s", rank, nranks,
                collName(call.coll), typeName(call.type), opName(call.op), call.count, call.root,
                call.inPlace ? "in-place" : "out-of-place");
  return text;
}

// Elements of each buffer this rank passes (0: it passes NULL, as NCCL allows).
size_t sendElements(const Call& c, int rank, int nranks) {
  const size_t n = static_cast<size_t>(nranks);
  const bool root = rank == c.root;
  switch (c.coll) {
    case Coll::kBroadcast:
      return root ? c.count : 0;
    case Coll::kScatter:
      return root ? c.count * n : 0;
    case Coll::kAllToAll:
      return c.count * n;
    default:
      return c.count;
  }
}

size_t recvElements(const Call& c, int rank, int nranks) {
  const size_t n = static_cast<size_t>(nranks);
  const bool root = rank == c.root;
  switch (c.coll) {
    case Coll::kReduce:
      return root ? c.count : 0;
    case Coll::kGather:
      return root ? c.count * n : 0;
    case Coll::kAllToAll:
      return c.count * n;
    default:
      return c.count;
  }
}

tuttiResult_t issueOn(const Call& c, const void* send, void* recv, tuttiComm_t comm, void* stream) {
  switch (c.coll) {
    case Coll::kBroadcast:
      return tuttiBroadcast(send, recv, c.count, c.type, c.root, comm, stream);
    case Coll::kReduce:
      return tuttiReduce(send, recv, c.count, c.type, c.op, c.root, comm, stream);
    case Coll::kAllToAll:
      return tuttiAlltoAll(send, recv, c.count, c.type, comm, stream);
    case Coll::kGather:
      return tuttiGather(send, recv, c.count, c.type, c.root, comm, stream);
    case Coll::kScatter:
      return tuttiScatter(send, recv, c.count, c.type, c.root, comm, stream);
  }
  return tuttiInternalError;
}

// Device mode ("_dev": the emulated device): the call runs on device copies of the host buffers,
// queued on a stream; the host buffers get the device buffers' bytes back after it, so the
// checks below read them as they would after a host call.
bool gOnDevice = false;
void* gStream = nullptr;

bool deviceCopy(void* dst, const void* src, size_t bytes) {
  device::Runtime* runtime = device::activeRuntime();
  return runtime->copyAsync(dst, src, bytes, gStream).isOk() &&
         runtime->streamSynchronize(gStream, 120000).isOk();
}

tuttiResult_t issue(const Call& c, const void* send, void* recv, tuttiComm_t comm,
                    std::vector<char>* sendBuffer, std::vector<char>* recvBuffer) {
  if (!gOnDevice) return issueOn(c, send, recv, comm, nullptr);
  void* deviceSend = nullptr;
  void* deviceRecv = nullptr;
  if (tuttiMemAlloc(&deviceSend, sendBuffer->size()) != tuttiSuccess ||
      tuttiMemAlloc(&deviceRecv, recvBuffer->size()) != tuttiSuccess ||
      !deviceCopy(deviceSend, sendBuffer->data(), sendBuffer->size()) ||
      !deviceCopy(deviceRecv, recvBuffer->data(), recvBuffer->size())) {
    return tuttiSystemError;
  }
  // The same pointer into the device copy of whichever host buffer it points into.
  auto map = [&](const void* p) -> void* {
    if (p == nullptr) return nullptr;
    const char* q = static_cast<const char*>(p);
    if (q >= sendBuffer->data() && q < sendBuffer->data() + sendBuffer->size()) {
      return static_cast<char*>(deviceSend) + (q - sendBuffer->data());
    }
    return static_cast<char*>(deviceRecv) + (q - recvBuffer->data());
  };
  tuttiResult_t rc = issueOn(c, map(send), map(recv), comm, gStream);
  if (!deviceCopy(sendBuffer->data(), deviceSend, sendBuffer->size()) ||
      !deviceCopy(recvBuffer->data(), deviceRecv, recvBuffer->size())) {
    rc = tuttiSystemError;
  }
  tuttiResult_t async = tuttiSuccess;
  tuttiCommGetAsyncError(comm, &async);
  if (rc == tuttiSuccess) rc = async;
  tuttiMemFree(deviceSend);
  tuttiMemFree(deviceRecv);
  return rc;
}

// Runs one call and checks every output element, that send buffers (and a non-root rank's
// in-place reduce buffer) keep their input and that nothing is written past recvbuff. Returns
// the number of wrong elements, or -1 when the call failed.
long runAndCheck(tuttiComm_t comm, int rank, int nranks, const Call& c) {
  const size_t size = typeSize(c.type);
  const size_t count = c.count;
  const size_t sendCount = sendElements(c, rank, nranks);
  const size_t recvCount = recvElements(c, rank, nranks);
  const size_t blockOffset = static_cast<size_t>(rank) * count;
  const bool isRoot = rank == c.root;

  // Input: rank r's send element k is contribution(r, k). All-to-all and scatter send blocks,
  // so element k of the root's or rank's buffer is block k / count.
  std::vector<char> input(sendCount * size);
  fillContributions(input.data(), c.type, c.op, nranks, rank, 0, sendCount);
  std::vector<char> expected(recvCount * size);
  for (size_t i = 0; i < recvCount; ++i) {
    char* out = expected.data() + i * size;
    const int block = count == 0 ? 0 : static_cast<int>(i / count);
    const size_t inBlock = count == 0 ? 0 : i % count;
    switch (c.coll) {
      case Coll::kBroadcast:
        fillContributions(out, c.type, c.op, nranks, c.root, i, 1);
        break;
      case Coll::kReduce:
        expectedReduction(out, c.type, c.op, nranks, i);
        break;
      case Coll::kAllToAll:
        fillContributions(out, c.type, c.op, nranks, block, blockOffset + inBlock, 1);
        break;
      case Coll::kGather:
        fillContributions(out, c.type, c.op, nranks, block, inBlock, 1);
        break;
      case Coll::kScatter:
        fillContributions(out, c.type, c.op, nranks, c.root, blockOffset + i, 1);
        break;
    }
  }

  // Buffers: NULL where the rank has none (and for count 0); a sentinel byte after recv.
  std::vector<char> send(sendCount * size);
  std::vector<char> recv(recvCount * size + 1, static_cast<char>(0xA5));
  if (!input.empty()) std::memcpy(send.data(), input.data(), input.size());
  const void* sendPtr = sendCount > 0 ? send.data() : nullptr;
  void* recvPtr = recvCount > 0 ? recv.data() : nullptr;
  char* output = recv.data();  // where this rank's result lands
  if (c.inPlace && count > 0) {
    switch (c.coll) {
      case Coll::kBroadcast:
        if (isRoot) sendPtr = recvPtr = send.data(), output = send.data();
        break;
      case Coll::kReduce:
        // Off the root too: its buffer must keep its input.
        sendPtr = recvPtr = send.data();
        output = send.data();
        break;
      case Coll::kAllToAll:
        sendPtr = recvPtr = send.data();
        output = send.data();
        break;
      case Coll::kGather:
        if (isRoot) {
          std::memcpy(recv.data() + blockOffset * size, input.data(), input.size());
          sendPtr = recv.data() + blockOffset * size;
        }
        break;
      case Coll::kScatter:
        if (isRoot) recvPtr = output = send.data() + blockOffset * size;
        break;
    }
  }
  const tuttiResult_t rc = issue(c, sendPtr, recvPtr, comm, &send, &recv);
  if (rc != tuttiSuccess) {
    std::fprintf(stderr, "%s: %s: %s\n", describe(c, rank, nranks).c_str(), tuttiGetErrorString(rc),
                 tuttiGetLastError(comm));
    return -1;
  }
  long wrong = 0;
  size_t first = 0;
  const size_t bad = countMismatches(output, expected.data(), recvCount, c.type, &first);
  if (bad > 0) {
    std::fprintf(stderr, "%s: %zu wrong, first at %zu\n", describe(c, rank, nranks).c_str(), bad,
                 first);
    wrong += static_cast<long>(bad);
  }
  // The input stays, except where this rank's in-place output lies on it.
  const bool inputIsOutput = c.inPlace && recvCount > 0 && output == send.data();
  if (!inputIsOutput && !(c.inPlace && c.coll == Coll::kScatter && isRoot) && !input.empty() &&
      std::memcmp(send.data(), input.data(), input.size()) != 0) {
    std::fprintf(stderr, "%s: the send buffer changed\n", describe(c, rank, nranks).c_str());
    ++wrong;
  }
  if (c.inPlace && c.coll == Coll::kScatter && isRoot && count > 0) {
    // Every block but the root's own keeps its input.
    for (int b = 0; b < nranks; ++b) {
      if (b == rank) continue;
      const size_t at = static_cast<size_t>(b) * count * size;
      if (std::memcmp(send.data() + at, input.data() + at, count * size) != 0) {
        std::fprintf(stderr, "%s: block %d of sendbuff changed\n",
                     describe(c, rank, nranks).c_str(), b);
        ++wrong;
      }
    }
  }
  if (recv[recvCount * size] != static_cast<char>(0xA5)) {
    std::fprintf(stderr, "%s: wrote past the end of recvbuff\n", describe(c, rank, nranks).c_str());
    ++wrong;
  }
  return wrong;
}

// Modes: "<transport>[_<variant>]", set in the environment before the communicator is made.
// ring, binomial: TUTTI_ALGO pins the algorithm of broadcast and reduce (the cost model picks
// binomial for small calls and ring for large ones); fifo: every shared-memory message through
// the FIFOs; cma_all: every one by the single-copy rendezvous; hostsN: N posed hosts.
void applyMode(const std::string& mode, int rank, int nranks) {
  const std::string transport = mode.substr(0, mode.find('_'));
  const std::string variant =
      mode.find('_') == std::string::npos ? "" : mode.substr(mode.find('_') + 1);
  if (transport != "auto") setenv("TUTTI_TRANSPORT", transport.c_str(), 1);
  if (variant == "ring" || variant == "binomial") setenv("TUTTI_ALGO", variant.c_str(), 1);
  if (variant == "fifo") setenv("TUTTI_SHM_CMA", "0", 1);
  if (variant == "cma_all") {
    setenv("TUTTI_SHM_CMA", "1", 1);
    setenv("TUTTI_SHM_CMA_MIN_BYTES", "1", 1);
  }
  if (variant.rfind("hosts", 0) == 0) {
    const int hosts = std::atoi(variant.c_str() + 5);
    setenv("TUTTI_HOSTID", ("posed" + std::to_string(rank * hosts / nranks)).c_str(), 1);
  }
  if (variant == "devpieces") setenv("TUTTI_DEVICE_CHUNK_BYTES", "24", 1);  // pipelined
  if (variant == "dev" || variant == "devpieces") {
    setenv("TUTTI_DEVICE", "emulated", 1);
    gOnDevice = device::activeRuntime() != nullptr &&
                device::activeRuntime()->streamCreate(&gStream).isOk();
  }
}

class CollectiveSetTest : public ::testing::TestWithParam<std::tuple<int, const char*>> {};

TEST_P(CollectiveSetTest, ExactForEveryTypeOpCountRootAndPlacement) {
  const int nranks = std::get<0>(GetParam());
  const std::string mode = std::get<1>(GetParam());
  LaunchResult result = runRanks(nranks, [&](int rank, int nranks, const tuttiUniqueId& id) {
    applyMode(mode, rank, nranks);
    if (mode.find("_dev") != std::string::npos && !gOnDevice) return 4;
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 2;
    long failures = 0;
    const size_t counts[] = {0, 1, 2, 7, static_cast<size_t>(nranks) + 1, 131, 1000};
    // The root moves on with every call, so that a run covers every root with every
    // collective, type and count class.
    int call = 0;
    for (Coll coll : kColls) {
      for (int t = 0; t < tuttiNumTypes; ++t) {
        for (int o = 0; o < tuttiNumOps; ++o) {
          if (coll != Coll::kReduce && o > 0) break;  // no op
          for (size_t count : counts) {
            for (bool inPlace : {false, true}) {
              const Call c{coll,  static_cast<tuttiDataType_t>(t),    static_cast<tuttiRedOp_t>(o),
                           count, rooted(coll) ? call++ % nranks : 0, inPlace};
              const long wrong = runAndCheck(comm, rank, nranks, c);
              if (wrong < 0) return 3;
              failures += wrong;
            }
          }
        }
      }
    }
    // Several MiB: more than one slice per message, several binomial chunks, chains that
    // pipeline; first and last root.
    const size_t large = (3u << 20) / 4 + 13;
    for (Coll coll : kColls) {
      for (auto [type, op] : {std::pair{tuttiFloat32, tuttiSum}, std::pair{tuttiBfloat16, tuttiAvg},
                              std::pair{tuttiInt8, tuttiMax}}) {
        const bool perRank =
            coll == Coll::kAllToAll || coll == Coll::kGather || coll == Coll::kScatter;
        const size_t count = perRank ? large / nranks + 1 : large;
        for (bool inPlace : {false, true}) {
          const Call c{coll, type, op, count, inPlace ? nranks - 1 : 0, inPlace};
          const long wrong = runAndCheck(comm, rank, nranks, c);
          if (wrong < 0) return 3;
          failures += wrong;
        }
      }
    }
    tuttiCommDestroy(comm);
    return failures == 0 ? 0 : 1;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

INSTANTIATE_TEST_SUITE_P(Ranks, CollectiveSetTest,
                         ::testing::Combine(::testing::Values(1, 2, 3, 4, 5, 6, 7, 8),
                                            ::testing::Values("shm", "tcp")),
                         ranksTransportName);
// Device buffers on the emulated device, staged through pinned host memory.
INSTANTIATE_TEST_SUITE_P(EmulatedDevice, CollectiveSetTest,
                         ::testing::Combine(::testing::Values(1, 2, 3, 5),
                                            ::testing::Values("shm_dev", "tcp_dev")),
                         ranksTransportName);
INSTANTIATE_TEST_SUITE_P(PipelinedDevice, CollectiveSetTest,
                         ::testing::Combine(::testing::Values(3, 5),
                                            ::testing::Values("shm_devpieces", "tcp_devpieces")),
                         ranksTransportName);
INSTANTIATE_TEST_SUITE_P(Algorithms, CollectiveSetTest,
                         ::testing::Combine(::testing::Values(2, 3, 5, 8),
                                            ::testing::Values("shm_ring", "shm_binomial")),
                         ranksTransportName);
INSTANTIATE_TEST_SUITE_P(Paths, CollectiveSetTest,
                         ::testing::Values(std::make_tuple(3, "shm_fifo"),
                                           std::make_tuple(4, "shm_cma_all"),
                                           std::make_tuple(6, "auto_hosts3"),
                                           std::make_tuple(5, "tcp_binomial")),
                         ranksTransportName);

// Copies move bytes, never values: random bit patterns (NaN payloads, infinities, subnormals,
// negative zeros) of every type come out of broadcast, all-to-all, gather and scatter as they
// went in.
TEST(CollectiveSetBitsTest, CopiesKeepEveryBitPattern) {
  for (const char* transport : {"shm", "tcp"}) {
    LaunchResult result = runRanks(3, [&](int rank, int nranks, const tuttiUniqueId& id) {
      setenv("TUTTI_TRANSPORT", transport, 1);
      tuttiComm_t comm = initComm(rank, nranks, id);
      if (comm == nullptr) return 2;
      const size_t count = 257;
      const size_t n = static_cast<size_t>(nranks);
      // Every rank can compute every rank's bytes.
      auto bytesOf = [](int owner, size_t length) {
        std::vector<uint8_t> bytes(length);
        uint64_t state = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(owner + 1);
        for (uint8_t& b : bytes) {
          state ^= state << 13;
          state ^= state >> 7;
          state ^= state << 17;
          b = static_cast<uint8_t>(state >> 24);
        }
        // A few patterns random bytes rarely make: quiet and signalling NaNs with payloads,
        // infinities, subnormals, negative zero (as float32 words).
        const uint32_t special[] = {0x7FC12345u, 0x7F800001u, 0xFFBADBADu, 0x7F800000u,
                                    0xFF800000u, 0x00000001u, 0x807FFFFFu, 0x80000000u};
        for (size_t i = 0; i < sizeof(special) / 4 && (i + 1) * 4 <= length; ++i) {
          std::memcpy(bytes.data() + i * 4, &special[i], 4);
        }
        return bytes;
      };
      long failures = 0;
      for (int t = 0; t < tuttiNumTypes; ++t) {
        const auto type = static_cast<tuttiDataType_t>(t);
        const size_t size = typeSize(type);
        const int root = t % nranks;
        // Broadcast.
        std::vector<uint8_t> mine = bytesOf(rank, count * size);
        std::vector<uint8_t> out(count * size);
        if (tuttiBroadcast(rank == root ? mine.data() : nullptr, out.data(), count, type, root,
                           comm, nullptr) != tuttiSuccess) {
          return 3;
        }
        failures += out != bytesOf(root, count * size);
        // All-to-all: block j of rank r's input is bytes of r at j.
        std::vector<uint8_t> all = bytesOf(rank, n * count * size);
        std::vector<uint8_t> allOut(n * count * size);
        if (tuttiAlltoAll(all.data(), allOut.data(), count, type, comm, nullptr) != tuttiSuccess) {
          return 3;
        }
        for (int j = 0; j < nranks; ++j) {
          std::vector<uint8_t> theirs = bytesOf(j, n * count * size);
          failures += std::memcmp(allOut.data() + j * count * size,
                                  theirs.data() + rank * count * size, count * size) != 0;
        }
        // Gather to the root, then scatter back from it.
        std::vector<uint8_t> gathered(rank == root ? n * count * size : 0);
        if (tuttiGather(mine.data(), rank == root ? gathered.data() : nullptr, count, type, root,
                        comm, nullptr) != tuttiSuccess) {
          return 3;
        }
        if (rank == root) {
          for (int j = 0; j < nranks; ++j) {
            failures += std::memcmp(gathered.data() + j * count * size,
                                    bytesOf(j, count * size).data(), count * size) != 0;
          }
        }
        std::vector<uint8_t> back(count * size);
        if (tuttiScatter(rank == root ? gathered.data() : nullptr, back.data(), count, type, root,
                         comm, nullptr) != tuttiSuccess) {
          return 3;
        }
        failures += back != mine;
      }
      if (failures > 0) std::fprintf(stderr, "rank %d: %ld bit patterns changed\n", rank, failures);
      tuttiCommDestroy(comm);
      return failures == 0 ? 0 : 1;
    });
    EXPECT_TRUE(result.ok) << transport << ": " << result.failure;
  }
}

// Integer Sum and Prod wrap around in two's complement, in reduce as in the other reductions.
TEST(CollectiveSetWrapTest, IntegerSumAndProdWrap) {
  LaunchResult result = runRanks(3, [](int rank, int nranks, const tuttiUniqueId& id) {
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 2;
    const int root = 1;
    long failures = 0;
    // Values near the top of each width: sums and products overflow.
    auto check = [&](auto zero, tuttiDataType_t type) {
      using T = decltype(zero);
      using U = std::make_unsigned_t<T>;
      const size_t count = 5;
      for (tuttiRedOp_t op : {tuttiSum, tuttiProd}) {
        auto valueOf = [](int r, size_t i) {
          return static_cast<U>(static_cast<U>(~U{0}) - static_cast<U>(r * 7 + i * 3));
        };
        std::vector<T> in(count);
        for (size_t i = 0; i < count; ++i) in[i] = static_cast<T>(valueOf(rank, i));
        std::vector<T> out(count, 0);
        if (tuttiReduce(in.data(), rank == root ? out.data() : nullptr, count, type, op, root, comm,
                        nullptr) != tuttiSuccess) {
          return false;
        }
        if (rank != root) continue;
        for (size_t i = 0; i < count; ++i) {
          U want = op == tuttiSum ? U{0} : U{1};
          for (int r = 0; r < nranks; ++r) {
            want = op == tuttiSum ? static_cast<U>(want + valueOf(r, i))
                                  : static_cast<U>(want * valueOf(r, i));
          }
          if (static_cast<U>(out[i]) != want) ++failures;
        }
      }
      return true;
    };
    const bool ran = check(int8_t{0}, tuttiInt8) && check(uint8_t{0}, tuttiUint8) &&
                     check(int32_t{0}, tuttiInt32) && check(uint32_t{0}, tuttiUint32) &&
                     check(int64_t{0}, tuttiInt64) && check(uint64_t{0}, tuttiUint64);
    tuttiCommDestroy(comm);
    if (!ran) return 3;
    return failures == 0 ? 0 : 1;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// A bad root is tuttiInvalidArgument with a message naming it, on the rank that passed it, and
// harms nothing: the communicator goes on with the next call.
TEST(CollectiveSetArgsTest, BadRootIsRefusedAndTheCommunicatorGoesOn) {
  LaunchResult result = runRanks(2, [](int rank, int nranks, const tuttiUniqueId& id) {
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 2;
    std::vector<int32_t> data(4, rank + 1), out(8, 0);
    int failures = 0;
    for (int root : {-1, nranks, 1 << 30}) {
      const tuttiResult_t results[] = {
          tuttiBroadcast(data.data(), out.data(), 4, tuttiInt32, root, comm, nullptr),
          tuttiReduce(data.data(), out.data(), 4, tuttiInt32, tuttiSum, root, comm, nullptr),
          tuttiGather(data.data(), out.data(), 4, tuttiInt32, root, comm, nullptr),
          tuttiScatter(out.data(), data.data(), 4, tuttiInt32, root, comm, nullptr)};
      for (tuttiResult_t rc : results) {
        failures += rc != tuttiInvalidArgument;
        failures += std::string(tuttiGetLastError(comm)).find("root") == std::string::npos;
      }
    }
    // The root's buffers must be there; the others' may be NULL.
    failures += tuttiBroadcast(nullptr, out.data(), 4, tuttiInt32, rank, comm, nullptr) !=
                tuttiInvalidArgument;
    failures += std::string(tuttiGetLastError(comm)).find("sendbuff") == std::string::npos;
    failures += tuttiGather(data.data(), nullptr, 4, tuttiInt32, rank, comm, nullptr) !=
                tuttiInvalidArgument;
    failures += std::string(tuttiGetLastError(comm)).find("recvbuff") == std::string::npos;
    // Still usable: a reduce to rank 1 with rank 0's recvbuff NULL.
    failures += tuttiReduce(data.data(), rank == 1 ? out.data() : nullptr, 4, tuttiInt32, tuttiSum,
                            1, comm, nullptr) != tuttiSuccess;
    if (rank == 1) failures += out[0] != 3 || out[3] != 3;
    tuttiCommDestroy(comm);
    return failures == 0 ? 0 : 1;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

}  // namespace
}  // namespace tutti::test
