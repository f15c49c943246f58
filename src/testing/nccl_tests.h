// nccl-tests' conventions, shared by tutti-perf, tutti-sim and the tests so that a size and a
// busbw mean the same thing everywhere: a size S is the larger of the send and receive buffers
// in bytes, and busbw = algbw x the collective's factor (nccl-tests doc/PERFORMANCE.md).
#pragma once

#include <algorithm>
#include <cstddef>

#include "algo/plan.h"

namespace tutti::test {

// The buffers of one call of a collective for a size, in elements of one type. Sizes round
// down to whole elements per rank, as nccl-tests does.
struct CallShape {
  size_t callCount = 0;  // the count argument of the call
  size_t sendCount = 0;
  size_t recvCount = 0;
  // The larger buffer: what nccl-tests reports as the size.
  size_t largerCount() const { return std::max(sendCount, recvCount); }
};

CallShape callShapeOf(Collective collective, size_t bytes, size_t typeSize, int nranks);

// busbw / algbw: 2(n-1)/n for all-reduce (each byte is reduced and then gathered), (n-1)/n for
// all-gather, reduce-scatter, all-to-all, gather and scatter, 1 for broadcast and reduce; the
// fraction of S that crosses the busiest link (nccl-tests doc/PERFORMANCE.md).
double busBandwidthFactor(Collective collective, int nranks);
// The same factor as the tables' footers write it: "2(n-1)/n", "(n-1)/n" or "1".
const char* busBandwidthFactorText(Collective collective);

}  // namespace tutti::test
