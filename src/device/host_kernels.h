// The device kernels run on the host: what the emulated device executes for a kernel launch.
// Same source as the CUDA kernels (device/kernels/), one element at a time in a plain loop; not a
// fast path (host buffers reduce through exec/reduce.h).
#pragma once

#include "device/p2p_launch.h"
#include "device/reduce_launch.h"

namespace tutti {
namespace device {

// dst[i] = a[i] op b[i] for i < launch.count, bit for bit as reduceArrays (exec/reduce.h).
// Pointers need no alignment. Does nothing for a type or op out of range.
void hostReduce(const ReduceLaunch& launch);

// dst[i] = in[0][i] op ... op in[n-1][i] (device/p2p_launch.h), bit for bit as a chain of
// hostReduce steps. Does nothing for a type or op out of range or no inputs.
void hostReduceMany(const ReduceManyLaunch& launch);

// The barrier of device/p2p_launch.h on the calling thread: announces, then waits (spinning
// briefly, then sleeping in short steps) until every slot holds launch.value or timeoutMs passed,
// when it writes launch.value into *launch.error. Returns at once when *launch.error is set, and
// stops waiting when it becomes set meanwhile (another barrier's timeout, an abort).
void hostBarrier(const BarrierLaunch& launch);

}  // namespace device
}  // namespace tutti
