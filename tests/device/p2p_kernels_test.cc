// The p2p path's host kernels (what the emulated device runs; device/p2p_launch.h): the N-input
// reduction gives a chain of two-input reductions' bits (hostReduce, itself held to
// reduceArrays by device_kernels_test.cc) for every type and op, and the barrier lets members
// through together, and gives up with its error word at the timeout.
#include <gtest/gtest.h>
#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "device/host_kernels.h"
#include "device/p2p_launch.h"
#include "exec/datatype.h"

#if defined(TUTTI_HAVE_CUDA)
#include <cuda_runtime.h>

#include "device/cuda/cuda_kernels.h"
#endif

namespace tutti {
namespace device {
namespace {

// Random bytes: NaNs with payloads, infinities, subnormals and integer extremes all turn up.
std::vector<unsigned char> randomBytes(size_t bytes, std::mt19937_64& random) {
  std::vector<unsigned char> data(bytes);
  for (unsigned char& b : data) b = static_cast<unsigned char>(random());
  return data;
}

TEST(P2pKernelsTest, ReduceManyMatchesAChainOfTwoInputReductions) {
  std::mt19937_64 random(7);
  const size_t count = 257;
  for (int t = 0; t < tuttiNumTypes; ++t) {
    const auto type = static_cast<tuttiDataType_t>(t);
    const size_t bytes = count * dataTypeSize(type);
    for (int o = 0; o < tuttiNumOps; ++o) {
      const auto op = static_cast<tuttiRedOp_t>(o);
      for (int n : {2, 3, 5, kMaxP2pRanks}) {
        std::vector<std::vector<unsigned char>> inputs;
        ReduceManyLaunch launch;
        for (int j = 0; j < n; ++j) {
          inputs.push_back(randomBytes(bytes, random));
          launch.inputs[j] = inputs.back().data();
        }
        const int divisor = op == tuttiAvg ? n : 0;
        std::vector<unsigned char> got(bytes + 1, 0xA5), want = inputs[0];
        launch.dst = got.data();
        launch.inputCount = n;
        launch.count = count;
        launch.type = type;
        launch.op = op;
        launch.avgDivisor = divisor;
        hostReduceMany(launch);
        for (int j = 1; j < n; ++j) {
          ReduceLaunch step;
          step.dst = want.data();
          step.a = want.data();
          step.b = inputs[j].data();
          step.count = count;
          step.type = type;
          step.op = op;
          step.avgDivisor = j == n - 1 ? divisor : 0;
          hostReduce(step);
        }
        EXPECT_EQ(memcmp(got.data(), want.data(), bytes), 0)
            << dataTypeName(type) << " op " << o << " with " << n << " inputs";
        EXPECT_EQ(got[bytes], 0xA5) << "wrote past the end";
      }
      // One input: a copy, as a one-rank collective makes (Avg's division by 1 is skipped).
      std::vector<unsigned char> input = randomBytes(bytes, random), got(bytes, 0);
      ReduceManyLaunch one;
      one.dst = got.data();
      one.inputs[0] = input.data();
      one.inputCount = 1;
      one.count = count;
      one.type = type;
      one.op = op;
      one.avgDivisor = op == tuttiAvg ? 1 : 0;
      hostReduceMany(one);
      EXPECT_EQ(got, input) << dataTypeName(type) << " op " << o << " with one input";
    }
  }
}

// In place: the destination is the first input.
TEST(P2pKernelsTest, ReduceManyInPlace) {
  std::vector<int32_t> a = {1, 2, 3}, b = {10, 20, 30}, c = {100, 200, 300};
  ReduceManyLaunch launch;
  launch.dst = a.data();
  launch.inputs[0] = a.data();
  launch.inputs[1] = b.data();
  launch.inputs[2] = c.data();
  launch.inputCount = 3;
  launch.count = 3;
  launch.type = tuttiInt32;
  launch.op = tuttiSum;
  hostReduceMany(launch);
  EXPECT_EQ(a, (std::vector<int32_t>{111, 222, 333}));
}

// In place over many of the host kernel's blocks (16 KiB each) and a partial last one, with the
// destination a middle input: the same bits as out of place.
TEST(P2pKernelsTest, ReduceManyInPlaceOverSeveralBlocks) {
  const size_t count = 3 * 4096 + 77;  // int32: three full blocks and a partial one
  std::vector<std::vector<int32_t>> in(4, std::vector<int32_t>(count));
  for (size_t j = 0; j < in.size(); ++j) {
    for (size_t i = 0; i < count; ++i) in[j][i] = static_cast<int32_t>((i * 7 + j * 1000) % 9973);
  }
  ReduceManyLaunch launch;
  for (size_t j = 0; j < in.size(); ++j) launch.inputs[j] = in[j].data();
  launch.inputCount = static_cast<int>(in.size());
  launch.count = count;
  launch.type = tuttiInt32;
  launch.op = tuttiMax;
  std::vector<int32_t> want(count);
  launch.dst = want.data();
  hostReduceMany(launch);
  launch.dst = in[2].data();
  hostReduceMany(launch);
  EXPECT_EQ(in[2], want);
  EXPECT_EQ(want[count - 1], std::max({in[0][count - 1], in[1][count - 1], in[3][count - 1],
                                       static_cast<int32_t>(((count - 1) * 7 + 2000) % 9973)}));
}

// Members' flag areas, as the windows hold them: area r, slot s at flags[r * kMaxP2pRanks + s].
struct Group {
  explicit Group(int ranks) : ranks(ranks), flags(static_cast<size_t>(ranks) * kMaxP2pRanks, 0) {}
  BarrierLaunch launch(int rank, uint64_t value, int64_t timeoutMs) {
    BarrierLaunch b;
    for (int r = 0; r < ranks; ++r) b.announce[r] = &flags[r * kMaxP2pRanks + rank];
    b.slots = &flags[rank * kMaxP2pRanks];
    b.ranks = ranks;
    b.value = value;
    b.error = &error;
    b.timeoutMs = timeoutMs;
    return b;
  }
  int ranks;
  std::vector<uint64_t> flags;
  uint64_t error = 0;
};

TEST(P2pKernelsTest, BarrierLetsEveryMemberThroughTogether) {
  const int ranks = 5;
  Group group(ranks);
  std::vector<int> passed(ranks, 0);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      for (uint64_t value = 1; value <= 50; ++value) {
        hostBarrier(group.launch(r, value, 10000));
        // Nobody is through barrier k before everyone reached it.
        for (int p = 0; p < ranks; ++p) {
          if (__atomic_load_n(&group.flags[r * kMaxP2pRanks + p], __ATOMIC_ACQUIRE) < value) {
            return;
          }
        }
        ++passed[r];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(group.error, 0u);
  for (int r = 0; r < ranks; ++r) EXPECT_EQ(passed[r], 50) << "rank " << r;
}

TEST(P2pKernelsTest, BarrierGivesUpAtTheTimeoutWithItsErrorWord) {
  Group group(2);
  auto msSince = [](std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  };
  const auto start = std::chrono::steady_clock::now();
  hostBarrier(group.launch(0, 7, 200));  // member 1 never comes
  const double ms = msSince(start);
  EXPECT_EQ(group.error, 7u);
  EXPECT_GE(ms, 200);
  EXPECT_LT(ms, 5000);
  // Once the word is set, later barriers return at once, announcing nothing.
  const auto again = std::chrono::steady_clock::now();
  hostBarrier(group.launch(0, 8, 200));
  EXPECT_LT(msSince(again), 100);
  EXPECT_EQ(group.flags[1 * kMaxP2pRanks + 0], 7u);
  EXPECT_EQ(group.error, 7u);
}

// An abort (or another barrier's timeout) sets the error word while a barrier waits: it ends at
// once, not at its timeout.
TEST(P2pKernelsTest, BarrierStopsWaitingWhenTheErrorWordIsSet) {
  Group group(2);
  const auto start = std::chrono::steady_clock::now();
  std::thread waiter([&] { hostBarrier(group.launch(0, 1, 20000)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  __atomic_store_n(&group.error, kP2pAborted, __ATOMIC_RELEASE);
  waiter.join();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(ms, 5000);
  EXPECT_EQ(group.error, kP2pAborted);  // not overwritten by a timeout
}

// A call's first barrier compares the members' call descriptors: with one member's call
// different, every member ends with kP2pMismatch in its own error word, and its report names the
// first member whose call differs from its own, with both calls. Alike calls pass untouched.
TEST(P2pKernelsTest, FirstBarrierFindsAMemberMakingAnotherCall) {
  const int ranks = 3;
  std::vector<uint64_t> flags(ranks * kMaxP2pRanks, 0);
  std::vector<uint64_t> published(ranks * kP2pCallWords, 0);
  std::vector<uint64_t> errors(ranks, 0);
  std::vector<uint64_t> reports(ranks * kP2pMismatchWords, 0);
  auto launchFor = [&](int rank, uint64_t value, const std::vector<uint64_t>& call) {
    BarrierLaunch b;
    for (int r = 0; r < ranks; ++r) {
      b.announce[r] = &flags[r * kMaxP2pRanks + rank];
      b.members[r] = &published[r * kP2pCallWords];
    }
    b.slots = &flags[rank * kMaxP2pRanks];
    b.ranks = ranks;
    b.value = value;
    b.error = &errors[rank];
    b.timeoutMs = 10000;
    std::copy(call.begin(), call.end(), b.call);
    b.publish = &published[rank * kP2pCallWords];
    b.mismatch = &reports[rank * kP2pMismatchWords];
    return b;
  };
  // Every word is compared: the odd member differs only in the last words (the registered
  // windows it reads, core/p2p_schedule.h's P2pCallCheck).
  const std::vector<uint64_t> alike{11, 1, 100, 7, 0, 0, 0}, other{11, 1, 100, 7, 1, 256, 0};
  static_assert(kP2pCallWords == 7, "the vectors' words");
  auto barrierAll = [&](uint64_t value, int odd) {
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r) {
      threads.emplace_back([&, r] { hostBarrier(launchFor(r, value, r == odd ? other : alike)); });
    }
    for (std::thread& t : threads) t.join();
  };
  barrierAll(1, -1);
  EXPECT_EQ(errors, std::vector<uint64_t>(ranks, 0));
  barrierAll(2, 2);
  for (int r = 0; r < ranks; ++r) {
    EXPECT_EQ(errors[r], kP2pMismatch) << "rank " << r;
    const uint64_t* report = &reports[r * kP2pMismatchWords];
    const int member = r == 2 ? 0 : 2;  // the first member whose call differs from its own
    EXPECT_EQ(report[0], static_cast<uint64_t>(member) + 1) << "rank " << r;
    const std::vector<uint64_t> theirs(report + 1, report + 1 + kP2pCallWords);
    const std::vector<uint64_t> mine(report + 1 + kP2pCallWords, report + kP2pMismatchWords);
    EXPECT_EQ(theirs, member == 2 ? other : alike) << "rank " << r;
    EXPECT_EQ(mine, r == 2 ? other : alike) << "rank " << r;
  }
}

#if defined(TUTTI_HAVE_CUDA)

// The CUDA kernels of the p2p path against the host's (skipped without a device): the N-input
// reduction's bits for every type, op and input count, vectorised (inputs at the destination's
// offset from a 16-byte boundary) and element by element (one input a byte off), and the barrier
// kernel between two streams standing for two ranks, and alone until its timeout.
std::string noCudaDevice() {
  int devices = 0;
  const cudaError_t error = cudaGetDeviceCount(&devices);
  if (error != cudaSuccess) return std::string("no CUDA device: ") + cudaGetErrorString(error);
  return devices == 0 ? "no CUDA device" : "";
}

TEST(P2pKernelsCudaTest, ReduceManyKernelGivesTheHostsBits) {
  const std::string reason = noCudaDevice();
  if (!reason.empty()) GTEST_SKIP() << reason;
  std::mt19937_64 random(11);
  const size_t count = 1001;
  const size_t slot = 8 * count + 256;  // one input or the output, 256-byte aligned
  char* device = nullptr;
  ASSERT_EQ(cudaMalloc(&device, (kMaxP2pRanks + 1) * slot), cudaSuccess);
  for (int t = 0; t < tuttiNumTypes; ++t) {
    const auto type = static_cast<tuttiDataType_t>(t);
    const size_t bytes = count * dataTypeSize(type);
    for (int o = 0; o < tuttiNumOps; ++o) {
      for (int n : {2, 3, kMaxP2pRanks}) {
        for (size_t skew : {size_t{0}, dataTypeSize(type)}) {  // vectors; one input off by one
          ReduceManyLaunch host, gpu;
          std::vector<std::vector<unsigned char>> inputs;
          for (int j = 0; j < n; ++j) {
            inputs.push_back(randomBytes(bytes, random));
            host.inputs[j] = inputs.back().data();
            char* at = device + (j + 1) * slot + (j == 1 ? skew : 0);
            ASSERT_EQ(cudaMemcpy(at, inputs.back().data(), bytes, cudaMemcpyHostToDevice),
                      cudaSuccess);
            gpu.inputs[j] = at;
          }
          std::vector<unsigned char> want(bytes), got(bytes);
          for (ReduceManyLaunch* launch : {&host, &gpu}) {
            launch->inputCount = n;
            launch->count = count;
            launch->type = type;
            launch->op = static_cast<tuttiRedOp_t>(o);
            launch->avgDivisor = o == tuttiAvg ? n : 0;
          }
          host.dst = want.data();
          gpu.dst = device;
          hostReduceMany(host);
          ASSERT_EQ(launchReduceManyKernel(gpu, nullptr, 0), 0);
          ASSERT_EQ(cudaMemcpy(got.data(), device, bytes, cudaMemcpyDeviceToHost), cudaSuccess);
          EXPECT_EQ(got, want) << dataTypeName(type) << " op " << o << ", " << n << " inputs, skew "
                               << skew;
        }
      }
    }
  }
  cudaFree(device);
}

TEST(P2pKernelsCudaTest, BarrierKernelBetweenTwoStreamsAndAlone) {
  const std::string reason = noCudaDevice();
  if (!reason.empty()) GTEST_SKIP() << reason;
  uint64_t* flags = nullptr;  // two members' areas, kMaxP2pRanks slots each, in device memory
  ASSERT_EQ(cudaMalloc(&flags, 2 * kMaxP2pRanks * sizeof(uint64_t)), cudaSuccess);
  ASSERT_EQ(cudaMemset(flags, 0, 2 * kMaxP2pRanks * sizeof(uint64_t)), cudaSuccess);
  uint64_t* error = nullptr;
  ASSERT_EQ(cudaHostAlloc(&error, sizeof(uint64_t), cudaHostAllocMapped), cudaSuccess);
  *error = 0;
  cudaStream_t streams[2];
  for (cudaStream_t& s : streams)
    ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  auto launchFor = [&](int rank, uint64_t value, int ranks, int64_t timeoutMs) {
    BarrierLaunch b;
    for (int r = 0; r < ranks; ++r) b.announce[r] = flags + r * kMaxP2pRanks + rank;
    b.slots = flags + rank * kMaxP2pRanks;
    b.ranks = ranks;
    b.value = value;
    b.error = error;
    b.timeoutMs = timeoutMs;
    return launchBarrierKernel(b, streams[rank]);
  };
  for (uint64_t value = 1; value <= 20; ++value) {
    ASSERT_EQ(launchFor(0, value, 2, 10000), 0);
    ASSERT_EQ(launchFor(1, value, 2, 10000), 0);
  }
  for (cudaStream_t s : streams) ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  EXPECT_EQ(*error, 0u);
  // Member 1 never comes to barrier 21: member 0 gives up after 100 ms with its value.
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(launchFor(0, 21, 2, 100), 0);
  ASSERT_EQ(cudaStreamSynchronize(streams[0]), cudaSuccess);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(*error, 21u);
  EXPECT_GE(ms, 90);
  EXPECT_LT(ms, 5000);
  for (cudaStream_t s : streams) cudaStreamDestroy(s);
  cudaFree(flags);
  cudaFreeHost(error);
}

// The kernel's call check, as FirstBarrierFindsAMemberMakingAnotherCall checks the host's: two
// streams stand for two members with their own error words and reports; alike calls pass, then
// member 1 makes another call and both end with kP2pMismatch naming the other and both calls.
TEST(P2pKernelsCudaTest, BarrierKernelFindsAMemberMakingAnotherCall) {
  const std::string reason = noCudaDevice();
  if (!reason.empty()) GTEST_SKIP() << reason;
  const size_t flagWords = 2 * kMaxP2pRanks + 2 * kP2pCallWords;  // slots, then descriptors
  uint64_t* flags = nullptr;
  ASSERT_EQ(cudaMalloc(&flags, flagWords * sizeof(uint64_t)), cudaSuccess);
  ASSERT_EQ(cudaMemset(flags, 0, flagWords * sizeof(uint64_t)), cudaSuccess);
  uint64_t* descriptors = flags + 2 * kMaxP2pRanks;
  uint64_t* host = nullptr;  // per member: an error word, then a report
  const size_t perMember = 1 + kP2pMismatchWords;
  ASSERT_EQ(cudaHostAlloc(&host, 2 * perMember * sizeof(uint64_t), cudaHostAllocMapped),
            cudaSuccess);
  std::fill(host, host + 2 * perMember, 0);
  cudaStream_t streams[2];
  for (cudaStream_t& s : streams)
    ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  const uint64_t alike[kP2pCallWords] = {5, 1, 100, 3, 1, 64, 0},
                 other[kP2pCallWords] = {5, 1, 100, 3, 1, 64, 512};  // the last word differs
  auto launchFor = [&](int rank, uint64_t value, const uint64_t* call) {
    BarrierLaunch b;
    for (int r = 0; r < 2; ++r) {
      b.announce[r] = flags + r * kMaxP2pRanks + rank;
      b.members[r] = descriptors + r * kP2pCallWords;
    }
    b.slots = flags + rank * kMaxP2pRanks;
    b.ranks = 2;
    b.value = value;
    b.error = host + rank * perMember;
    b.timeoutMs = 10000;
    std::copy(call, call + kP2pCallWords, b.call);
    b.publish = descriptors + rank * kP2pCallWords;
    b.mismatch = host + rank * perMember + 1;
    return launchBarrierKernel(b, streams[rank]);
  };
  ASSERT_EQ(launchFor(0, 1, alike), 0);
  ASSERT_EQ(launchFor(1, 1, alike), 0);
  for (cudaStream_t s : streams) ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  EXPECT_EQ(host[0], 0u);
  EXPECT_EQ(host[perMember], 0u);
  ASSERT_EQ(launchFor(0, 2, alike), 0);
  ASSERT_EQ(launchFor(1, 2, other), 0);
  for (cudaStream_t s : streams) ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  for (int rank = 0; rank < 2; ++rank) {
    const uint64_t* mine = host + rank * perMember;
    EXPECT_EQ(mine[0], kP2pMismatch) << "member " << rank;
    EXPECT_EQ(mine[1], static_cast<uint64_t>(1 - rank) + 1) << "member " << rank;
    const int last = kP2pCallWords - 1;
    EXPECT_EQ(mine[1 + last], rank == 0 ? 512u : 0u) << "member " << rank;  // theirs
    EXPECT_EQ(mine[1 + kP2pCallWords + last], rank == 0 ? 0u : 512u) << "member " << rank;
  }
  for (cudaStream_t s : streams) cudaStreamDestroy(s);
  cudaFree(flags);
  cudaFreeHost(host);
}

#endif  // TUTTI_HAVE_CUDA

}  // namespace
}  // namespace device
}  // namespace tutti
