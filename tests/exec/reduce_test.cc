#include "exec/reduce.h"

#include <gtest/gtest.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmath>
#include <iterator>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "exec/datatype.h"
#include "exec/reduce_kernels.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

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

// What a reduction must give for one element: `raw`, or `alternative` where two results are
// right (the same value when only one is).
struct Expected {
  uint64_t raw;
  uint64_t alternative;
};

Expected exactly(uint64_t raw) { return {raw, raw}; }

bool matches(const Expected& expected, uint64_t actual) {
  return actual == expected.raw || actual == expected.alternative;
}

std::string describe(const Expected& expected);  // below, with hexOf

bool isNanOf(tuttiDataType_t type, uint64_t raw) {
  return !isIntegerType(type) && std::isnan(decodeFloat(type, raw));
}

// A NaN input as the kernels pass it on: quiet, payload kept. Arithmetic on float32 and float64
// sets the quiet bit; the reduced types go through float32 and back.
uint64_t quieted(tuttiDataType_t type, uint64_t raw) {
  switch (type) {
    case tuttiFloat16:
      return floatToHalf(halfToFloat(static_cast<uint16_t>(raw)));
    case tuttiBfloat16:
      return floatToBf16(bf16ToFloat(static_cast<uint16_t>(raw)));
    case tuttiFloat8e4m3:
      return floatToFp8e4m3(fp8e4m3ToFloat(static_cast<uint8_t>(raw)));
    case tuttiFloat8e5m2:
      return floatToFp8e5m2(fp8e5m2ToFloat(static_cast<uint8_t>(raw)));
    case tuttiFloat32:
      return raw | 0x400000u;
    case tuttiFloat64:
      return raw | (uint64_t{1} << 51);
    default:
      ADD_FAILURE() << "not a floating type: " << type;
      return raw;
  }
}

// The NaN this machine's arithmetic makes from numbers (infinity - infinity), in the type.
uint64_t defaultNan(tuttiDataType_t type) {
  volatile double infinity = std::numeric_limits<double>::infinity();
  return encodeFloat(type, infinity - infinity);
}

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

// NaN results, which reduce.h leaves open and every instruction set gives alike, as IEEE-754
// arithmetic does: Max and Min pick b when both are NaN (and a number over a NaN); Sum, Prod
// and Avg pass a NaN operand on quieted, either one when both are (which operand an instruction
// sees first is the compiler's choice), and make the default NaN from numbers alone.
Expected referenceFloat(tuttiDataType_t type, tuttiRedOp_t op, uint64_t a, uint64_t b,
                        int avgDivisor) {
  const bool aNan = isNanOf(type, a), bNan = isNanOf(type, b);
  const bool reduced = type != tuttiFloat32 && type != tuttiFloat64;
  if ((op == tuttiMax || op == tuttiMin) && aNan && bNan) {
    return exactly(reduced ? quieted(type, b) : b);  // float32 and float64 copy b's bits
  }
  if (op != tuttiMax && op != tuttiMin) {
    if (aNan && bNan) return {quieted(type, a), quieted(type, b)};
    if (aNan) return exactly(quieted(type, a));
    if (bNan) return exactly(quieted(type, b));
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
  if (std::isnan(result)) return exactly(defaultNan(type));
  if (op == tuttiAvg && avgDivisor > 0) result = referenceFloatDivide(type, result, avgDivisor);
  return exactly(encodeFloat(type, result));
}

Expected reference(tuttiDataType_t type, tuttiRedOp_t op, uint64_t a, uint64_t b, int avgDivisor) {
  if (!isIntegerType(type)) return referenceFloat(type, op, a, b, avgDivisor);
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
  if (op == tuttiAvg && avgDivisor > 0) result = referenceIntegerDivide(type, result, avgDivisor);
  return exactly(result);
}

Expected referenceDivide(tuttiDataType_t type, uint64_t raw, int divisor) {
  if (isIntegerType(type)) return exactly(referenceIntegerDivide(type, raw, divisor));
  if (isNanOf(type, raw)) return exactly(quieted(type, raw));
  return exactly(encodeFloat(type, referenceFloatDivide(type, decodeFloat(type, raw), divisor)));
}

// ---------------------------------------------------------------------------------------------
// Buffers.

constexpr size_t kGuardElements = 17;
constexpr uint8_t kGuardByte = 0xa5;

// count elements between guard zones that no call may write: `lead` elements before (so that
// data() is misaligned by that many elements) and kGuardElements after.
class Buffer {
 public:
  Buffer(tuttiDataType_t type, size_t count, size_t lead = 0)
      : type_(type),
        count_(count),
        leadBytes_(lead * dataTypeSize(type)),
        bytes_(leadBytes_ + (count + kGuardElements) * dataTypeSize(type), kGuardByte) {}

  void* data() { return bytes_.data() + leadBytes_; }
  const void* data() const { return bytes_.data() + leadBytes_; }
  size_t count() const { return count_; }

  uint64_t get(size_t i) const {
    uint64_t raw = 0;
    memcpy(&raw, bytes_.data() + leadBytes_ + i * dataTypeSize(type_),
           dataTypeSize(type_));  // little endian
    return raw;
  }
  void set(size_t i, uint64_t raw) {
    memcpy(bytes_.data() + leadBytes_ + i * dataTypeSize(type_), &raw, dataTypeSize(type_));
  }

  bool guardIntact() const {
    const size_t end = leadBytes_ + count_ * dataTypeSize(type_);
    for (size_t i = 0; i < bytes_.size(); ++i) {
      if ((i < leadBytes_ || i >= end) && bytes_[i] != kGuardByte) return false;
    }
    return true;
  }

 private:
  tuttiDataType_t type_;
  size_t count_;
  size_t leadBytes_;
  std::vector<uint8_t> bytes_;
};

// Values worth meeting in every test: extremes, zeros of both signs, subnormals, infinities,
// NaNs with payloads (quiet and signaling).
std::vector<uint64_t> edgeValues(tuttiDataType_t type) {
  if (isIntegerType(type)) {
    const uint64_t mask = maskOf(type);
    const uint64_t top = (mask >> 1) + 1;  // the sign bit: the most negative signed value
    return {0, 1, 2, mask, mask - 1, top, top - 1, top + 1};
  }
  std::vector<uint64_t> magnitudes;
  uint64_t signBit = 0;
  switch (type) {
    // 1, max, smallest normal, smallest and largest subnormal, inf, quiet NaN, 32768, quiet
    // and signaling NaNs with payloads
    case tuttiFloat16:
      magnitudes = {0x3c00, 0x7bff, 0x0400, 0x0001, 0x03ff, 0x7c00, 0x7e00, 0x7800, 0x7e55, 0x7c01};
      signBit = 0x8000;
      break;
    case tuttiBfloat16:
      magnitudes = {0x3f80, 0x7f7f, 0x0080, 0x0001, 0x007f, 0x7f80, 0x7fc0, 0x7f00, 0x7fd5, 0x7f81};
      signBit = 0x8000;
      break;
    case tuttiFloat8e4m3:  // no infinity; one NaN
      magnitudes = {0x38, 0x7e, 0x08, 0x01, 0x07, 0x7f, 0x76};
      signBit = 0x80;
      break;
    case tuttiFloat8e5m2:
      magnitudes = {0x3c, 0x7b, 0x04, 0x01, 0x03, 0x7c, 0x7e, 0x78, 0x7f, 0x7d};
      signBit = 0x80;
      break;
    case tuttiFloat32:
      magnitudes = {0x3f800000, 0x7f7fffff, 0x00800000, 0x00000001, 0x007fffff,
                    0x7f800000, 0x7fc00000, 0x7f000000, 0x7fc12345, 0x7f800001};
      signBit = 0x80000000u;
      break;
    case tuttiFloat64:
      magnitudes = {0x3ff0000000000000, 0x7fefffffffffffff, 0x0010000000000000, 1,
                    0x000fffffffffffff, 0x7ff0000000000000, 0x7ff8000000000000, 0x7fe0000000000000,
                    0x7ff8000012345678, 0x7ff0000000000001};
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

std::string describe(const Expected& expected) {
  if (expected.raw == expected.alternative) return hexOf(expected.raw);
  return hexOf(expected.raw) + " or " + hexOf(expected.alternative);
}

// Counts around the vector widths (8 to 32 elements per step): full steps, tails, and both.
const size_t kCounts[] = {0, 1, 7, 31, 33, 257, 1001};
// Large enough for many full steps and random values; tested in fewer layouts.
constexpr size_t kLargeCount = 65537;
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

// Where the buffers start: element-aligned as allocated, or each shifted by a different number
// of elements (a by 1, b by 2, a separate dst by 3), so that no two share an alignment.
enum class Alignment { kAllocated, kShifted };

struct Layout {
  Placement placement;
  Alignment alignment;
};

const Layout kAllLayouts[] = {
    {Placement::kSeparate, Alignment::kAllocated}, {Placement::kIntoA, Alignment::kAllocated},
    {Placement::kIntoB, Alignment::kAllocated},    {Placement::kSeparate, Alignment::kShifted},
    {Placement::kIntoA, Alignment::kShifted},      {Placement::kIntoB, Alignment::kShifted},
};
const Layout kLargeLayouts[] = {{Placement::kIntoB, Alignment::kShifted}};

struct ReduceCase {
  int type;
  const char* isa;  // one of kReduceIsas
};

std::vector<ReduceCase> allReduceCases() {
  std::vector<ReduceCase> cases;
  for (int type = 0; type < tuttiNumTypes; ++type) {
    for (const char* isa : kReduceIsas) cases.push_back({type, isa});
  }
  return cases;
}

// For gtest's messages about a failing case.
void PrintTo(const ReduceCase& reduceCase, std::ostream* out) {
  *out << dataTypeName(static_cast<tuttiDataType_t>(reduceCase.type)) << " with " << reduceCase.isa;
}

std::string reduceCaseName(const ::testing::TestParamInfo<ReduceCase>& info) {
  return std::string(dataTypeName(static_cast<tuttiDataType_t>(info.param.type))) + "_" +
         info.param.isa;
}

class ReduceArraysTest : public ::testing::TestWithParam<ReduceCase> {
 protected:
  tuttiDataType_t type() const { return static_cast<tuttiDataType_t>(GetParam().type); }
  const char* isa() const { return GetParam().isa; }

  void SetUp() override {
    if (!reduceIsaSupported(isa())) {
      GTEST_SKIP() << "this CPU does not run the " << isa() << " kernels";
    }
  }

  // Reduces inputs (every pair of edge values first, then random ones) in the given layout and
  // checks each element and the guards.
  void checkReduce(tuttiRedOp_t op, size_t count, int avgDivisor, Layout layout) {
    const tuttiDataType_t t = type();
    std::mt19937_64 rng(0x7077u * 1000003u + t * 7919u + op * 131u + count + avgDivisor);
    const std::vector<uint64_t> edges = edgeValues(t);
    const bool shifted = layout.alignment == Alignment::kShifted;
    Buffer a(t, count, shifted ? 1 : 0), b(t, count, shifted ? 2 : 0),
        dst(t, count, shifted ? 3 : 0);
    for (size_t i = 0; i < count; ++i) {
      if (i < edges.size() * edges.size()) {
        a.set(i, edges[i / edges.size()]);
        b.set(i, edges[i % edges.size()]);
      } else {
        a.set(i, randomElement(t, edges, rng));
        b.set(i, randomElement(t, edges, rng));
      }
    }
    const Buffer aCopy = a, bCopy = b;
    Buffer* out = layout.placement == Placement::kIntoA   ? &a
                  : layout.placement == Placement::kIntoB ? &b
                                                          : &dst;
    ASSERT_TRUE(reduceArraysIsa(isa(), out->data(), a.data(), b.data(), count, t, op, avgDivisor));

    SCOPED_TRACE(std::string(dataTypeName(t)) + " " + redOpName(op) + " (" + isa() + ")" +
                 " count=" + std::to_string(count) + " avgDivisor=" + std::to_string(avgDivisor) +
                 " " + placementName(layout.placement) + (shifted ? ", shifted" : ""));
    int failures = 0;
    for (size_t i = 0; i < count && failures < 5; ++i) {
      const Expected expected = reference(t, op, aCopy.get(i), bCopy.get(i), avgDivisor);
      const uint64_t actual = out->get(i);
      if (!matches(expected, actual)) {
        ADD_FAILURE() << "element " << i << ": " << hexOf(aCopy.get(i)) << " " << redOpName(op)
                      << " " << hexOf(bCopy.get(i)) << " gave " << hexOf(actual) << ", expected "
                      << describe(expected);
        ++failures;
      }
    }
    EXPECT_TRUE(out->guardIntact()) << "wrote outside the elements";
    if (layout.placement != Placement::kIntoA) {
      EXPECT_EQ(memcmp(a.data(), aCopy.data(), count * dataTypeSize(t)), 0) << "a modified";
    }
    if (layout.placement != Placement::kIntoB) {
      EXPECT_EQ(memcmp(b.data(), bCopy.data(), count * dataTypeSize(t)), 0) << "b modified";
    }
  }

  // Every count in every layout, and the large count in a few.
  void checkAllLayouts(tuttiRedOp_t op, int avgDivisor) {
    for (size_t count : kCounts) {
      for (const Layout& layout : kAllLayouts) checkReduce(op, count, avgDivisor, layout);
    }
    for (const Layout& layout : kLargeLayouts) checkReduce(op, kLargeCount, avgDivisor, layout);
  }
};

TEST_P(ReduceArraysTest, EveryOpMatchesFloat64Reference) {
  for (int op = 0; op < tuttiNumOps; ++op) checkAllLayouts(static_cast<tuttiRedOp_t>(op), 0);
}

TEST_P(ReduceArraysTest, AvgFinalStepDividesOnceBeforeStoring) {
  for (int divisor : kDivisors) checkAllLayouts(tuttiAvg, divisor);
}

TEST_P(ReduceArraysTest, AvgDivisorIsIgnoredByOtherOps) {
  for (tuttiRedOp_t op : {tuttiSum, tuttiProd, tuttiMax, tuttiMin}) {
    checkReduce(op, 1001, 7, {Placement::kSeparate, Alignment::kShifted});
  }
}

TEST_P(ReduceArraysTest, DivideArrayMatchesReference) {
  const tuttiDataType_t t = type();
  const std::vector<uint64_t> edges = edgeValues(t);
  std::vector<size_t> counts(std::begin(kCounts), std::end(kCounts));
  counts.push_back(kLargeCount);
  for (int divisor : kDivisors) {
    for (size_t count : counts) {
      for (bool inPlace : {false, true}) {
        SCOPED_TRACE(std::string(dataTypeName(t)) + " (" + isa() +
                     ") count=" + std::to_string(count) + " divisor=" + std::to_string(divisor) +
                     (inPlace ? " in place" : ""));
        std::mt19937_64 rng(t * 1009u + count + divisor);
        Buffer src(t, count, 1), dst(t, count, inPlace ? 1 : 2);
        for (size_t i = 0; i < count; ++i) {
          src.set(i, i < edges.size() ? edges[i] : randomElement(t, edges, rng));
        }
        const Buffer srcCopy = src;
        Buffer* out = inPlace ? &src : &dst;
        ASSERT_TRUE(divideArrayIsa(isa(), out->data(), src.data(), count, t, divisor));
        int failures = 0;
        for (size_t i = 0; i < count && failures < 5; ++i) {
          const Expected expected = referenceDivide(t, srcCopy.get(i), divisor);
          const uint64_t actual = out->get(i);
          if (!matches(expected, actual)) {
            ADD_FAILURE() << "element " << i << ": " << hexOf(srcCopy.get(i)) << " / " << divisor
                          << " gave " << hexOf(actual) << ", expected " << describe(expected);
            ++failures;
          }
        }
        EXPECT_TRUE(out->guardIntact()) << "wrote outside the elements";
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
  ASSERT_TRUE(divideArrayIsa(isa(), dst.data(), src.data(), 100, t, 0));
  EXPECT_EQ(memcmp(dst.data(), src.data(), 100 * dataTypeSize(t)), 0);
  EXPECT_TRUE(dst.guardIntact());
}

INSTANTIATE_TEST_SUITE_P(AllTypes, ReduceArraysTest, ::testing::ValuesIn(allReduceCases()),
                         reduceCaseName);

// ---------------------------------------------------------------------------------------------
// Exhaustive inputs for the reduced floating types, where each instruction set converts in its
// own way (F16C, branchless integer code): every fp8 pair, every fp16 and bf16 value against
// partners chosen for specials, subnormals and ties, and a permutation that gives each value a
// second partner from all 65536.

class ReduceExhaustiveTest : public ::testing::TestWithParam<const char*> {
 protected:
  const char* isa() const { return GetParam(); }

  void SetUp() override {
    if (!reduceIsaSupported(isa())) {
      GTEST_SKIP() << "this CPU does not run the " << isa() << " kernels";
    }
  }

  // Every op, and Avg's last step with a few divisors, over a[i] op b[i]; then in place.
  void checkPairs(tuttiDataType_t type, const std::vector<uint64_t>& as,
                  const std::vector<uint64_t>& bs) {
    ASSERT_EQ(as.size(), bs.size());
    const size_t count = as.size();
    Buffer a(type, count), b(type, count);
    for (size_t i = 0; i < count; ++i) {
      a.set(i, as[i]);
      b.set(i, bs[i]);
    }
    struct OpCase {
      tuttiRedOp_t op;
      int avgDivisor;
    };
    const OpCase opCases[] = {{tuttiSum, 0}, {tuttiProd, 0}, {tuttiMax, 0}, {tuttiMin, 0},
                              {tuttiAvg, 0}, {tuttiAvg, 3},  {tuttiAvg, 7}, {tuttiAvg, 1000}};
    for (const OpCase& opCase : opCases) {
      SCOPED_TRACE(std::string(dataTypeName(type)) + " " + redOpName(opCase.op) + " (" + isa() +
                   ") avgDivisor=" + std::to_string(opCase.avgDivisor));
      Buffer dst(type, count);
      ASSERT_TRUE(reduceArraysIsa(isa(), dst.data(), a.data(), b.data(), count, type, opCase.op,
                                  opCase.avgDivisor));
      int failures = 0;
      for (size_t i = 0; i < count && failures < 10; ++i) {
        const Expected expected = reference(type, opCase.op, as[i], bs[i], opCase.avgDivisor);
        if (!matches(expected, dst.get(i))) {
          ADD_FAILURE() << hexOf(as[i]) << " " << redOpName(opCase.op) << " " << hexOf(bs[i])
                        << " gave " << hexOf(dst.get(i)) << ", expected " << describe(expected);
          ++failures;
        }
      }
      EXPECT_TRUE(dst.guardIntact());
      // In place, into b: the same bits.
      Buffer inPlace = b;
      ASSERT_TRUE(reduceArraysIsa(isa(), inPlace.data(), a.data(), inPlace.data(), count, type,
                                  opCase.op, opCase.avgDivisor));
      EXPECT_EQ(memcmp(inPlace.data(), dst.data(), count * dataTypeSize(type)), 0);
    }
  }

  // All 65536 values of a 16-bit type, each against every partner and against a permutation.
  void checkSixteenBit(tuttiDataType_t type, const std::vector<uint64_t>& partners) {
    std::vector<uint64_t> as, bs;
    for (uint64_t partner : partners) {
      for (uint64_t value = 0; value < 65536; ++value) {
        as.push_back(value);
        bs.push_back(partner);
      }
    }
    for (uint64_t value = 0; value < 65536; ++value) {
      as.push_back(value);
      bs.push_back((value * 40503u + 12345u) & 0xffffu);  // odd multiplier: a permutation
    }
    checkPairs(type, as, bs);
  }
};

TEST_P(ReduceExhaustiveTest, Fp8AllPairs) {
  for (tuttiDataType_t type : {tuttiFloat8e4m3, tuttiFloat8e5m2}) {
    std::vector<uint64_t> as, bs;
    for (uint64_t i = 0; i < 65536; ++i) {
      as.push_back(i >> 8);
      bs.push_back(i & 0xff);
    }
    checkPairs(type, as, bs);
  }
}

TEST_P(ReduceExhaustiveTest, HalfEveryValueAgainstPartners) {
  checkSixteenBit(tuttiFloat16, {
                                    0x0000, 0x8000,  // zeros
                                    0x3c00, 0xbc00,  // 1, -1
                                    0x3555,          // 1/3, inexact sums everywhere
                                    0x6801,          // 2050: sums with 1-2 in ties
                                    0x0001, 0x83ff,  // subnormals
                                    0x0400,          // smallest normal
                                    0x7bff, 0xfbff,  // largest: sums overflow
                                    0x7c00, 0xfc00,  // infinities
                                    0x7e01, 0xfd55,  // NaNs with payloads, quiet and signaling
                                });
}

TEST_P(ReduceExhaustiveTest, Bf16EveryValueAgainstPartners) {
  checkSixteenBit(tuttiBfloat16, {
                                     0x0000, 0x8000,  // zeros
                                     0x3f80, 0xbf80,  // 1, -1
                                     0x3eab,          // about 1/3
                                     0x4381,          // 258: sums with 1-2 in ties
                                     0x0001, 0x807f,  // subnormals
                                     0x0080,          // smallest normal
                                     0x7f7f, 0xff7f,  // largest: sums overflow
                                     0x7f80, 0xff80,  // infinities
                                     0x7fc1, 0xff95,  // NaNs with payloads, quiet and signaling
                                 });
}

INSTANTIATE_TEST_SUITE_P(Isas, ReduceExhaustiveTest, ::testing::ValuesIn(kReduceIsas),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

// Each instruction set against the generic one, bit for bit, on edge pairs and random values of
// every type and op. The one exception: Sum, Prod and Avg of two NaNs may return either NaN.
TEST(ReduceIsaAgreementTest, EveryIsaGivesTheGenericBits) {
  for (const char* isa : kReduceIsas) {
    if (!reduceIsaSupported(isa) || strcmp(isa, "generic") == 0) continue;
    for (int typeIndex = 0; typeIndex < tuttiNumTypes; ++typeIndex) {
      const tuttiDataType_t t = static_cast<tuttiDataType_t>(typeIndex);
      const std::vector<uint64_t> edges = edgeValues(t);
      std::mt19937_64 rng(t + 99);
      const size_t count = 4099;
      Buffer a(t, count), b(t, count);
      for (size_t i = 0; i < count; ++i) {
        const bool edgePair = i < edges.size() * edges.size();
        a.set(i, edgePair ? edges[i / edges.size()] : randomElement(t, edges, rng));
        b.set(i, edgePair ? edges[i % edges.size()] : randomElement(t, edges, rng));
      }
      for (int op = 0; op < tuttiNumOps; ++op) {
        for (int divisor : {0, 3}) {
          SCOPED_TRACE(std::string(dataTypeName(t)) + " " +
                       redOpName(static_cast<tuttiRedOp_t>(op)) + " " + isa +
                       " avgDivisor=" + std::to_string(divisor));
          Buffer generic(t, count), other(t, count);
          ASSERT_TRUE(reduceArraysIsa("generic", generic.data(), a.data(), b.data(), count, t,
                                      static_cast<tuttiRedOp_t>(op), divisor));
          ASSERT_TRUE(reduceArraysIsa(isa, other.data(), a.data(), b.data(), count, t,
                                      static_cast<tuttiRedOp_t>(op), divisor));
          int failures = 0;
          for (size_t i = 0; i < count && failures < 5; ++i) {
            const bool eitherNan =
                op != tuttiMax && op != tuttiMin && isNanOf(t, a.get(i)) && isNanOf(t, b.get(i));
            if (eitherNan ? isNanOf(t, other.get(i)) : other.get(i) == generic.get(i)) continue;
            ADD_FAILURE() << hexOf(a.get(i)) << ", " << hexOf(b.get(i)) << ": generic gave "
                          << hexOf(generic.get(i)) << ", " << isa << " " << hexOf(other.get(i));
            ++failures;
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Choosing the instruction set.

TEST(ReduceIsaTest, GenericIsAlwaysThereAndUnknownNamesAreNot) {
  EXPECT_TRUE(reduceIsaSupported("generic"));
  EXPECT_FALSE(reduceIsaSupported("avx512"));
  EXPECT_FALSE(reduceIsaSupported(""));
  EXPECT_FALSE(reduceIsaSupported(nullptr));
  float a[] = {1.0f}, b[] = {2.0f}, out[] = {-5.0f};
  EXPECT_FALSE(reduceArraysIsa("avx512", out, a, b, 1, tuttiFloat32, tuttiSum, 0));
  EXPECT_FALSE(divideArrayIsa("avx512", out, a, 1, tuttiFloat32, 2));
  EXPECT_EQ(out[0], -5.0f);
}

TEST(ReduceIsaTest, Avx2IsSupportedExactlyWhenTheCpuHasAvx2AndF16c) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
  EXPECT_EQ(reduceIsaSupported("avx2"), f16c && __builtin_cpu_supports("avx2"));
#else
  EXPECT_FALSE(reduceIsaSupported("avx2"));
#endif
}

TEST(ReduceIsaTest, RequestsFallBackToTheBestSupported) {
  const char* best = reduceIsaSupported("avx2") ? "avx2" : "generic";
  EXPECT_STREQ(resolveReduceIsa(nullptr), best);
  EXPECT_STREQ(resolveReduceIsa(""), best);
  EXPECT_STREQ(resolveReduceIsa("sse9"), best);
  EXPECT_STREQ(resolveReduceIsa("generic"), "generic");
  EXPECT_STREQ(resolveReduceIsa("avx2"), best);  // avx2 itself where supported
}

TEST(ReduceIsaTest, DefaultFollowsTheEnvironment) {
  EXPECT_STREQ(reduceIsaName(), resolveReduceIsa(getenv("TUTTI_REDUCE_ISA")));
}

// reduceArrays and divideArray are the default instruction set's kernels.
TEST(ReduceIsaTest, PublicFunctionsUseTheDefaultIsa) {
  for (int typeIndex = 0; typeIndex < tuttiNumTypes; ++typeIndex) {
    const tuttiDataType_t t = static_cast<tuttiDataType_t>(typeIndex);
    SCOPED_TRACE(dataTypeName(t));
    const std::vector<uint64_t> edges = edgeValues(t);
    std::mt19937_64 rng(t + 5);
    const size_t count = 1001;
    Buffer a(t, count), b(t, count), viaPublic(t, count), viaIsa(t, count);
    for (size_t i = 0; i < count; ++i) {
      a.set(i, randomElement(t, edges, rng));
      b.set(i, randomElement(t, edges, rng));
    }
    reduceArrays(viaPublic.data(), a.data(), b.data(), count, t, tuttiAvg, 3);
    ASSERT_TRUE(
        reduceArraysIsa(reduceIsaName(), viaIsa.data(), a.data(), b.data(), count, t, tuttiAvg, 3));
    EXPECT_EQ(memcmp(viaPublic.data(), viaIsa.data(), count * dataTypeSize(t)), 0);
    divideArray(viaPublic.data(), a.data(), count, t, 7);
    ASSERT_TRUE(divideArrayIsa(reduceIsaName(), viaIsa.data(), a.data(), count, t, 7));
    EXPECT_EQ(memcmp(viaPublic.data(), viaIsa.data(), count * dataTypeSize(t)), 0);
  }
}

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

TEST(ReduceSemanticsTest, NanPayloadsSurviveNarrowTypesInEveryIsa) {
  for (const char* isa : kReduceIsas) {
    if (!reduceIsaSupported(isa)) continue;
    SCOPED_TRACE(isa);
    // Signaling NaNs with payloads come out quiet with the payload; the sign stays.
    uint16_t halfA[] = {0x7c01, 0xfd55, 0x3c00};
    uint16_t halfB[] = {0x3c00, 0x3c00, 0x7e77};
    uint16_t halfOut[3];
    ASSERT_TRUE(reduceArraysIsa(isa, halfOut, halfA, halfB, 3, tuttiFloat16, tuttiSum, 0));
    EXPECT_EQ(halfOut[0], 0x7e01);
    EXPECT_EQ(halfOut[1], 0xff55);
    EXPECT_EQ(halfOut[2], 0x7e77);
    uint16_t bf16A[] = {0x7f81, 0xffa5, 0x3f80};
    uint16_t bf16B[] = {0x3f80, 0x3f80, 0x7fc3};
    uint16_t bf16Out[3];
    ASSERT_TRUE(reduceArraysIsa(isa, bf16Out, bf16A, bf16B, 3, tuttiBfloat16, tuttiProd, 0));
    EXPECT_EQ(bf16Out[0], 0x7fc1);
    EXPECT_EQ(bf16Out[1], 0xffe5);
    EXPECT_EQ(bf16Out[2], 0x7fc3);
    // E5M2 keeps its one payload bit below the quiet bit; E4M3FN has one NaN.
    uint8_t e5a[] = {0x7d, 0xfd};
    uint8_t e5b[] = {0x3c, 0x3c};
    uint8_t e5Out[2];
    ASSERT_TRUE(reduceArraysIsa(isa, e5Out, e5a, e5b, 2, tuttiFloat8e5m2, tuttiAvg, 3));
    EXPECT_EQ(e5Out[0], 0x7f);
    EXPECT_EQ(e5Out[1], 0xff);
  }
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

namespace tutti {
namespace {

// The fused forms give exactly what the plain reduction (or copy) followed by a copy gives, at
// every block boundary and in place.
TEST(ReduceFusedTest, TwoOutputsEqualReduceThenCopy) {
  std::mt19937_64 random(7);
  for (int t = 0; t < tuttiNumTypes; ++t) {
    const auto type = static_cast<tuttiDataType_t>(t);
    const size_t size = dataTypeSize(type);
    const size_t block = kFusedBlockBytes / size;
    for (int o = 0; o < tuttiNumOps; ++o) {
      const auto op = static_cast<tuttiRedOp_t>(o);
      for (size_t count : {size_t{0}, size_t{1}, block - 1, block, block + 1, 3 * block + 5}) {
        for (bool inPlace : {false, true}) {
          std::vector<unsigned char> a(count * size), b(count * size);
          for (auto& byte : a) byte = static_cast<unsigned char>(random());
          for (auto& byte : b) byte = static_cast<unsigned char>(random());
          std::vector<unsigned char> expected(count * size), dst(count * size);
          std::vector<unsigned char> copy(count * size + 1, 0x5A);
          reduceArrays(expected.data(), a.data(), b.data(), count, type, op, 3);
          void* out = inPlace ? static_cast<void*>(a.data()) : dst.data();
          reduceArraysTwoOutputs(out, copy.data(), a.data(), b.data(), count, type, op, 3);
          // memcmp takes no NULL, even for 0 bytes (an empty vector's data() may be NULL).
          ASSERT_TRUE(count == 0 || memcmp(out, expected.data(), count * size) == 0)
              << dataTypeName(type) << " " << redOpName(op) << " count " << count;
          ASSERT_TRUE(count == 0 || memcmp(copy.data(), expected.data(), count * size) == 0)
              << dataTypeName(type) << " " << redOpName(op) << " count " << count;
          ASSERT_EQ(copy[count * size], 0x5A) << "wrote past the copy";
        }
      }
    }
  }
}

TEST(ReduceFusedTest, CopyToTwoCopiesEveryByteIncludingInPlace) {
  for (size_t bytes :
       {size_t{0}, size_t{1}, kFusedBlockBytes - 1, kFusedBlockBytes, 3 * kFusedBlockBytes + 17}) {
    std::vector<unsigned char> src(bytes), dst(bytes), copy(bytes + 1, 0x5A);
    for (size_t i = 0; i < bytes; ++i) src[i] = static_cast<unsigned char>(i * 131 + 7);
    copyToTwo(dst.data(), copy.data(), src.data(), bytes);
    EXPECT_EQ(dst, src) << bytes;
    EXPECT_TRUE(bytes == 0 || memcmp(copy.data(), src.data(), bytes) == 0) << bytes;
    EXPECT_EQ(copy[bytes], 0x5A);
    std::vector<unsigned char> same = src;
    std::vector<unsigned char> copy2(bytes);
    copyToTwo(same.data(), copy2.data(), same.data(), bytes);  // dst == src: only the copy
    EXPECT_EQ(same, src);
    EXPECT_EQ(copy2, src);
  }
}

}  // namespace
}  // namespace tutti
