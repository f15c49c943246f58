#include "exec/reduce.h"

#include <stdint.h>
#include <string.h>

#include <cmath>
#include <type_traits>

#include "exec/datatype.h"

namespace tutti {

namespace {

// How elements are read and written: native types compute in themselves, reduced floats
// widen to float32 and round on the way back.
template <typename T>
struct NativeAccess {
  using Storage = T;
  using Compute = T;
  static T load(T value) { return value; }
  static T store(T value) { return value; }
};

template <typename Format, typename S>
struct ReducedFloatAccess {
  using Storage = S;
  using Compute = float;
  static float load(S bits) { return Format::toFloat(bits); }
  static S store(float value) { return static_cast<S>(Format::fromFloat(value)); }
};

// Unsigned arithmetic wraps without undefined behaviour; types narrower than unsigned would be
// promoted to (signed) int, where a product can overflow.
template <typename T>
using WrapType =
    std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;

struct SumOp {
  template <typename T>
  static T apply(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      return static_cast<T>(static_cast<WrapType<T>>(a) + static_cast<WrapType<T>>(b));
    } else {
      return a + b;
    }
  }
};

struct ProdOp {
  template <typename T>
  static T apply(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      return static_cast<T>(static_cast<WrapType<T>>(a) * static_cast<WrapType<T>>(b));
    } else {
      return a * b;
    }
  }
};

// Written out rather than calling std::fmax so that the loops vectorize and the sign of a zero
// result is the same on every libm.
struct MaxOp {
  template <typename T>
  static T apply(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
      if (a != a) return b;
      if (b != b) return a;
      if (a == b) return std::signbit(a) ? b : a;
    }
    return a > b ? a : b;
  }
};

struct MinOp {
  template <typename T>
  static T apply(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
      if (a != a) return b;
      if (b != b) return a;
      if (a == b) return std::signbit(a) ? a : b;
    }
    return a < b ? a : b;
  }
};

// divideArray's "reduction": it has one input.
struct FirstOp {
  template <typename T>
  static T apply(T a, T) {
    return a;
  }
};

template <typename T>
T divideBy(T value, int divisor) {
  if constexpr (std::is_floating_point_v<T>) {
    return value / static_cast<T>(divisor);
  } else if constexpr (std::is_signed_v<T>) {
    // Widened so that a divisor beyond the type's range still divides exactly.
    return static_cast<T>(static_cast<int64_t>(value) / divisor);
  } else {
    return static_cast<T>(static_cast<uint64_t>(value) / static_cast<uint64_t>(divisor));
  }
}

template <typename Access, typename Op, bool kDivide>
inline typename Access::Storage combine(typename Access::Storage a, typename Access::Storage b,
                                        int divisor) {
  typename Access::Compute value = Op::apply(Access::load(a), Access::load(b));
  if constexpr (kDivide) value = divideBy(value, divisor);
  return Access::store(value);
}

constexpr size_t kBlockBytes = 256;

// Results go to a local block first and are copied out after it is complete: the loop then
// stores only to memory that cannot alias the inputs, so it vectorizes without runtime alias
// checks (which GCC's -O2 cost model refuses), and in-place calls stay correct. The fixed trip
// count matters for the same reason.
template <typename Access, typename Op, bool kDivide>
void reduceKernel(void* dst, const void* a, const void* b, size_t count, int divisor) {
  using S = typename Access::Storage;
  constexpr size_t kBlock = kBlockBytes / sizeof(S);
  const S* x = static_cast<const S*>(a);
  const S* y = static_cast<const S*>(b);
  S* out = static_cast<S*>(dst);
  S block[kBlock];
  size_t i = 0;
  for (; i + kBlock <= count; i += kBlock) {
    for (size_t j = 0; j < kBlock; ++j) {
      block[j] = combine<Access, Op, kDivide>(x[i + j], y[i + j], divisor);
    }
    memcpy(out + i, block, sizeof(block));
  }
  const size_t rest = count - i;
  for (size_t j = 0; j < rest; ++j) {
    block[j] = combine<Access, Op, kDivide>(x[i + j], y[i + j], divisor);
  }
  if (rest > 0) memcpy(out + i, block, rest * sizeof(S));
}

template <typename Access>
void reduceWith(void* dst, const void* a, const void* b, size_t count, tuttiRedOp_t op,
                int avgDivisor) {
  switch (op) {
    case tuttiSum:
      return reduceKernel<Access, SumOp, false>(dst, a, b, count, 0);
    case tuttiProd:
      return reduceKernel<Access, ProdOp, false>(dst, a, b, count, 0);
    case tuttiMax:
      return reduceKernel<Access, MaxOp, false>(dst, a, b, count, 0);
    case tuttiMin:
      return reduceKernel<Access, MinOp, false>(dst, a, b, count, 0);
    case tuttiAvg:
      if (avgDivisor > 0) return reduceKernel<Access, SumOp, true>(dst, a, b, count, avgDivisor);
      return reduceKernel<Access, SumOp, false>(dst, a, b, count, 0);
    default:
      return;
  }
}

template <typename Access>
void divideWith(void* dst, const void* src, size_t count, int divisor) {
  reduceKernel<Access, FirstOp, true>(dst, src, src, count, divisor);
}

// Calls fn with the access of `type`; false if out of range.
template <typename Fn>
bool withAccess(tuttiDataType_t type, Fn&& fn) {
  switch (type) {
    case tuttiInt8:
      fn(NativeAccess<int8_t>());
      return true;
    case tuttiUint8:
      fn(NativeAccess<uint8_t>());
      return true;
    case tuttiInt32:
      fn(NativeAccess<int32_t>());
      return true;
    case tuttiUint32:
      fn(NativeAccess<uint32_t>());
      return true;
    case tuttiInt64:
      fn(NativeAccess<int64_t>());
      return true;
    case tuttiUint64:
      fn(NativeAccess<uint64_t>());
      return true;
    case tuttiFloat16:
      fn(ReducedFloatAccess<detail::Half, uint16_t>());
      return true;
    case tuttiFloat32:
      fn(NativeAccess<float>());
      return true;
    case tuttiFloat64:
      fn(NativeAccess<double>());
      return true;
    case tuttiBfloat16:
      fn(ReducedFloatAccess<detail::Bf16, uint16_t>());
      return true;
    case tuttiFloat8e4m3:
      fn(ReducedFloatAccess<detail::Fp8e4m3, uint8_t>());
      return true;
    case tuttiFloat8e5m2:
      fn(ReducedFloatAccess<detail::Fp8e5m2, uint8_t>());
      return true;
    default:
      return false;
  }
}

}  // namespace

void reduceArrays(void* dst, const void* a, const void* b, size_t count, tuttiDataType_t type,
                  tuttiRedOp_t op, int avgDivisor) {
  if (count == 0) return;
  withAccess(type,
             [&](auto access) { reduceWith<decltype(access)>(dst, a, b, count, op, avgDivisor); });
}

void divideArray(void* dst, const void* src, size_t count, tuttiDataType_t type, int divisor) {
  if (count == 0) return;
  if (divisor <= 0) {
    if (dst != src) memcpy(dst, src, count * dataTypeSize(type));
    return;
  }
  withAccess(type, [&](auto access) { divideWith<decltype(access)>(dst, src, count, divisor); });
}

}  // namespace tutti
