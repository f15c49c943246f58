#include "device/host_kernels.h"

#include <string.h>

#include "device/kernels/reduce_element.h"

namespace tutti {
namespace device {

namespace {

// Elements go through memcpy: emulated device memory carries no alignment promise.
template <int kType, int kOp, bool kDivide>
void reduceLoop(const ReduceLaunch& launch) {
  using S = typename kernels::ElementOf<kType>::Storage;
  const char* a = static_cast<const char*>(launch.a);
  const char* b = static_cast<const char*>(launch.b);
  char* dst = static_cast<char*>(launch.dst);
  for (size_t i = 0; i < launch.count; ++i) {
    S x, y;
    memcpy(&x, a + i * sizeof(S), sizeof(S));
    memcpy(&y, b + i * sizeof(S), sizeof(S));
    const S result = kernels::reduceElement<kType, kOp, kDivide>(x, y, launch.avgDivisor);
    memcpy(dst + i * sizeof(S), &result, sizeof(S));
  }
}

template <int kType>
void reduceType(const ReduceLaunch& launch) {
  switch (launch.op) {
    case tuttiSum:
      return reduceLoop<kType, tuttiSum, false>(launch);
    case tuttiProd:
      return reduceLoop<kType, tuttiProd, false>(launch);
    case tuttiMax:
      return reduceLoop<kType, tuttiMax, false>(launch);
    case tuttiMin:
      return reduceLoop<kType, tuttiMin, false>(launch);
    case tuttiAvg:
      if (launch.avgDivisor > 0) return reduceLoop<kType, tuttiAvg, true>(launch);
      return reduceLoop<kType, tuttiAvg, false>(launch);
    default:
      return;
  }
}

using TypeFunction = void (*)(const ReduceLaunch&);

constexpr TypeFunction kReduceTypes[tuttiNumTypes] = {
    reduceType<0>, reduceType<1>, reduceType<2>, reduceType<3>, reduceType<4>,  reduceType<5>,
    reduceType<6>, reduceType<7>, reduceType<8>, reduceType<9>, reduceType<10>, reduceType<11>,
};

}  // namespace

void hostReduce(const ReduceLaunch& launch) {
  if (launch.type < 0 || launch.type >= tuttiNumTypes) return;
  kReduceTypes[launch.type](launch);
}

}  // namespace device
}  // namespace tutti
