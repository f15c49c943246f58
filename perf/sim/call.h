// Sizes as nccl-tests counts them (testing/nccl_tests.h), in float32: S is the larger buffer;
// all-reduce moves S/4 floats, all-gather and reduce-scatter S/(4n) per rank.
#pragma once

#include <cstddef>

#include "algo/plan.h"
#include "testing/nccl_tests.h"

namespace tutti::sim {

constexpr double kElementBytes = 4;  // float32, nccl-tests' default type

struct CallShape {
  size_t count = 0;  // the call's count argument
  size_t bytes = 0;  // S after rounding down to whole elements per rank
};

inline CallShape callShape(Collective collective, int nranks, size_t bytes) {
  const test::CallShape shape =
      test::callShapeOf(collective, bytes, static_cast<size_t>(kElementBytes), nranks);
  return {shape.callCount, shape.largerCount() * static_cast<size_t>(kElementBytes)};
}

// busbw in GB/s of a call of S bytes taking us microseconds; 0 for a time of 0.
inline double busbwGBps(Collective collective, int n, double bytes, double us) {
  return us > 0 ? bytes / (us * 1e3) * test::busBandwidthFactor(collective, n) : 0;
}

}  // namespace tutti::sim
