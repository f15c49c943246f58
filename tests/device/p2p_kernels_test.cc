// The p2p path's host kernels (what the emulated device runs; device/p2p_launch.h): the N-input
// reduction gives a chain of two-input reductions' bits (hostReduce, itself held to
// reduceArrays by device_kernels_test.cc) for every type and op, and the barrier lets members
// through together, and gives up with its error word at the timeout.
#include <gtest/gtest.h>
#include <stdint.h>
#include <string.h>

#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "device/host_kernels.h"
#include "device/p2p_launch.h"
#include "exec/datatype.h"

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

}  // namespace
}  // namespace device
}  // namespace tutti
