// The device reduction kernels against reduceArrays, bit for bit: hostReduce (what the emulated
// device runs) always, and the CUDA kernels when built with CUDA and a GPU is present.
#include <gtest/gtest.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "device/host_kernels.h"
#include "device/reduce_launch.h"
#include "exec/datatype.h"
#include "exec/reduce.h"

#if defined(TUTTI_HAVE_CUDA)
#include <cuda_runtime.h>

#include "device/cuda/cuda_kernels.h"
#endif

namespace tutti {
namespace device {
namespace {

bool isInteger(tuttiDataType_t type) { return type <= tuttiUint64; }

uint64_t maskOf(tuttiDataType_t type) {
  const size_t bits = 8 * dataTypeSize(type);
  return bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}

float decodeReduced(tuttiDataType_t type, uint64_t raw) {
  switch (type) {
    case tuttiFloat16:
      return halfToFloat(static_cast<uint16_t>(raw));
    case tuttiBfloat16:
      return bf16ToFloat(static_cast<uint16_t>(raw));
    case tuttiFloat8e4m3:
      return fp8e4m3ToFloat(static_cast<uint8_t>(raw));
    default:
      return fp8e5m2ToFloat(static_cast<uint8_t>(raw));
  }
}

uint64_t encodeReduced(tuttiDataType_t type, float value) {
  switch (type) {
    case tuttiFloat16:
      return floatToHalf(value);
    case tuttiBfloat16:
      return floatToBf16(value);
    case tuttiFloat8e4m3:
      return floatToFp8e4m3(value);
    default:
      return floatToFp8e5m2(value);
  }
}

bool isNanOf(tuttiDataType_t type, uint64_t raw) {
  if (isInteger(type)) return false;
  if (type == tuttiFloat32) return (raw & 0x7fffffffu) > 0x7f800000u;
  if (type == tuttiFloat64) return (raw & ~(uint64_t{1} << 63)) > 0x7ff0000000000000u;
  return decodeReduced(type, raw) != decodeReduced(type, raw);
}

// A NaN operand as arithmetic passes it on: quiet, payload kept.
uint64_t quieted(tuttiDataType_t type, uint64_t raw) {
  if (type == tuttiFloat32) return raw | 0x400000u;
  if (type == tuttiFloat64) return raw | (uint64_t{1} << 51);
  return encodeReduced(type, decodeReduced(type, raw));
}

// Both signs of: zero, one, the largest finite value, the smallest normal, the smallest and
// largest subnormal, infinity, quiet NaNs with and without payload, signaling NaNs with payload;
// for integers the extremes and their neighbours.
std::vector<uint64_t> edgeValues(tuttiDataType_t type) {
  if (isInteger(type)) {
    const uint64_t mask = maskOf(type);
    const uint64_t top = (mask >> 1) + 1;
    return {0, 1, 2, 3, mask, mask - 1, top, top - 1, top + 1, 100};
  }
  std::vector<uint64_t> magnitudes;
  uint64_t signBit = 0;
  switch (type) {
    case tuttiFloat16:
      magnitudes = {0x3c00, 0x7bff, 0x0400, 0x0001, 0x03ff, 0x7c00, 0x7e00, 0x7e55, 0x7c01};
      signBit = 0x8000;
      break;
    case tuttiBfloat16:
      magnitudes = {0x3f80, 0x7f7f, 0x0080, 0x0001, 0x007f, 0x7f80, 0x7fc0, 0x7fd5, 0x7f81};
      signBit = 0x8000;
      break;
    case tuttiFloat8e4m3:  // no infinity, one NaN
      magnitudes = {0x38, 0x7e, 0x08, 0x01, 0x07, 0x7f, 0x76};
      signBit = 0x80;
      break;
    case tuttiFloat8e5m2:
      magnitudes = {0x3c, 0x7b, 0x04, 0x01, 0x03, 0x7c, 0x7e, 0x7f, 0x7d};
      signBit = 0x80;
      break;
    case tuttiFloat32:
      magnitudes = {0x3f800000, 0x7f7fffff, 0x00800000, 0x00000001, 0x007fffff,
                    0x7f800000, 0x7fc00000, 0x7fc12345, 0x7f800001};
      signBit = 0x80000000u;
      break;
    default:  // float64
      magnitudes = {0x3ff0000000000000, 0x7fefffffffffffff, 0x0010000000000000, 1,
                    0x000fffffffffffff, 0x7ff0000000000000, 0x7ff8000000000000, 0x7ff8000012345678,
                    0x7ff0000000000001};
      signBit = uint64_t{1} << 63;
      break;
  }
  std::vector<uint64_t> values = {0, signBit};
  for (uint64_t magnitude : magnitudes) {
    values.push_back(magnitude);
    values.push_back(magnitude | signBit);
  }
  return values;
}

// Edge values, arbitrary bit patterns, and small numbers (whose sums land on rounding ties).
uint64_t randomElement(tuttiDataType_t type, const std::vector<uint64_t>& edges,
                       std::mt19937_64& rng) {
  const uint64_t pick = rng() % 8;
  if (pick == 0) return edges[rng() % edges.size()];
  if (pick < 4) return rng() & maskOf(type);
  const int small = static_cast<int>(rng() % 201) - 100;
  if (isInteger(type)) return static_cast<uint64_t>(static_cast<int64_t>(small)) & maskOf(type);
  const float value = static_cast<float>(small) / static_cast<float>(1 << (rng() % 6));
  if (type == tuttiFloat64) {
    const double wide = value;
    uint64_t bits;
    memcpy(&bits, &wide, sizeof(bits));
    return bits;
  }
  if (type == tuttiFloat32) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof(bits));
    return bits;
  }
  return encodeReduced(type, value);
}

uint64_t elementAt(const uint8_t* base, size_t i, size_t size) {
  uint64_t raw = 0;
  memcpy(&raw, base + i * size, size);  // little endian
  return raw;
}

std::string hexOf(uint64_t raw) {
  char text[32];
  snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(raw));
  return text;
}

// Three regions (a, b, and a separate dst) in one byte arena; where the operands start inside
// them, in elements, and whether dst is its own region or one of the inputs.
enum class Placement { kSeparate, kIntoA, kIntoB };
struct Layout {
  Placement placement;
  size_t dstShift, aShift, bShift;
};
// Equally aligned (the vector path), equally misaligned (vectors after a head), and all three
// differently aligned (elements only).
const Layout kLayouts[] = {
    {Placement::kSeparate, 0, 0, 0}, {Placement::kIntoA, 0, 0, 0}, {Placement::kIntoB, 0, 0, 0},
    {Placement::kSeparate, 1, 1, 1}, {Placement::kIntoA, 1, 1, 1}, {Placement::kIntoB, 1, 1, 1},
    {Placement::kSeparate, 3, 1, 2}, {Placement::kIntoA, 3, 1, 2}, {Placement::kIntoB, 3, 1, 2},
};
const size_t kCounts[] = {0, 1, 7, 31, 1000003};
constexpr size_t kLargeCount = 1000003;
constexpr uint8_t kGuard = 0xa5;

struct Case {
  tuttiDataType_t type;
  tuttiRedOp_t op;
  int divisor;
  size_t count;
  size_t dst, a, b;  // byte offsets into the arena
};

struct Arena {
  std::vector<uint8_t> bytes;
  Case shape;  // type, count and offsets; op and divisor are set per run
};

// The arena for one type, count and layout: a's and b's elements at their offsets (all edge
// pairs first, then random), guard bytes everywhere else.
Arena makeArena(tuttiDataType_t type, size_t count, const Layout& layout) {
  const size_t size = dataTypeSize(type);
  const size_t region = (count * size + 64 + 63) / 64 * 64;
  Arena arena{std::vector<uint8_t>(3 * region, kGuard), {}};
  const size_t a = layout.aShift * size, b = region + layout.bShift * size;
  size_t dst = 2 * region + layout.dstShift * size;
  if (layout.placement == Placement::kIntoA) dst = a;
  if (layout.placement == Placement::kIntoB) dst = b;
  arena.shape = Case{type, tuttiSum, 0, count, dst, a, b};

  const std::vector<uint64_t> edges = edgeValues(type);
  std::mt19937_64 rng(type * 1000 + count);
  for (size_t i = 0; i < count; ++i) {
    const bool edgePair = i < edges.size() * edges.size();
    const uint64_t x = edgePair ? edges[i / edges.size()] : randomElement(type, edges, rng);
    const uint64_t y = edgePair ? edges[i % edges.size()] : randomElement(type, edges, rng);
    memcpy(&arena.bytes[a + i * size], &x, size);
    memcpy(&arena.bytes[b + i * size], &y, size);
  }
  return arena;
}

// Runs one reduction on `arena` (a copy of the inputs' arena), leaving the result in it.
using Reducer = std::function<void(std::vector<uint8_t>& arena, const Case& c)>;

// Compares the reducer's arena with reduceArrays on the inputs: dst bit for bit, every other
// byte unchanged. The one freedom reduce.h leaves: Sum, Prod and Avg of two NaNs give either
// operand's NaN, quieted.
void checkCase(const Arena& inputs, tuttiRedOp_t op, int divisor, const Reducer& reduce,
               const std::string& what) {
  Case c = inputs.shape;
  c.op = op;
  c.divisor = divisor;
  const size_t size = dataTypeSize(c.type);
  std::vector<uint8_t> expected(c.count * size + 1);
  reduceArrays(expected.data(), &inputs.bytes[c.a], &inputs.bytes[c.b], c.count, c.type, op,
               divisor);
  std::vector<uint8_t> arena = inputs.bytes;
  reduce(arena, c);

  int failures = 0;
  for (size_t i = 0; i < c.count && failures < 5; ++i) {
    const uint64_t want = elementAt(expected.data(), i, size);
    const uint64_t got = elementAt(&arena[c.dst], i, size);
    if (got == want) continue;
    const uint64_t x = elementAt(&inputs.bytes[c.a], i, size);
    const uint64_t y = elementAt(&inputs.bytes[c.b], i, size);
    const bool eitherNan = op != tuttiMax && op != tuttiMin && isNanOf(c.type, x) &&
                           isNanOf(c.type, y) &&
                           (got == quieted(c.type, x) || got == quieted(c.type, y));
    if (eitherNan) continue;
    ADD_FAILURE() << what << ": element " << i << " of " << hexOf(x) << ", " << hexOf(y)
                  << ": reduceArrays gave " << hexOf(want) << ", the kernel " << hexOf(got);
    ++failures;
  }
  for (size_t i = 0; i < arena.size(); ++i) {
    if (i >= c.dst && i < c.dst + c.count * size) continue;
    if (arena[i] != inputs.bytes[i]) {
      ADD_FAILURE() << what << ": byte " << i << " outside dst was written";
      break;
    }
  }
}

// Every type, op (Avg with and without a divisor; the others must ignore one), count and
// layout; the large count in fewer layouts.
void checkAllCases(const Reducer& reduce) {
  for (int t = 0; t < tuttiNumTypes; ++t) {
    const tuttiDataType_t type = static_cast<tuttiDataType_t>(t);
    for (size_t count : kCounts) {
      for (size_t l = 0; l < std::size(kLayouts); ++l) {
        if (count == kLargeCount && l % 4 != 0) continue;  // layouts 0, 4 and 8
        const Arena arena = makeArena(type, count, kLayouts[l]);
        for (int op = 0; op < tuttiNumOps; ++op) {
          for (int divisor : {0, 3}) {
            const std::string what = std::string(dataTypeName(type)) + " " +
                                     redOpName(static_cast<tuttiRedOp_t>(op)) + " avgDivisor " +
                                     std::to_string(divisor) + " count " + std::to_string(count) +
                                     " layout " + std::to_string(l);
            checkCase(arena, static_cast<tuttiRedOp_t>(op), divisor, reduce, what);
            if (::testing::Test::HasFailure()) return;
          }
        }
      }
    }
  }
}

TEST(DeviceKernelsTest, HostReduceGivesReduceArraysBits) {
  checkAllCases([](std::vector<uint8_t>& arena, const Case& c) {
    ReduceLaunch launch;
    launch.dst = &arena[c.dst];
    launch.a = &arena[c.a];
    launch.b = &arena[c.b];
    launch.count = c.count;
    launch.type = c.type;
    launch.op = c.op;
    launch.avgDivisor = c.divisor;
    hostReduce(launch);
  });
}

// A divisor larger than an 8-bit type's range, and the Avg of two maxima, where the sum wraps.
TEST(DeviceKernelsTest, HostReduceAvgDividesTheWrappedSum) {
  int8_t a[] = {127, -128, 100}, b[] = {127, -128, -1}, out[3] = {};
  ReduceLaunch launch;
  launch.dst = out;
  launch.a = a;
  launch.b = b;
  launch.count = 3;
  launch.type = tuttiInt8;
  launch.op = tuttiAvg;
  launch.avgDivisor = 1000;
  hostReduce(launch);
  EXPECT_EQ(out[0], 0);  // 254 wraps to -2; -2 / 1000 truncates to 0
  launch.avgDivisor = 2;
  hostReduce(launch);
  EXPECT_EQ(out[0], -1);
  EXPECT_EQ(out[1], 0);   // -256 wraps to 0
  EXPECT_EQ(out[2], 49);  // 99 / 2
}

#if defined(TUTTI_HAVE_CUDA)

// The reason to skip, or empty when a device is there.
std::string noDeviceReason() {
  int devices = 0;
  const cudaError_t error = cudaGetDeviceCount(&devices);
  if (error != cudaSuccess) return std::string("no CUDA device: ") + cudaGetErrorString(error);
  if (devices == 0) return "no CUDA device";
  return "";
}

TEST(DeviceKernelsCudaTest, ReduceKernelGivesReduceArraysBits) {
  const std::string reason = noDeviceReason();
  if (!reason.empty()) GTEST_SKIP() << reason;
  int smCount = 0;
  ASSERT_EQ(deviceSmCount(0, &smCount), 0);
  ASSERT_GT(smCount, 0);
  // One device arena for the largest case; cudaMalloc aligns it to 256 bytes, so the host's
  // offsets keep their alignment classes.
  const size_t most = 3 * ((kLargeCount * 8 + 64 + 63) / 64 * 64);
  uint8_t* device = nullptr;
  ASSERT_EQ(cudaMalloc(&device, most), cudaSuccess);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  checkAllCases([&](std::vector<uint8_t>& arena, const Case& c) {
    ASSERT_LE(arena.size(), most);
    ASSERT_EQ(cudaMemcpy(device, arena.data(), arena.size(), cudaMemcpyHostToDevice), cudaSuccess);
    ReduceLaunch launch;
    launch.dst = device + c.dst;
    launch.a = device + c.a;
    launch.b = device + c.b;
    launch.count = c.count;
    launch.type = c.type;
    launch.op = c.op;
    launch.avgDivisor = c.divisor;
    ASSERT_EQ(launchReduceKernel(launch, stream, smCount), 0);
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(arena.data(), device, arena.size(), cudaMemcpyDeviceToHost), cudaSuccess);
  });
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  EXPECT_EQ(cudaFree(device), cudaSuccess);
}

TEST(DeviceKernelsCudaTest, ReduceKernelRejectsTypesAndOpsOutOfRange) {
  const std::string reason = noDeviceReason();
  if (!reason.empty()) GTEST_SKIP() << reason;
  ReduceLaunch launch;
  launch.count = 1;
  launch.type = static_cast<tuttiDataType_t>(tuttiNumTypes);
  EXPECT_EQ(launchReduceKernel(launch, nullptr, 0), static_cast<int>(cudaErrorInvalidValue));
  launch.type = tuttiFloat32;
  launch.op = static_cast<tuttiRedOp_t>(tuttiNumOps);
  EXPECT_EQ(launchReduceKernel(launch, nullptr, 0), static_cast<int>(cudaErrorInvalidValue));
}

// The copy queued after the wait must not land before a host thread raises the flag (50 ms
// later), and must land after.
TEST(DeviceKernelsCudaTest, WaitFlagKernelHoldsTheStream) {
  const std::string reason = noDeviceReason();
  if (!reason.empty()) GTEST_SKIP() << reason;
  uint64_t* flag = nullptr;
  ASSERT_EQ(cudaHostAlloc(reinterpret_cast<void**>(&flag), sizeof(uint64_t), cudaHostAllocMapped),
            cudaSuccess);
  volatile uint32_t* landed = nullptr;
  ASSERT_EQ(cudaHostAlloc((void**)&landed, sizeof(uint32_t), cudaHostAllocDefault), cudaSuccess);
  *flag = 0;
  *landed = 0;
  uint32_t* source = nullptr;
  ASSERT_EQ(cudaMalloc(&source, sizeof(uint32_t)), cudaSuccess);
  const uint32_t marker = 0x12345678u;
  ASSERT_EQ(cudaMemcpy(source, &marker, sizeof(marker), cudaMemcpyHostToDevice), cudaSuccess);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);

  ASSERT_EQ(launchWaitFlagKernel(flag, 2, stream), 0);
  ASSERT_EQ(
      cudaMemcpyAsync((void*)landed, source, sizeof(uint32_t), cudaMemcpyDeviceToHost, stream),
      cudaSuccess);
  std::atomic<bool> raised{false};
  std::thread raiser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    __atomic_store_n(flag, 1, __ATOMIC_RELEASE);  // below the value: must not release the stream
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    raised.store(true);
    __atomic_store_n(flag, 2, __ATOMIC_RELEASE);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(cudaStreamQuery(stream), cudaErrorNotReady);
  // Watch the destination until the copy lands: `raised` is set before the flag, so it must be
  // true by then.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (*landed != marker && std::chrono::steady_clock::now() < deadline) {
  }
  const bool wasRaised = raised.load();
  raiser.join();
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_TRUE(wasRaised) << "the copy ran before the flag was raised";
  EXPECT_EQ(*landed, marker);

  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  EXPECT_EQ(cudaFree(source), cudaSuccess);
  EXPECT_EQ(cudaFreeHost((void*)landed), cudaSuccess);
  EXPECT_EQ(cudaFreeHost(flag), cudaSuccess);
}

#endif  // TUTTI_HAVE_CUDA

}  // namespace
}  // namespace device
}  // namespace tutti
