#include "exec/datatype.h"

#include <gtest/gtest.h>
#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace tutti {
namespace {

// ---------------------------------------------------------------------------------------------
// Names and sizes.

TEST(DataTypeTest, ValidityFollowsEnumRanges) {
  EXPECT_TRUE(isValidDataType(0));
  EXPECT_TRUE(isValidDataType(tuttiNumTypes - 1));
  EXPECT_FALSE(isValidDataType(-1));
  EXPECT_FALSE(isValidDataType(tuttiNumTypes));
  EXPECT_TRUE(isValidRedOp(0));
  EXPECT_TRUE(isValidRedOp(tuttiNumOps - 1));
  EXPECT_FALSE(isValidRedOp(-1));
  EXPECT_FALSE(isValidRedOp(tuttiNumOps));
}

TEST(DataTypeTest, SizesMatchElementTypes) {
  EXPECT_EQ(dataTypeSize(tuttiInt8), 1u);
  EXPECT_EQ(dataTypeSize(tuttiUint8), 1u);
  EXPECT_EQ(dataTypeSize(tuttiInt32), 4u);
  EXPECT_EQ(dataTypeSize(tuttiUint32), 4u);
  EXPECT_EQ(dataTypeSize(tuttiInt64), 8u);
  EXPECT_EQ(dataTypeSize(tuttiUint64), 8u);
  EXPECT_EQ(dataTypeSize(tuttiFloat16), 2u);
  EXPECT_EQ(dataTypeSize(tuttiFloat32), 4u);
  EXPECT_EQ(dataTypeSize(tuttiFloat64), 8u);
  EXPECT_EQ(dataTypeSize(tuttiBfloat16), 2u);
  EXPECT_EQ(dataTypeSize(tuttiFloat8e4m3), 1u);
  EXPECT_EQ(dataTypeSize(tuttiFloat8e5m2), 1u);
}

TEST(DataTypeTest, NamesAreThoseOfNcclTests) {
  const char* expected[tuttiNumTypes] = {"int8", "uint8", "int32",  "uint32",   "int64",  "uint64",
                                         "half", "float", "double", "bfloat16", "f8e4m3", "f8e5m2"};
  for (int type = 0; type < tuttiNumTypes; ++type) {
    EXPECT_STREQ(dataTypeName(static_cast<tuttiDataType_t>(type)), expected[type]);
  }
  const char* ops[tuttiNumOps] = {"sum", "prod", "max", "min", "avg"};
  for (int op = 0; op < tuttiNumOps; ++op) {
    EXPECT_STREQ(redOpName(static_cast<tuttiRedOp_t>(op)), ops[op]);
  }
}

TEST(DataTypeTest, OutOfRangeNamesAreUnknown) {
  EXPECT_STREQ(dataTypeName(static_cast<tuttiDataType_t>(tuttiNumTypes)), "unknown");
  EXPECT_STREQ(redOpName(static_cast<tuttiRedOp_t>(-1)), "unknown");
  EXPECT_EQ(dataTypeSize(static_cast<tuttiDataType_t>(-1)), 0u);
}

TEST(DataTypeTest, ParsingInvertsNaming) {
  for (int type = 0; type < tuttiNumTypes; ++type) {
    tuttiDataType_t parsed = tuttiNumTypes;
    ASSERT_TRUE(parseDataType(dataTypeName(static_cast<tuttiDataType_t>(type)), &parsed));
    EXPECT_EQ(parsed, type);
  }
  for (int op = 0; op < tuttiNumOps; ++op) {
    tuttiRedOp_t parsed = tuttiNumOps;
    ASSERT_TRUE(parseRedOp(redOpName(static_cast<tuttiRedOp_t>(op)), &parsed));
    EXPECT_EQ(parsed, op);
  }
}

TEST(DataTypeTest, ParsingAcceptsAliases) {
  const std::pair<const char*, tuttiDataType_t> aliases[] = {
      {"float16", tuttiFloat16}, {"fp16", tuttiFloat16},    {"float32", tuttiFloat32},
      {"fp32", tuttiFloat32},    {"float64", tuttiFloat64}, {"fp64", tuttiFloat64},
      {"bf16", tuttiBfloat16},   {"e4m3", tuttiFloat8e4m3}, {"e5m2", tuttiFloat8e5m2},
      {"char", tuttiInt8},       {"int", tuttiInt32},
  };
  for (const auto& alias : aliases) {
    tuttiDataType_t parsed = tuttiNumTypes;
    EXPECT_TRUE(parseDataType(alias.first, &parsed)) << alias.first;
    EXPECT_EQ(parsed, alias.second) << alias.first;
  }
}

TEST(DataTypeTest, ParsingRejectsUnknownNamesWithoutWriting) {
  tuttiDataType_t type = tuttiFloat32;
  EXPECT_FALSE(parseDataType("", &type));
  EXPECT_FALSE(parseDataType("float128", &type));
  EXPECT_FALSE(parseDataType("int16", &type));
  EXPECT_EQ(type, tuttiFloat32);
  tuttiRedOp_t op = tuttiMax;
  EXPECT_FALSE(parseRedOp("mean", &op));
  EXPECT_FALSE(parseRedOp("", &op));
  EXPECT_EQ(op, tuttiMax);
}

// ---------------------------------------------------------------------------------------------
// Conversions: hand-picked edge cases.

float floatFromBits(uint32_t bits) {
  float value;
  memcpy(&value, &bits, sizeof(value));
  return value;
}

uint32_t bitsOfFloat(float value) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof(bits));
  return bits;
}

const float kInf = std::numeric_limits<float>::infinity();
const float kNan = std::numeric_limits<float>::quiet_NaN();

TEST(ConversionEdgeTest, HalfOverflowAndRounding) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(floatToHalf(std::nextafter(65520.0f, 0.0f)), 0x7bff);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7c00);  // tie between max and 2^16: even is infinity
  EXPECT_EQ(floatToHalf(-65520.0f), 0xfc00);
  EXPECT_EQ(floatToHalf(1e30f), 0x7c00);
  EXPECT_EQ(floatToHalf(kInf), 0x7c00);
  EXPECT_EQ(floatToHalf(-kInf), 0xfc00);
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even mantissa.
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  // Rounding the largest mantissa up carries into the exponent.
  EXPECT_EQ(floatToHalf(2.0f - std::ldexp(1.0f, -12)), 0x4000);
}

TEST(ConversionEdgeTest, HalfSubnormalsAndZeros) {
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000);  // tie with zero: zero is even
  EXPECT_EQ(floatToHalf(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(floatToHalf(3 * std::ldexp(1.0f, -25)), 0x0002);  // tie between 1 and 2 ulps
  EXPECT_EQ(floatToHalf(-std::ldexp(1.0f, -24)), 0x8001);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
  // Halfway between the largest subnormal and the smallest normal rounds up into the normals.
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -14) - std::ldexp(1.0f, -25)), 0x0400);
  EXPECT_EQ(floatToHalf(0.0f), 0x0000);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(floatToHalf(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(floatToHalf(-std::numeric_limits<float>::denorm_min()), 0x8000);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_EQ(bitsOfFloat(halfToFloat(0x8000)), 0x80000000u);
}

TEST(ConversionEdgeTest, HalfSpecials) {
  EXPECT_EQ(halfToFloat(0x7c00), kInf);
  EXPECT_EQ(halfToFloat(0xfc00), -kInf);
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);
  EXPECT_TRUE(std::isnan(halfToFloat(0x7c01)));  // signaling NaN comes back as a NaN
  EXPECT_TRUE(std::isnan(halfToFloat(0xfe00)));
  const uint16_t nan = floatToHalf(kNan);
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x0200, 0) << "NaN should be quiet";
  EXPECT_EQ(floatToHalf(-kNan) & 0x8000, 0x8000) << "NaN keeps its sign";
  // A signaling float NaN whose payload lies only in the dropped bits still gives a NaN.
  EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(floatFromBits(0x7f800001u)))));
}

TEST(ConversionEdgeTest, Bf16) {
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(floatToBf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);  // tie to even
  EXPECT_EQ(floatToBf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_EQ(floatToBf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds past max
  EXPECT_EQ(floatToBf16(floatFromBits(0x7f7f7fffu)), 0x7f7f);
  EXPECT_EQ(floatToBf16(floatFromBits(0x7f7f8000u)), 0x7f80);  // tie: even is infinity
  EXPECT_EQ(floatToBf16(-kInf), 0xff80);
  // bf16 subnormals are float32 subnormals, so they round like the normals.
  EXPECT_EQ(floatToBf16(floatFromBits(0x00010000u)), 0x0001);
  EXPECT_EQ(floatToBf16(floatFromBits(0x00008000u)), 0x0000);
  EXPECT_EQ(floatToBf16(floatFromBits(0x00018000u)), 0x0002);
  EXPECT_EQ(floatToBf16(floatFromBits(0x007f8000u)), 0x0080);  // carries into the normals
  EXPECT_EQ(floatToBf16(-0.0f), 0x8000);
  EXPECT_EQ(bf16ToFloat(0x0001), floatFromBits(0x00010000u));
  EXPECT_EQ(bf16ToFloat(0x7f80), kInf);
  EXPECT_TRUE(std::isnan(bf16ToFloat(0x7f81)));
  const uint16_t nan = floatToBf16(-kNan);
  EXPECT_EQ(nan & 0xff80, 0xff80);
  EXPECT_NE(nan & 0x0040, 0) << "NaN should be quiet";
}

TEST(ConversionEdgeTest, Fp8e4m3HasNoInfinity) {
  EXPECT_EQ(floatToFp8e4m3(1.0f), 0x38);
  EXPECT_EQ(floatToFp8e4m3(448.0f), 0x7e);
  EXPECT_EQ(floatToFp8e4m3(460.0f), 0x7e);
  EXPECT_EQ(floatToFp8e4m3(464.0f), 0x7e);  // tie between 448 and (NaN-coded) 480: even wins
  EXPECT_EQ(floatToFp8e4m3(std::nextafter(464.0f, kInf)), 0x7f);
  EXPECT_EQ(floatToFp8e4m3(480.0f), 0x7f);
  EXPECT_EQ(floatToFp8e4m3(-500.0f), 0xff);
  EXPECT_EQ(floatToFp8e4m3(kInf), 0x7f);
  EXPECT_EQ(floatToFp8e4m3(-kInf), 0xff);
  EXPECT_EQ(floatToFp8e4m3(kNan), 0x7f);
  EXPECT_EQ(floatToFp8e4m3(-kNan), 0xff);
  EXPECT_EQ(floatToFp8e4m3(std::ldexp(1.0f, -9)), 0x01);   // smallest subnormal
  EXPECT_EQ(floatToFp8e4m3(std::ldexp(1.0f, -10)), 0x00);  // tie with zero
  EXPECT_EQ(floatToFp8e4m3(1.5f * std::ldexp(1.0f, -10)), 0x01);
  EXPECT_EQ(floatToFp8e4m3(std::ldexp(1.0f, -6)), 0x08);    // smallest normal
  EXPECT_EQ(floatToFp8e4m3(std::ldexp(15.0f, -10)), 0x08);  // 7.5 subnormal ulps: tie, up
  EXPECT_EQ(floatToFp8e4m3(-0.0f), 0x80);
  EXPECT_EQ(fp8e4m3ToFloat(0x7e), 448.0f);
  EXPECT_EQ(fp8e4m3ToFloat(0x78), 256.0f);  // top exponent holds numbers
  EXPECT_EQ(fp8e4m3ToFloat(0x01), std::ldexp(1.0f, -9));
  EXPECT_EQ(fp8e4m3ToFloat(0x87), -std::ldexp(7.0f, -9));
  EXPECT_TRUE(std::isnan(fp8e4m3ToFloat(0x7f)));
  EXPECT_TRUE(std::isnan(fp8e4m3ToFloat(0xff)));
}

TEST(ConversionEdgeTest, Fp8e5m2OverflowsToInfinity) {
  EXPECT_EQ(floatToFp8e5m2(1.0f), 0x3c);
  EXPECT_EQ(floatToFp8e5m2(57344.0f), 0x7b);
  EXPECT_EQ(floatToFp8e5m2(std::nextafter(61440.0f, 0.0f)), 0x7b);
  EXPECT_EQ(floatToFp8e5m2(61440.0f), 0x7c);  // tie between max and 2^16: even is infinity
  EXPECT_EQ(floatToFp8e5m2(-1e10f), 0xfc);
  EXPECT_EQ(floatToFp8e5m2(kInf), 0x7c);
  EXPECT_EQ(floatToFp8e5m2(std::ldexp(1.0f, -16)), 0x01);
  EXPECT_EQ(floatToFp8e5m2(std::ldexp(1.0f, -17)), 0x00);
  EXPECT_EQ(floatToFp8e5m2(std::ldexp(3.0f, -17)), 0x02);
  EXPECT_EQ(floatToFp8e5m2(-0.0f), 0x80);
  EXPECT_EQ(fp8e5m2ToFloat(0x7c), kInf);
  EXPECT_EQ(fp8e5m2ToFloat(0xfc), -kInf);
  EXPECT_EQ(fp8e5m2ToFloat(0x7b), 57344.0f);
  EXPECT_EQ(fp8e5m2ToFloat(0x01), std::ldexp(1.0f, -16));
  EXPECT_TRUE(std::isnan(fp8e5m2ToFloat(0x7d)));
  EXPECT_TRUE(std::isnan(fp8e5m2ToFloat(0xfe)));
  const uint8_t nan = floatToFp8e5m2(kNan);
  EXPECT_EQ(nan & 0x7c, 0x7c);
  EXPECT_NE(nan & 0x03, 0);
}

// ---------------------------------------------------------------------------------------------
// Conversions: exhaustive checks against a slow reference that knows nothing of bit tricks.

struct Format {
  const char* name;
  int expBits;
  int manBits;
  bool hasInfinity;  // IEEE-like top exponent; else only all-ones is NaN (E4M3FN)
  std::function<float(uint32_t)> toFloat;
  std::function<uint32_t(float)> fromFloat;

  int bits() const { return 1 + expBits + manBits; }
  uint32_t signBit() const { return 1u << (expBits + manBits); }
  uint32_t expField(uint32_t code) const { return (code >> manBits) & ((1u << expBits) - 1); }
  uint32_t manField(uint32_t code) const { return code & ((1u << manBits) - 1); }
  bool isNan(uint32_t code) const {
    const uint32_t allOnesExp = (1u << expBits) - 1;
    if (hasInfinity) return expField(code) == allOnesExp && manField(code) != 0;
    return (code & (signBit() - 1)) == signBit() - 1;
  }
  bool isInf(uint32_t code) const {
    return hasInfinity && expField(code) == (1u << expBits) - 1 && manField(code) == 0;
  }
  // The value the fields spell under the plain formula, special encodings ignored.
  double formulaValue(uint32_t magnitudeCode) const {
    const int bias = (1 << (expBits - 1)) - 1;
    const uint32_t exp = expField(magnitudeCode);
    const double man = manField(magnitudeCode);
    if (exp == 0) return std::ldexp(man, 1 - bias - manBits);
    return std::ldexp(man + std::ldexp(1.0, manBits), static_cast<int>(exp) - bias - manBits);
  }
  // Largest finite positive code, found by walking the codes rather than by formula.
  uint32_t maxFiniteCode() const {
    uint32_t code = 0;
    while (!isNan(code + 1) && !isInf(code + 1)) ++code;
    return code;
  }
};

std::vector<Format> allFormats() {
  return {
      {"fp16", 5, 10, true, [](uint32_t c) { return halfToFloat(static_cast<uint16_t>(c)); },
       [](float v) { return static_cast<uint32_t>(floatToHalf(v)); }},
      {"bf16", 8, 7, true, [](uint32_t c) { return bf16ToFloat(static_cast<uint16_t>(c)); },
       [](float v) { return static_cast<uint32_t>(floatToBf16(v)); }},
      {"e4m3", 4, 3, false, [](uint32_t c) { return fp8e4m3ToFloat(static_cast<uint8_t>(c)); },
       [](float v) { return static_cast<uint32_t>(floatToFp8e4m3(v)); }},
      {"e5m2", 5, 2, true, [](uint32_t c) { return fp8e5m2ToFloat(static_cast<uint8_t>(c)); },
       [](float v) { return static_cast<uint32_t>(floatToFp8e5m2(v)); }},
  };
}

// Rounds by searching the table of every finite value of the format. The code just above the
// largest finite one is treated as one more value (its formula value): rounding onto it is
// overflow, and that code is exactly what overflow yields (infinity, or E4M3FN's NaN).
class SlowRounder {
 public:
  explicit SlowRounder(const Format& format) : format_(format) {
    overflowCode_ = format.maxFiniteCode() + 1;
    for (uint32_t code = 0; code <= overflowCode_; ++code) {
      values_.push_back(format.formulaValue(code));
    }
  }

  // The expected code for a non-NaN input.
  uint32_t round(float input) const {
    const uint32_t sign = std::signbit(input) ? format_.signBit() : 0;
    const double magnitude = std::fabs(static_cast<double>(input));
    if (magnitude >= values_.back()) return sign | overflowCode_;
    // values_[lo] <= magnitude < values_[lo + 1]
    const size_t lo =
        std::upper_bound(values_.begin(), values_.end(), magnitude) - values_.begin() - 1;
    const double twice = 2 * magnitude;  // exact, as are the sums below
    const double ends = values_[lo] + values_[lo + 1];
    size_t pick;
    if (twice < ends) {
      pick = lo;
    } else if (twice > ends) {
      pick = lo + 1;
    } else {
      pick = (lo % 2 == 0) ? lo : lo + 1;  // the even mantissa is the even code
    }
    return sign | static_cast<uint32_t>(pick);
  }

  const std::vector<double>& values() const { return values_; }

 private:
  const Format& format_;
  uint32_t overflowCode_;
  std::vector<double> values_;
};

class ConversionTest : public ::testing::TestWithParam<int> {
 protected:
  const Format& format() const { return formats_[GetParam()]; }

 private:
  std::vector<Format> formats_ = allFormats();
};

TEST_P(ConversionTest, OverflowCodeIsInfinityOrNan) {
  const Format& f = format();
  const uint32_t overflow = f.maxFiniteCode() + 1;
  if (f.hasInfinity) {
    EXPECT_TRUE(f.isInf(overflow));
    EXPECT_EQ(f.toFloat(overflow), kInf);
  } else {
    EXPECT_TRUE(f.isNan(overflow));
  }
}

TEST_P(ConversionTest, EveryCodeDecodesToItsValueAndRoundTrips) {
  const Format& f = format();
  int failures = 0;
  for (uint32_t code = 0; code < (1u << f.bits()) && failures < 10; ++code) {
    const float value = f.toFloat(code);
    const uint32_t back = f.fromFloat(value);
    if (f.isNan(code)) {
      if (!std::isnan(value) || !f.isNan(back)) {
        ADD_FAILURE() << f.name << " NaN code 0x" << std::hex << code << " decoded to " << value
                      << ", came back as 0x" << back;
        ++failures;
      }
      continue;
    }
    const bool negative = (code & f.signBit()) != 0;
    const uint32_t magnitude = code & (f.signBit() - 1);
    double expected =
        f.isInf(code) ? std::numeric_limits<double>::infinity() : f.formulaValue(magnitude);
    if (negative) expected = -expected;
    if (static_cast<double>(value) != expected || std::signbit(value) != negative || back != code) {
      ADD_FAILURE() << f.name << " code 0x" << std::hex << code << " decoded to " << value
                    << " (expected " << expected << "), came back as 0x" << back;
      ++failures;
    }
  }
}

void expectRoundsLikeReference(const Format& f, const SlowRounder& rounder, float input,
                               int* failures) {
  if (*failures >= 10) return;
  const uint32_t actual = f.fromFloat(input);
  if (std::isnan(input)) {
    if (!f.isNan(actual)) {
      ADD_FAILURE() << f.name << ": NaN input 0x" << std::hex << bitsOfFloat(input)
                    << " gave non-NaN 0x" << actual;
      ++*failures;
    }
    return;
  }
  const uint32_t expected = rounder.round(input);
  if (actual != expected) {
    ADD_FAILURE() << f.name << ": " << input << " (float bits 0x" << std::hex << bitsOfFloat(input)
                  << ") gave 0x" << actual << ", nearest-even is 0x" << expected;
    ++*failures;
  }
}

TEST_P(ConversionTest, StridedFloatsRoundToNearestEven) {
  const Format& f = format();
  const SlowRounder rounder(f);
  int failures = 0;
  // An odd stride visits every exponent and low-bit pattern of float32, both signs.
  for (uint64_t bits = 0; bits <= 0xffffffffu; bits += 1021) {
    expectRoundsLikeReference(f, rounder, floatFromBits(static_cast<uint32_t>(bits)), &failures);
  }
  for (float special : {0.0f, -0.0f, kInf, -kInf, kNan, -kNan, floatFromBits(0x7f800001u),
                        std::numeric_limits<float>::max(), std::numeric_limits<float>::min(),
                        std::numeric_limits<float>::denorm_min()}) {
    expectRoundsLikeReference(f, rounder, special, &failures);
  }
  EXPECT_EQ(failures, 0);
}

TEST_P(ConversionTest, MidpointsAndTheirNeighboursRoundToNearestEven) {
  const Format& f = format();
  const SlowRounder rounder(f);
  const std::vector<double>& values = rounder.values();
  int failures = 0;
  for (size_t i = 0; i + 1 < values.size(); ++i) {
    const double midpoint = (values[i] + values[i + 1]) / 2;
    const float mid = static_cast<float>(midpoint);
    ASSERT_EQ(static_cast<double>(mid), midpoint) << f.name << ": midpoint is not a float";
    const float around[] = {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, kInf),
                            static_cast<float>(values[i]),
                            std::nextafter(static_cast<float>(values[i]), kInf)};
    for (float input : around) {
      expectRoundsLikeReference(f, rounder, input, &failures);
      expectRoundsLikeReference(f, rounder, -input, &failures);
    }
  }
  EXPECT_EQ(failures, 0);
}

INSTANTIATE_TEST_SUITE_P(AllSmallFloats, ConversionTest, ::testing::Range(0, 4),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(allFormats()[info.param].name);
                         });

}  // namespace
}  // namespace tutti
