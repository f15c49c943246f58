// One element of the reduction, dst = a op b, with reduceArrays' semantics (exec/reduce.h) bit for
// bit: the source of both the host's device kernel (device/host_kernels.cc, which the emulated
// device runs) and the CUDA kernels (device/cuda/reduce_kernels.cu).
//
// The host's exec/reduce_kernels.inc is written in GCC vector extensions and SSE/AVX2
// intrinsics, which nvcc cannot compile for a device, so this is the scalar form of the same
// rules; tests/device/device_kernels_test.cc holds both to reduceArrays' bits.
//
// What differs on a GPU, and is undone here: its arithmetic returns one canonical NaN (all
// payload bits set) whenever a result is NaN, where x86 passes a NaN operand on quieted (payload
// kept) and makes a NaN of its own from numbers alone (inf - inf, 0 * inf) with the sign set.
// So Sum, Prod and Avg of floating types take their NaN from the operands explicitly. With two
// NaN operands the result is a's, one of the two that reduceArrays may give (reduce.h leaves it
// open: the compiler may swap an addition's operands).
//
// fp16, bf16 and fp8 are reduced in float32 through datatype.h's conversions; no native fp16 or
// fp8 arithmetic is used, since converting each operand and rounding once on store is what
// reduceArrays does, and what makes the results identical.
#pragma once

#include <stdint.h>
#include <string.h>

#include <type_traits>

#include "base/host_device.h"
#include "exec/datatype.h"
#include "tutti/tutti.h"

namespace tutti {
namespace device {
namespace kernels {

template <typename To, typename From>
TUTTI_HOST_DEVICE inline To bitCast(From value) {
  static_assert(sizeof(To) == sizeof(From), "same size only");
  To result;
  memcpy(&result, &value, sizeof(result));
  return result;
}

// How a type is stored and what it computes in: integers in their unsigned type (wrapping
// without undefined behaviour), float32 and float64 natively, the reduced formats in float32.
template <typename S>
struct IntegerElement {
  using Storage = S;
  using Value = std::make_unsigned_t<S>;
  static constexpr bool kFloating = false;
  TUTTI_HOST_DEVICE static Value load(S stored) { return static_cast<Value>(stored); }
  TUTTI_HOST_DEVICE static S store(Value value) { return static_cast<S>(value); }
};

template <typename F>
struct NativeFloatElement {
  using Storage = F;
  using Value = F;
  static constexpr bool kFloating = true;
  TUTTI_HOST_DEVICE static F load(F stored) { return stored; }
  TUTTI_HOST_DEVICE static F store(F value) { return value; }
};

template <typename Format, typename S>
struct ReducedFloatElement {
  using Storage = S;
  using Value = float;
  static constexpr bool kFloating = true;
  TUTTI_HOST_DEVICE static float load(S stored) { return Format::toFloat(stored); }
  TUTTI_HOST_DEVICE static S store(float value) { return static_cast<S>(Format::fromFloat(value)); }
};

// Indexed by tuttiDataType_t.
template <int kType>
struct ElementOf;
template <>
struct ElementOf<tuttiInt8> : IntegerElement<int8_t> {};
template <>
struct ElementOf<tuttiUint8> : IntegerElement<uint8_t> {};
template <>
struct ElementOf<tuttiInt32> : IntegerElement<int32_t> {};
template <>
struct ElementOf<tuttiUint32> : IntegerElement<uint32_t> {};
template <>
struct ElementOf<tuttiInt64> : IntegerElement<int64_t> {};
template <>
struct ElementOf<tuttiUint64> : IntegerElement<uint64_t> {};
template <>
struct ElementOf<tuttiFloat16> : ReducedFloatElement<detail::Half, uint16_t> {};
template <>
struct ElementOf<tuttiFloat32> : NativeFloatElement<float> {};
template <>
struct ElementOf<tuttiFloat64> : NativeFloatElement<double> {};
template <>
struct ElementOf<tuttiBfloat16> : ReducedFloatElement<detail::Bf16, uint16_t> {};
template <>
struct ElementOf<tuttiFloat8e4m3> : ReducedFloatElement<detail::Fp8e4m3, uint8_t> {};
template <>
struct ElementOf<tuttiFloat8e5m2> : ReducedFloatElement<detail::Fp8e5m2, uint8_t> {};

// float32 and float64 bit layouts, for the NaN rules.
template <typename F>
struct FloatBits;
template <>
struct FloatBits<float> {
  using Bits = uint32_t;
  static constexpr Bits kQuietBit = 0x400000u;
  // The NaN the host makes from numbers: x86 sets the sign, Arm does not.
#if defined(__x86_64__) || defined(__i386__)
  static constexpr Bits kDefaultNan = 0xffc00000u;
#else
  static constexpr Bits kDefaultNan = 0x7fc00000u;
#endif
};
template <>
struct FloatBits<double> {
  using Bits = uint64_t;
  static constexpr Bits kQuietBit = uint64_t{1} << 51;
#if defined(__x86_64__) || defined(__i386__)
  static constexpr Bits kDefaultNan = 0xfff8000000000000u;
#else
  static constexpr Bits kDefaultNan = 0x7ff8000000000000u;
#endif
};

template <typename F>
TUTTI_HOST_DEVICE inline bool isNan(F value) {
  return value != value;
}

// The host's NaN for an arithmetic result that is NaN: a NaN operand quieted, else the default.
template <typename F>
TUTTI_HOST_DEVICE inline F hostNan(F a, F b) {
  using B = FloatBits<F>;
  if (isNan(a)) return bitCast<F>(bitCast<typename B::Bits>(a) | B::kQuietBit);
  if (isNan(b)) return bitCast<F>(bitCast<typename B::Bits>(b) | B::kQuietBit);
  return bitCast<F>(B::kDefaultNan);
}

// fmax/fmin with +0 above -0, as the host kernels select: a NaN loses to a number, and with two
// NaNs the result is b, bits untouched.
template <typename F>
TUTTI_HOST_DEVICE inline F floatMax(F a, F b) {
  using Bits = typename FloatBits<F>::Bits;
  if (isNan(a)) return b;
  if (isNan(b)) return a;
  if (a == b) return bitCast<F>(bitCast<Bits>(a) & bitCast<Bits>(b));
  return a > b ? a : b;
}

template <typename F>
TUTTI_HOST_DEVICE inline F floatMin(F a, F b) {
  using Bits = typename FloatBits<F>::Bits;
  if (isNan(a)) return b;
  if (isNan(b)) return a;
  if (a == b) return bitCast<F>(bitCast<Bits>(a) | bitCast<Bits>(b));
  return a < b ? a : b;
}

// a op b in the compute type E::Value. kOp is a tuttiRedOp_t; Avg combines like Sum.
template <typename E, int kOp>
TUTTI_HOST_DEVICE inline typename E::Value combine(typename E::Value a, typename E::Value b) {
  using V = typename E::Value;
  using S = typename E::Storage;
  if constexpr (E::kFloating) {
    if constexpr (kOp == tuttiMax) {
      return floatMax(a, b);
    } else if constexpr (kOp == tuttiMin) {
      return floatMin(a, b);
    } else {
      const V result = kOp == tuttiProd ? a * b : a + b;
      return isNan(result) ? hostNan(a, b) : result;
    }
  } else {
    if constexpr (kOp == tuttiMax) {
      return static_cast<S>(a) > static_cast<S>(b) ? a : b;  // compares as stored: signed or not
    } else if constexpr (kOp == tuttiMin) {
      return static_cast<S>(a) < static_cast<S>(b) ? a : b;
    } else if constexpr (kOp == tuttiProd) {
      return static_cast<V>(a * b);
    } else {
      return static_cast<V>(a + b);
    }
  }
}

// Avg's last step, in the compute type: integers truncate toward zero (widened, so that any
// positive int divisor divides exactly), floating types divide once, correctly rounded. A NaN
// stays as it is (already quiet): a GPU division would replace it with its canonical NaN.
template <typename E>
TUTTI_HOST_DEVICE inline typename E::Value divideValue(typename E::Value value, int divisor) {
  using V = typename E::Value;
  using S = typename E::Storage;
  if constexpr (E::kFloating) {
    return isNan(value) ? value : value / static_cast<V>(divisor);
  } else if constexpr (std::is_signed_v<S>) {
    return static_cast<V>(static_cast<S>(static_cast<int64_t>(static_cast<S>(value)) / divisor));
  } else {
    return static_cast<V>(static_cast<uint64_t>(value) / static_cast<uint64_t>(divisor));
  }
}

// dst = a op b for one element of type kType; kDivide: the last step of an Avg too (kOp is then
// tuttiAvg and divisor > 0).
template <int kType, int kOp, bool kDivide>
TUTTI_HOST_DEVICE inline typename ElementOf<kType>::Storage reduceElement(
    typename ElementOf<kType>::Storage a, typename ElementOf<kType>::Storage b, int divisor) {
  using E = ElementOf<kType>;
  typename E::Value value = combine<E, kOp>(E::load(a), E::load(b));
  if constexpr (kDivide) value = divideValue<E>(value, divisor);
  return E::store(value);
}

// One element of an N-input reduction (device/p2p_launch.h): in(0) op in(1) op ... op in(n-1),
// folded left to right with reduceElement, so each step rounds to the storage type as a chain of
// two-input reductions does; kDivide: Avg's division at the last step. One input is returned as
// it is, as a one-rank collective copies (dividing by 1 changes no number's bits, but converting
// a reduced format's signaling NaN to float would quiet it). in(j) returns input j's element as
// stored; n >= 1.
template <int kType, int kOp, bool kDivide, typename Input>
TUTTI_HOST_DEVICE inline typename ElementOf<kType>::Storage reduceManyElement(int n, Input in,
                                                                              int divisor) {
  typename ElementOf<kType>::Storage acc = in(0);
  if (n == 1) return acc;
  for (int j = 1; j < n - 1; ++j) acc = reduceElement<kType, kOp, false>(acc, in(j), divisor);
  return reduceElement<kType, kOp, kDivide>(acc, in(n - 1), divisor);
}

// The dispatch every launcher of these kernels shares (host code): calls
// F::template run<kType, kOp, kDivide>(args...) for a type and op known at run time, kDivide set
// for an Avg with `divide`; returns outOfRange for a type or op outside tutti.h's.
template <typename F, int kType, typename R, typename... Args>
inline R dispatchOp(tuttiRedOp_t op, bool divide, R outOfRange, Args&&... args) {
  switch (op) {
    case tuttiSum:
      return F::template run<kType, tuttiSum, false>(args...);
    case tuttiProd:
      return F::template run<kType, tuttiProd, false>(args...);
    case tuttiMax:
      return F::template run<kType, tuttiMax, false>(args...);
    case tuttiMin:
      return F::template run<kType, tuttiMin, false>(args...);
    case tuttiAvg:
      if (divide) return F::template run<kType, tuttiAvg, true>(args...);
      return F::template run<kType, tuttiAvg, false>(args...);
    default:
      return outOfRange;
  }
}

template <typename F, typename R, typename... Args>
inline R dispatch(tuttiDataType_t type, tuttiRedOp_t op, bool divide, R outOfRange,
                  Args&&... args) {
  switch (type) {
#define TUTTI_DISPATCH_TYPE(t) \
  case t:                      \
    return dispatchOp<F, t>(op, divide, outOfRange, args...);
    TUTTI_DISPATCH_TYPE(tuttiInt8)
    TUTTI_DISPATCH_TYPE(tuttiUint8)
    TUTTI_DISPATCH_TYPE(tuttiInt32)
    TUTTI_DISPATCH_TYPE(tuttiUint32)
    TUTTI_DISPATCH_TYPE(tuttiInt64)
    TUTTI_DISPATCH_TYPE(tuttiUint64)
    TUTTI_DISPATCH_TYPE(tuttiFloat16)
    TUTTI_DISPATCH_TYPE(tuttiFloat32)
    TUTTI_DISPATCH_TYPE(tuttiFloat64)
    TUTTI_DISPATCH_TYPE(tuttiBfloat16)
    TUTTI_DISPATCH_TYPE(tuttiFloat8e4m3)
    TUTTI_DISPATCH_TYPE(tuttiFloat8e5m2)
#undef TUTTI_DISPATCH_TYPE
    default:
      return outOfRange;
  }
}

}  // namespace kernels
}  // namespace device
}  // namespace tutti
