// Data type and reduction op helpers: sizes, names, and the conversions between float32 and the
// reduced floating types (fp16, bf16, fp8 E4M3FN and E5M2).
//
// The conversions are defined inline here because the reduction kernels call them once per
// element; an out-of-line call would cost more than the conversion itself. They are host-device
// (base/host_device.h): the device kernels (device/kernels/reduce_element.h) convert with the
// same code, which is what makes their results bit-identical to the host's.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <string>

#include "base/host_device.h"
#include "tutti/tutti.h"

namespace tutti {

bool isValidDataType(int type);
bool isValidRedOp(int op);
// Bytes per element; 0 for a type out of range.
size_t dataTypeSize(tuttiDataType_t type);
// nccl-tests names ("int8", "float", "bfloat16", "f8e4m3", ...); "unknown" out of range.
const char* dataTypeName(tuttiDataType_t type);
// "sum", "prod", "max", "min", "avg"; "unknown" out of range.
const char* redOpName(tuttiRedOp_t op);
// Accept the names above plus common aliases ("fp16", "bf16", "float32", "e4m3", "int", ...),
// case-sensitively. Return false, leaving *out alone, for an unknown name.
bool parseDataType(const std::string& name, tuttiDataType_t* out);
bool parseRedOp(const std::string& name, tuttiRedOp_t* out);

// Conversions. Narrowing rounds to nearest, ties to even; NaN stays NaN (quiet, sign kept);
// a value too large becomes infinity, or NaN for E4M3FN, which has no infinity.
TUTTI_HOST_DEVICE inline float halfToFloat(uint16_t bits);
TUTTI_HOST_DEVICE inline uint16_t floatToHalf(float value);
TUTTI_HOST_DEVICE inline float bf16ToFloat(uint16_t bits);
TUTTI_HOST_DEVICE inline uint16_t floatToBf16(float value);
TUTTI_HOST_DEVICE inline float fp8e4m3ToFloat(uint8_t bits);
TUTTI_HOST_DEVICE inline uint8_t floatToFp8e4m3(float value);
TUTTI_HOST_DEVICE inline float fp8e5m2ToFloat(uint8_t bits);
TUTTI_HOST_DEVICE inline uint8_t floatToFp8e5m2(float value);

namespace detail {

TUTTI_HOST_DEVICE inline uint32_t floatBits(float value) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof(bits));
  return bits;
}

TUTTI_HOST_DEVICE inline float bitsFloat(uint32_t bits) {
  float value;
  memcpy(&value, &bits, sizeof(value));
  return value;
}

// A binary floating format narrower than float32, with kExpBits exponent and kManBits mantissa
// bits after the sign. kIeeeSpecials: the top exponent holds infinity and NaNs (fp16, bf16,
// E5M2). Otherwise (E4M3FN) only the all-ones pattern is NaN and the top exponent otherwise holds
// ordinary numbers, so there is no infinity.
template <int kExpBits, int kManBits, bool kIeeeSpecials>
struct SmallFloat {
  static constexpr int kBits = 1 + kExpBits + kManBits;
  static constexpr int kBias = (1 << (kExpBits - 1)) - 1;
  static constexpr uint32_t kSignBit = 1u << (kBits - 1);
  static constexpr uint32_t kExpMax = (1u << kExpBits) - 1;
  static constexpr uint32_t kManMask = (1u << kManBits) - 1;
  static constexpr uint32_t kQuietBit = 1u << (kManBits - 1);
  // Largest finite magnitude; the pattern just above it is what overflow produces (infinity,
  // or the NaN of E4M3FN), so rounding past the largest value lands on it naturally.
  static constexpr uint32_t kMaxFinite =
      kIeeeSpecials ? ((kExpMax << kManBits) - 1) : ((kExpMax << kManBits) | kManMask) - 1;
  static constexpr uint32_t kOverflow = kMaxFinite + 1;
  static constexpr uint32_t kCanonicalNan =
      kIeeeSpecials ? ((kExpMax << kManBits) | kQuietBit) : ((kExpMax << kManBits) | kManMask);
  static constexpr int kShift = 23 - kManBits;  // mantissa bits dropped from a float32

  TUTTI_HOST_DEVICE static uint32_t fromFloat(float value) {
    const uint32_t bits = floatBits(value);
    const uint32_t sign = (bits >> 31) ? kSignBit : 0;
    const uint32_t magnitude = bits & 0x7fffffffu;
    if (magnitude > 0x7f800000u) {
      // Keep what fits of the payload: a NaN passed through a narrower type stays traceable.
      if constexpr (!kIeeeSpecials) return sign | kCanonicalNan;
      return sign | kCanonicalNan | ((magnitude & 0x7fffffu) >> kShift);
    }
    if (magnitude == 0x7f800000u) return sign | kOverflow;

    // Significand with its implicit bit, and the exponent that goes with it; float32 subnormals
    // share the exponent of the smallest normal.
    const int exp32 = static_cast<int>(magnitude >> 23);
    const uint32_t significand = exp32 ? ((magnitude & 0x7fffffu) | 0x800000u) : magnitude;
    const int biased = (exp32 ? exp32 : 1) - 127 + kBias;

    // A result below the smallest normal loses further bits, one per binade; past 25 bits even
    // the largest significand is under half the smallest subnormal.
    int shift = kShift;
    if (biased < 1) shift += 1 - biased;
    if (shift > 25) return sign;
    // Round to nearest even without a branch (the rounding direction is data, so a branch
    // would mispredict half the time): adding just under half, plus one more when the kept
    // part is odd, carries into the kept part exactly when rounding up is due.
    const uint32_t halfMinusOne = (1u << (shift - 1)) - 1;
    uint32_t result = (significand + halfMinusOne + ((significand >> shift) & 1)) >> shift;
    // The implicit bit of `significand` adds one to the exponent field, hence biased - 1; a
    // rounding carry out of the mantissa moves into the exponent the same way.
    if (biased > 1) result += static_cast<uint32_t>(biased - 1) << kManBits;
    if (result > kMaxFinite) result = kOverflow;
    return sign | result;
  }

  TUTTI_HOST_DEVICE static float toFloat(uint32_t bits) {
    const uint32_t sign = (bits & kSignBit) ? 0x80000000u : 0;
    const uint32_t exp = (bits >> kManBits) & kExpMax;
    const uint32_t man = bits & kManMask;
    if constexpr (kIeeeSpecials) {
      if (exp == kExpMax) {
        if (man == 0) return bitsFloat(sign | 0x7f800000u);
        return bitsFloat(sign | 0x7fc00000u | (man << kShift));
      }
    } else {
      if (exp == kExpMax && man == kManMask) return bitsFloat(sign | 0x7fc00000u);
    }
    if (exp == 0) {
      if constexpr (kBias == 127) {
        // bf16 subnormals are float32 subnormals bit for bit.
        return bitsFloat(sign | (man << kShift));
      } else {
        // man * 2^(1 - bias - manBits): both factors and the product are exact floats.
        constexpr float kScale = 1.0f / static_cast<float>(1u << (kBias - 1 + kManBits));
        return bitsFloat(sign | floatBits(static_cast<float>(man) * kScale));
      }
    }
    return bitsFloat(sign | ((exp - kBias + 127) << 23) | (man << kShift));
  }
};

using Half = SmallFloat<5, 10, true>;
using Bf16 = SmallFloat<8, 7, true>;
using Fp8e4m3 = SmallFloat<4, 3, false>;
using Fp8e5m2 = SmallFloat<5, 2, true>;

}  // namespace detail

TUTTI_HOST_DEVICE inline float halfToFloat(uint16_t bits) { return detail::Half::toFloat(bits); }
TUTTI_HOST_DEVICE inline uint16_t floatToHalf(float value) {
  return static_cast<uint16_t>(detail::Half::fromFloat(value));
}
TUTTI_HOST_DEVICE inline float bf16ToFloat(uint16_t bits) { return detail::Bf16::toFloat(bits); }
TUTTI_HOST_DEVICE inline uint16_t floatToBf16(float value) {
  return static_cast<uint16_t>(detail::Bf16::fromFloat(value));
}
TUTTI_HOST_DEVICE inline float fp8e4m3ToFloat(uint8_t bits) {
  return detail::Fp8e4m3::toFloat(bits);
}
TUTTI_HOST_DEVICE inline uint8_t floatToFp8e4m3(float value) {
  return static_cast<uint8_t>(detail::Fp8e4m3::fromFloat(value));
}
TUTTI_HOST_DEVICE inline float fp8e5m2ToFloat(uint8_t bits) {
  return detail::Fp8e5m2::toFloat(bits);
}
TUTTI_HOST_DEVICE inline uint8_t floatToFp8e5m2(float value) {
  return static_cast<uint8_t>(detail::Fp8e5m2::fromFloat(value));
}

}  // namespace tutti
