#include "exec/reduce.h"

#include <gtest/gtest.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "exec/datatype.h"

namespace tutti {
namespace {

// Elements are handled as raw bit patterns (zero-extended into a uint64_t) so that one code path
// serves every type; the reference decodes them to exact integers or to doubles.

bool isIntegerType(tuttiDataType_t type) { return type <= tuttiUint64; }

bool isSignedInteger(tuttiDataType_t type) {
  return type == tuttiInt8 || type == tuttiInt32 || type == tuttiInt64;
}

uint64_t maskOf(tuttiDataType_t type) {
  const size_t bits = 8 * dataTypeSize(type);
  return bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}

int64_t signExtend(tuttiDataType_t type, uint64_t raw) {
  const size_t bits = 8 * dataTypeSize(type);
  if (bits == 64) return static_cast<int64_t>(raw);
  const uint64_t signBit = uint64_t{1} << (bits - 1);
  return static_cast<int64_t>((raw ^ signBit) - signBit);
}

double decodeFloat(tuttiDataType_t type, uint64_t raw) {
  switch (type) {
    case tuttiFloat16:
      return halfToFloat(static_cast<uint16_t>(raw));
    case tuttiBfloat16:
      return bf16ToFloat(static_cast<uint16_t>(raw));
    case tuttiFloat8e4m3:
      return fp8e4m3ToFloat(static_cast<uint8_t>(raw));
    case tuttiFloat8e5m2:
      return fp8e5m2ToFloat(static_cast<uint8_t>(raw));
    case tuttiFloat32: {
      float value;
      const uint32_t bits = static_cast<uint32_t>(raw);
      memcpy(&value, &bits, sizeof(value));
      return value;
    }
    case tuttiFloat64: {
      double value;
      memcpy(&value, &raw, sizeof(value));
      return value;
    }
    default:
      ADD_FAILURE() << "not a floating type: " << type;
      return 0;
  }
}

// Rounds a double to the type. For float32 and the reduced types this goes through float32;
// since the reference's inputs are values of the type, float32 (24 bits) is wide enough for
// rounding twice to give the same result as rounding once.
uint64_t encodeFloat(tuttiDataType_t type, double value) {
  const float narrow = static_cast<float>(value);
  switch (type) {
    case tuttiFloat16:
      return floatToHalf(narrow);
    case tuttiBfloat16:
      return floatToBf16(narrow);
    case tuttiFloat8e4m3:
      return floatToFp8e4m3(narrow);
    case tuttiFloat8e5m2:
      return floatToFp8e5m2(narrow);
    case tuttiFloat32: {
      uint32_t bits;
      memcpy(&bits, &narrow, sizeof(bits));
      return bits;
    }
    case tuttiFloat64: {
      uint64_t bits;
      memcpy(&bits, &value, sizeof(bits));
      return bits;
    }
    default:
      ADD_FAILURE() << "not a floating type: " << type;
      return 0;
  }
}

// fmax/fmin, with +0 above -0 as reduceArrays documents.
double referenceMax(double x, double y) {
  if (std::isnan(x)) return y;
  if (std::isnan(y)) return x;
  if (x == 0 && y == 0) return (std::signbit(x) && std::signbit(y)) ? -0.0 : 0.0;
  return std::fmax(x, y);
}

double referenceMin(double x, double y) {
  if (std::isnan(x)) return y;
  if (std::isnan(y)) return x;
  if (x == 0 && y == 0) return (std::signbit(x) || std::signbit(y)) ? -0.0 : 0.0;
  return std::fmin(x, y);
}

struct Expected {
  uint64_t raw;
  bool anyNan;  // any NaN of the type is right; its payload and sign are unspecified
};

// Truncating division of the type's value by divisor, by magnitudes, so that it does not lean
// on the C++ rounding rule that the implementation uses.
uint64_t referenceIntegerDivide(tuttiDataType_t type, uint64_t raw, int divisor) {
  const uint64_t d = static_cast<uint64_t>(divisor);
  if (!isSignedInteger(type)) return (raw / d) & maskOf(type);
  const int64_t value = signExtend(type, raw);
  const uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value) : value;
  const uint64_t quotient = magnitude / d;
  return (value < 0 ? 0 - quotient : quotient) & maskOf(type);
}

// Floating Avg's last step: the sum is rounded to the reduction type, then divided there.
double referenceFloatDivide(tuttiDataType_t type, double sum, int divisor) {
  if (type == tuttiFloat64) return sum / divisor;
  // Double division then rounding to float32 equals float32 division: 53 >= 2 * 24 + 2.
  return static_cast<double>(static_cast<float>(sum)) / divisor;
}

Expected reference(tuttiDataType_t type, tuttiRedOp_t op, uint64_t a, uint64_t b, int avgDivisor) {
  const bool divide = op == tuttiAvg && avgDivisor > 0;
  if (isIntegerType(type)) {
    const bool isSigned = isSignedInteger(type);
    uint64_t result = 0;
    switch (op) {
      case tuttiSum:
      case tuttiAvg:
        result = (a + b) & maskOf(type);
        break;
      case tuttiProd:
        result = (a * b) & maskOf(type);  // the low bits of a product depend on low bits only
        break;
      case tuttiMax:
        result = (isSigned ? signExtend(type, a) > signExtend(type, b) : a > b) ? a : b;
        break;
      case tuttiMin:
        result = (isSigned ? signExtend(type, a) < signExtend(type, b) : a < b) ? a : b;
        break;
      default:
        ADD_FAILURE() << "bad op " << op;
    }
    if (divide) result = referenceIntegerDivide(type, result, avgDivisor);
    return {result, false};
  }
  const double x = decodeFloat(type, a);
  const double y = decodeFloat(type, b);
  double result = 0;
  switch (op) {
    case tuttiSum:
    case tuttiAvg:
      result = x + y;
      break;
    case tuttiProd:
      result = x * y;
      break;
    case tuttiMax:
      result = referenceMax(x, y);
      break;
    case tuttiMin:
      result = referenceMin(x, y);
      break;
    default:
      ADD_FAILURE() << "bad op " << op;
  }
  if (divide) result = referenceFloatDivide(type, result, avgDivisor);
  if (std::isnan(result)) return {0, true};
  return {encodeFloat(type, result), false};
}

Expected referenceDivide(tuttiDataType_t type, uint64_t raw, int divisor) {
  if (isIntegerType(type)) return {referenceIntegerDivide(type, raw, divisor), false};
  const double result = referenceFloatDivide(type, decodeFloat(type, raw), divisor);
  if (std::isnan(result)) return {0, true};
  return {encodeFloat(type, result), false};
}

bool isNanOf(tuttiDataType_t type, uint64_t raw) {
  return !isIntegerType(type) && std::isnan(decodeFloat(type, raw));
}

// ---------------------------------------------------------------------------------------------
// Buffers.

constexpr size_t kGuardElements = 17;
constexpr uint8_t kGuardByte = 0xa5;

// count elements followed by a guard zone that no call may write.
class Buffer {
 public:
  Buffer(tuttiDataType_t type, size_t count)
      : type_(type),
        count_(count),
        bytes_((count + kGuardElements) * dataTypeSize(type), kGuardByte) {}

  void* data() { return bytes_.data(); }
  const void* data() const { return bytes_.data(); }
  size_t count() const { return count_; }

  uint64_t get(size_t i) const {
    uint64_t raw = 0;
    memcpy(&raw, bytes_.data() + i * dataTypeSize(type_), dataTypeSize(type_));  // little endian
    return raw;
  }
  void set(size_t i, uint64_t raw) {
    memcpy(bytes_.data() + i * dataTypeSize(type_), &raw, dataTypeSize(type_));
  }

  bool guardIntact() const {
    for (size_t i = count_ * dataTypeSize(type_); i < bytes_.size(); ++i) {
      if (bytes_[i] != kGuardByte) return false;
    }
    return true;
  }

 private:
  tuttiDataType_t type_;
  size_t count_;
  std::vector<uint8_t> bytes_;
};

// Values worth meeting in every test: extremes, zeros of both signs, infinities, NaN.
std::vector<uint64_t> edgeValues(tuttiDataType_t type) {
  if (isIntegerType(type)) {
    const uint64_t mask = maskOf(type);
    const uint64_t top = (mask >> 1) + 1;  // the sign bit: the most negative signed value
    return {0, 1, 2, mask, mask - 1, top, top - 1, top + 1};
  }
  std::vector<uint64_t> magnitudes;
  uint64_t signBit = 0;
  switch (type) {
    case tuttiFloat16:  // 1, max, smallest normal, smallest subnormal, inf, NaN, 32768
      magnitudes = {0x3c00, 0x7bff, 0x0400, 0x0001, 0x7c00, 0x7e00, 0x7800};
      signBit = 0x8000;
      break;
    case tuttiBfloat16:
      magnitudes = {0x3f80, 0x7f7f, 0x0080, 0x0001, 0x7f80, 0x7fc0, 0x7f00};
      signBit = 0x8000;
      break;
    case tuttiFloat8e4m3:  // no infinity
      magnitudes = {0x38, 0x7e, 0x08, 0x01, 0x7f, 0x76};
      signBit = 0x80;
      break;
    case tuttiFloat8e5m2:
      magnitudes = {0x3c, 0x7b, 0x04, 0x01, 0x7c, 0x7e, 0x78};
      signBit = 0x80;
      break;
    case tuttiFloat32:
      magnitudes = {0x3f800000, 0x7f7fffff, 0x00800000, 0x00000001,
                    0x7f800000, 0x7fc00000, 0x7f000000};
      signBit = 0x80000000u;
      break;
    case tuttiFloat64:
      magnitudes = {0x3ff0000000000000, 0x7fefffffffffffff, 0x0010000000000000, 1,
                    0x7ff0000000000000, 0x7ff8000000000000, 0x7fe0000000000000};
      signBit = uint64_t{1} << 63;
      break;
    default:
      break;
  }
  std::vector<uint64_t> values = {0, signBit};
  for (uint64_t magnitude : magnitudes) {
    values.push_back(magnitude);
    values.push_back(magnitude | signBit);
  }
  return values;
}

// A mix of edge values, arbitrary bit patterns, and modest numbers whose sums and products
// stay in range (and, for floats, land on rounding ties often).
uint64_t randomElement(tuttiDataType_t type, const std::vector<uint64_t>& edges,
                       std::mt19937_64& rng) {
  const uint64_t pick = rng() % 16;
  if (pick == 0) return edges[rng() % edges.size()];
  if (pick < 5) return rng() & maskOf(type);
  const int64_t small = static_cast<int64_t>(rng() % 201) - 100;
  if (isIntegerType(type)) return static_cast<uint64_t>(small) & maskOf(type);
  // Quarter-steps for fp8, finer fractions for the wider types.
  const int shift = dataTypeSize(type) == 1 ? 2 : static_cast<int>(rng() % 12);
  return encodeFloat(type, std::ldexp(static_cast<double>(small), -shift));
}

std::string hexOf(uint64_t raw) {
  char text[32];
  snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(raw));
  return text;
}

const size_t kCounts[] = {0, 1, 7, 1000, 65537};
// Includes divisors beyond the range of 8-bit types; all are exact in float32.
const int kDivisors[] = {1, 2, 3, 7, 8, 200, 1000, 65537};

enum class Placement { kSeparate, kIntoA, kIntoB };

const char* placementName(Placement placement) {
  switch (placement) {
    case Placement::kSeparate:
      return "dst separate";
    case Placement::kIntoA:
      return "dst == a";
    case Placement::kIntoB:
      return "dst == b";
  }
  return "?";
}

class ReduceArraysTest : public ::testing::TestWithParam<int> {
 protected:
  tuttiDataType_t type() const { return static_cast<tuttiDataType_t>(GetParam()); }

  // Reduces random inputs with the given placement and checks each element and the guards.
  void checkReduce(tuttiRedOp_t op, size_t count, int avgDivisor, Placement placement) {
    const tuttiDataType_t t = type();
    std::mt19937_64 rng(0x7077u * 1000003u + t * 7919u + op * 131u + count + avgDivisor);
    const std::vector<uint64_t> edges = edgeValues(t);
    Buffer a(t, count), b(t, count), dst(t, count);
    for (size_t i = 0; i < count; ++i) {
      // Every pair of edge values appears once when count allows.
      if (i < edges.size() * edges.size()) {
        a.set(i, edges[i / edges.size()]);
        b.set(i, edges[i % edges.size()]);
      } else {
        a.set(i, randomElement(t, edges, rng));
        b.set(i, randomElement(t, edges, rng));
      }
    }
    const Buffer aCopy = a, bCopy = b;
    Buffer* out = placement == Placement::kIntoA ? &a : placement == Placement::kIntoB ? &b : &dst;
    reduceArrays(out->data(), a.data(), b.data(), count, t, op, avgDivisor);

    SCOPED_TRACE(std::string(dataTypeName(t)) + " " + redOpName(op) +
                 " count=" + std::to_string(count) + " avgDivisor=" + std::to_string(avgDivisor) +
                 " " + placementName(placement));
    int failures = 0;
    for (size_t i = 0; i < count && failures < 5; ++i) {
      const Expected expected = reference(t, op, aCopy.get(i), bCopy.get(i), avgDivisor);
      const uint64_t actual = out->get(i);
      const bool ok = expected.anyNan ? isNanOf(t, actual) : actual == expected.raw;
      if (!ok) {
        ADD_FAILURE() << "element " << i << ": " << hexOf(aCopy.get(i)) << " " << redOpName(op)
                      << " " << hexOf(bCopy.get(i)) << " gave " << hexOf(actual) << ", expected "
                      << (expected.anyNan ? "NaN" : hexOf(expected.raw));
        ++failures;
      }
    }
    EXPECT_TRUE(out->guardIntact()) << "wrote past the last element";
    if (placement != Placement::kIntoA) {
      EXPECT_EQ(memcmp(a.data(), aCopy.data(), count * dataTypeSize(t)), 0) << "a modified";
    }
    if (placement != Placement::kIntoB) {
      EXPECT_EQ(memcmp(b.data(), bCopy.data(), count * dataTypeSize(t)), 0) << "b modified";
    }
  }
};

TEST_P(ReduceArraysTest, EveryOpMatchesFloat64Reference) {
  for (int op = 0; op < tuttiNumOps; ++op) {
    for (size_t count : kCounts) {
      for (Placement placement : {Placement::kSeparate, Placement::kIntoA, Placement::kIntoB}) {
        checkReduce(static_cast<tuttiRedOp_t>(op), count, 0, placement);
      }
    }
  }
}

TEST_P(ReduceArraysTest, AvgFinalStepDividesOnceBeforeStoring) {
  for (int divisor : kDivisors) {
    for (size_t count : kCounts) {
      for (Placement placement : {Placement::kSeparate, Placement::kIntoA, Placement::kIntoB}) {
        checkReduce(tuttiAvg, count, divisor, placement);
      }
    }
  }
}

TEST_P(ReduceArraysTest, AvgDivisorIsIgnoredByOtherOps) {
  for (tuttiRedOp_t op : {tuttiSum, tuttiProd, tuttiMax, tuttiMin}) {
    checkReduce(op, 1000, 7, Placement::kSeparate);
  }
}

TEST_P(ReduceArraysTest, DivideArrayMatchesReference) {
  const tuttiDataType_t t = type();
  const std::vector<uint64_t> edges = edgeValues(t);
  for (int divisor : kDivisors) {
    for (size_t count : kCounts) {
      for (bool inPlace : {false, true}) {
        SCOPED_TRACE(std::string(dataTypeName(t)) + " count=" + std::to_string(count) +
                     " divisor=" + std::to_string(divisor) + (inPlace ? " in place" : ""));
        std::mt19937_64 rng(t * 1009u + count + divisor);
        Buffer src(t, count), dst(t, count);
        for (size_t i = 0; i < count; ++i) {
          src.set(i, i < edges.size() ? edges[i] : randomElement(t, edges, rng));
        }
        const Buffer srcCopy = src;
        Buffer* out = inPlace ? &src : &dst;
        divideArray(out->data(), src.data(), count, t, divisor);
        int failures = 0;
        for (size_t i = 0; i < count && failures < 5; ++i) {
          const Expected expected = referenceDivide(t, srcCopy.get(i), divisor);
          const uint64_t actual = out->get(i);
          const bool ok = expected.anyNan ? isNanOf(t, actual) : actual == expected.raw;
          if (!ok) {
            ADD_FAILURE() << "element " << i << ": " << hexOf(srcCopy.get(i)) << " / " << divisor
                          << " gave " << hexOf(actual) << ", expected "
                          << (expected.anyNan ? "NaN" : hexOf(expected.raw));
            ++failures;
          }
        }
        EXPECT_TRUE(out->guardIntact()) << "wrote past the last element";
      }
    }
  }
}

TEST_P(ReduceArraysTest, DivideArrayByNonPositiveCopies) {
  const tuttiDataType_t t = type();
  std::mt19937_64 rng(42);
  const std::vector<uint64_t> edges = edgeValues(t);
  Buffer src(t, 100), dst(t, 100);
  for (size_t i = 0; i < 100; ++i) src.set(i, randomElement(t, edges, rng));
  divideArray(dst.data(), src.data(), 100, t, 0);
  EXPECT_EQ(memcmp(dst.data(), src.data(), 100 * dataTypeSize(t)), 0);
  EXPECT_TRUE(dst.guardIntact());
}

INSTANTIATE_TEST_SUITE_P(AllTypes, ReduceArraysTest, ::testing::Range(0, int{tuttiNumTypes}),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(
                               dataTypeName(static_cast<tuttiDataType_t>(info.param)));
                         });

// ---------------------------------------------------------------------------------------------
// Hand-checked cases that document the semantics.

TEST(ReduceSemanticsTest, IntegerSumAndProdWrapAround) {
  int8_t a8[] = {127, -128, 100};
  int8_t b8[] = {1, -1, 3};
  int8_t sum8[3];
  reduceArrays(sum8, a8, b8, 3, tuttiInt8, tuttiSum, 0);
  EXPECT_EQ(sum8[0], -128);
  EXPECT_EQ(sum8[1], 127);
  EXPECT_EQ(sum8[2], 103);
  int8_t prod8[3];
  reduceArrays(prod8, a8, b8, 3, tuttiInt8, tuttiProd, 0);
  EXPECT_EQ(prod8[0], 127);
  EXPECT_EQ(prod8[1], -128);  // -(-128) wraps back to -128
  EXPECT_EQ(prod8[2], 44);    // 300 mod 256

  uint32_t a32[] = {0xffffffffu, 0x10000u};
  uint32_t b32[] = {2u, 0x10000u};
  uint32_t out32[2];
  reduceArrays(out32, a32, b32, 2, tuttiUint32, tuttiSum, 0);
  EXPECT_EQ(out32[0], 1u);
  reduceArrays(out32, a32, b32, 2, tuttiUint32, tuttiProd, 0);
  EXPECT_EQ(out32[1], 0u);

  int64_t a64[] = {std::numeric_limits<int64_t>::min()};
  int64_t b64[] = {-1};
  int64_t out64[1];
  reduceArrays(out64, a64, b64, 1, tuttiInt64, tuttiProd, 0);
  EXPECT_EQ(out64[0], std::numeric_limits<int64_t>::min());
}

TEST(ReduceSemanticsTest, IntegerAvgTruncatesTowardZeroInTheElementType) {
  int32_t a[] = {-7, 7, std::numeric_limits<int32_t>::max()};
  int32_t b[] = {0, 0, 1};
  int32_t out[3];
  reduceArrays(out, a, b, 3, tuttiInt32, tuttiAvg, 2);
  EXPECT_EQ(out[0], -3);
  EXPECT_EQ(out[1], 3);
  // The sum wraps in int32 before the division.
  EXPECT_EQ(out[2], std::numeric_limits<int32_t>::min() / 2);

  uint8_t ua[] = {200};
  uint8_t ub[] = {100};
  uint8_t uout[1];
  reduceArrays(uout, ua, ub, 1, tuttiUint8, tuttiAvg, 2);
  EXPECT_EQ(uout[0], 22);  // (300 mod 256) / 2
}

TEST(ReduceSemanticsTest, FloatMaxMinIgnoreNanAndOrderSignedZeros) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  float a[] = {nan, 1.0f, -0.0f, 0.0f, nan};
  float b[] = {2.0f, nan, 0.0f, -0.0f, nan};
  float out[5];
  reduceArrays(out, a, b, 5, tuttiFloat32, tuttiMax, 0);
  EXPECT_EQ(out[0], 2.0f);
  EXPECT_EQ(out[1], 1.0f);
  EXPECT_FALSE(std::signbit(out[2]));
  EXPECT_FALSE(std::signbit(out[3]));
  EXPECT_TRUE(std::isnan(out[4]));
  reduceArrays(out, a, b, 5, tuttiFloat32, tuttiMin, 0);
  EXPECT_EQ(out[0], 2.0f);
  EXPECT_EQ(out[1], 1.0f);
  EXPECT_TRUE(std::signbit(out[2]));
  EXPECT_TRUE(std::signbit(out[3]));
  EXPECT_TRUE(std::isnan(out[4]));
}

TEST(ReduceSemanticsTest, HalfSumRoundsToNearestEvenOnStore) {
  // Above 2048 half steps by 2: 2048 + 1 is a tie (to 2048), 2050 + 1 a tie (to 2052).
  uint16_t a[] = {floatToHalf(2048.0f), floatToHalf(2050.0f), floatToHalf(65504.0f)};
  uint16_t b[] = {floatToHalf(1.0f), floatToHalf(1.0f), floatToHalf(8.0f)};
  uint16_t out[3];
  reduceArrays(out, a, b, 3, tuttiFloat16, tuttiSum, 0);
  EXPECT_EQ(halfToFloat(out[0]), 2048.0f);
  EXPECT_EQ(halfToFloat(out[1]), 2052.0f);
  EXPECT_EQ(halfToFloat(out[2]), 65504.0f);  // 65512 is below 65520, where overflow begins
}

TEST(ReduceSemanticsTest, Fp8OverflowIsNanForE4m3AndInfinityForE5m2) {
  uint8_t a4[] = {floatToFp8e4m3(448.0f), floatToFp8e4m3(240.0f)};
  uint8_t b4[] = {floatToFp8e4m3(448.0f), floatToFp8e4m3(224.0f)};
  uint8_t out4[2];
  reduceArrays(out4, a4, b4, 2, tuttiFloat8e4m3, tuttiSum, 0);
  EXPECT_TRUE(std::isnan(fp8e4m3ToFloat(out4[0])));
  EXPECT_EQ(fp8e4m3ToFloat(out4[1]), 448.0f);  // 464: the tie rounds down to the max
  uint8_t a5[] = {floatToFp8e5m2(57344.0f)};
  uint8_t out5[1];
  reduceArrays(out5, a5, a5, 1, tuttiFloat8e5m2, tuttiSum, 0);
  EXPECT_EQ(fp8e5m2ToFloat(out5[0]), std::numeric_limits<float>::infinity());
}

TEST(ReduceSemanticsTest, Bf16AvgDividesInFloat32) {
  // (1 + 2) / 3 = 1 exactly; 1/3 of 1 + 0 rounds once, in bf16, from float32.
  uint16_t a[] = {floatToBf16(1.0f), floatToBf16(1.0f)};
  uint16_t b[] = {floatToBf16(2.0f), floatToBf16(0.0f)};
  uint16_t out[2];
  reduceArrays(out, a, b, 2, tuttiBfloat16, tuttiAvg, 3);
  EXPECT_EQ(bf16ToFloat(out[0]), 1.0f);
  EXPECT_EQ(out[1], floatToBf16(1.0f / 3.0f));
}

TEST(ReduceSemanticsTest, ZeroCountAcceptsNullBuffers) {
  reduceArrays(nullptr, nullptr, nullptr, 0, tuttiFloat32, tuttiSum, 0);
  divideArray(nullptr, nullptr, 0, tuttiFloat32, 4);
}

TEST(ReduceSemanticsTest, OutOfRangeTypeOrOpWritesNothing) {
  float a[] = {1.0f}, b[] = {2.0f}, out[] = {-5.0f};
  reduceArrays(out, a, b, 1, static_cast<tuttiDataType_t>(tuttiNumTypes), tuttiSum, 0);
  EXPECT_EQ(out[0], -5.0f);
  reduceArrays(out, a, b, 1, tuttiFloat32, static_cast<tuttiRedOp_t>(tuttiNumOps), 0);
  EXPECT_EQ(out[0], -5.0f);
}

}  // namespace
}  // namespace tutti
