// The CUDA kernels (device/cuda/reduce_kernels.cu), callable from C++ compiled without nvcc:
// streams are passed as void* (a cudaStream_t; nullptr is the current device's default stream)
// and results are cudaError_t values as int (0 is cudaSuccess).
#pragma once

#include <stdint.h>

#include "device/p2p_launch.h"
#include "device/reduce_launch.h"

namespace tutti {
namespace device {

// Queues the reduction kernel (device/kernels/reduce_element.h) on the stream, on the current
// device: dst[i] = a[i] op b[i], bit for bit as reduceArrays. The pointers must be device memory
// (or memory the device can reach) of the current device; 16-byte vectors are used when dst, a
// and b sit at the same offset from a 16-byte boundary, elements one at a time otherwise. smCount
// (deviceSmCount) sizes the grid; <= 0 asks the current device. count == 0 queues nothing.
// Returns cudaErrorInvalidValue (1) for a type or op out of range, else the launch's error.
int launchReduceKernel(const ReduceLaunch& launch, void* cudaStream, int smCount);

// Queues a one-thread kernel that holds the stream until *flag >= value: how a stream waits for
// a collective that host threads run. flag is page-locked host memory mapped for the device
// (cudaHostAlloc with cudaHostAllocMapped, or any allocation under unified addressing); the host
// raises it with a release store, and the kernel polls it every ~200 ns.
int launchWaitFlagKernel(const uint64_t* flag, uint64_t value, void* cudaStream);

// The p2p path's kernels (device/cuda/p2p_kernels.cu, device/p2p_launch.h). The pointers may be
// peers' device memory opened with cudaIpcOpenMemHandle. launchReduceManyKernel: 16-byte vectors
// when every pointer sits at the same offset from a 16-byte boundary, elements one at a time
// otherwise; smCount as launchReduceKernel; count == 0 queues nothing; cudaErrorInvalidValue for
// a type, op or input count out of range. launchBarrierKernel: one warp; each of the first
// `ranks` threads announces in one member's area, then polls one slot of this rank's area with
// volatile loads; on timeout (the device's global timer) it writes the error word.
int launchReduceManyKernel(const ReduceManyLaunch& launch, void* cudaStream, int smCount);
int launchBarrierKernel(const BarrierLaunch& launch, void* cudaStream);

// The number of multiprocessors of a device, into *count.
int deviceSmCount(int device, int* count);

}  // namespace device
}  // namespace tutti
