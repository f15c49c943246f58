// The device kernels run on the host: what the emulated device executes for a kernel launch.
// Same source as the CUDA kernels (device/kernels/), one element at a time in a plain loop; not a
// fast path (host buffers reduce through exec/reduce.h).
#pragma once

#include "device/reduce_launch.h"

namespace tutti {
namespace device {

// dst[i] = a[i] op b[i] for i < launch.count, bit for bit as reduceArrays (exec/reduce.h).
// Pointers need no alignment. Does nothing for a type or op out of range.
void hostReduce(const ReduceLaunch& launch);

}  // namespace device
}  // namespace tutti
