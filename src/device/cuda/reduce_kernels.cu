// The CUDA reduction and stream-wait kernels (device/cuda/cuda_kernels.h). The element
// arithmetic is device/kernels/reduce_element.h, shared with the host; this file moves the data.
//
// Each thread reduces one 16-byte vector of each input per step of a grid-stride loop; the few
// elements before the first 16-byte boundary and after the last whole vector, or every element
// when the three pointers are not equally aligned, go one at a time.
#include <cuda_runtime.h>
#include <stdint.h>
#include <string.h>

#include "device/cuda/cuda_kernels.h"
#include "device/cuda/kernel_layout.cuh"
#include "device/kernels/reduce_element.h"
#include "exec/datatype.h"

namespace tutti {
namespace device {

namespace {

using layout::kThreads;
using layout::kVectorBytes;
using layout::loadElement;
using layout::storeElement;
using layout::VectorOf;

struct ReduceArgs {
  char* dst;
  const char* a;
  const char* b;
  size_t head;     // elements before the first vector
  size_t vectors;  // whole 16-byte vectors after them
  size_t count;
  int divisor;
  bool elementAligned;  // every pointer a multiple of the element size
};

template <int kType, int kOp, bool kDivide>
__global__ void __launch_bounds__(kThreads) reduceKernel(ReduceArgs args) {
  using S = typename kernels::ElementOf<kType>::Storage;
  constexpr size_t kPerVector = kVectorBytes / sizeof(S);
  const size_t first = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;

  const size_t vectorStart = args.head * sizeof(S);
  const uint4* x = reinterpret_cast<const uint4*>(args.a + vectorStart);
  const uint4* y = reinterpret_cast<const uint4*>(args.b + vectorStart);
  uint4* out = reinterpret_cast<uint4*>(args.dst + vectorStart);
  for (size_t v = first; v < args.vectors; v += stride) {
    VectorOf<S> xs, ys;
    xs.vector = x[v];
    ys.vector = y[v];
#pragma unroll
    for (size_t k = 0; k < kPerVector; ++k) {
      xs.elements[k] =
          kernels::reduceElement<kType, kOp, kDivide>(xs.elements[k], ys.elements[k], args.divisor);
    }
    out[v] = xs.vector;
  }

  // The head, then the tail after the vectors.
  const size_t tailStart = args.head + args.vectors * kPerVector;
  const size_t scalars = args.head + (args.count - tailStart);
  for (size_t j = first; j < scalars; j += stride) {
    const size_t offset = (j < args.head ? j : j - args.head + tailStart) * sizeof(S);
    const S result = kernels::reduceElement<kType, kOp, kDivide>(
        loadElement<S>(args.a + offset, args.elementAligned),
        loadElement<S>(args.b + offset, args.elementAligned), args.divisor);
    storeElement<S>(args.dst + offset, result, args.elementAligned);
  }
}

struct ReduceLauncher {
  template <int kType, int kOp, bool kDivide>
  static int run(const ReduceArgs& args, unsigned blocks, cudaStream_t stream) {
    reduceKernel<kType, kOp, kDivide><<<blocks, kThreads, 0, stream>>>(args);
    return static_cast<int>(cudaGetLastError());
  }
};

__global__ void waitFlagKernel(const volatile uint64_t* flag, uint64_t value) {
  while (*flag < value) __nanosleep(200);
  __threadfence_system();  // what the host wrote before raising the flag, before what follows
}

}  // namespace

int launchReduceKernel(const ReduceLaunch& launch, void* cudaStream, int smCount) {
  if (launch.type < 0 || launch.type >= tuttiNumTypes || launch.op < 0 ||
      launch.op >= tuttiNumOps) {
    return static_cast<int>(cudaErrorInvalidValue);
  }
  if (launch.count == 0) return static_cast<int>(cudaSuccess);
  if (const int error = layout::resolveSmCount(&smCount)) return error;

  const size_t size = dataTypeSize(launch.type);
  const uintptr_t dst = reinterpret_cast<uintptr_t>(launch.dst);
  const uintptr_t a = reinterpret_cast<uintptr_t>(launch.a);
  const uintptr_t b = reinterpret_cast<uintptr_t>(launch.b);
  const layout::Split split = layout::splitVectors(
      dst, a | b, a % kVectorBytes == dst % kVectorBytes && b % kVectorBytes == dst % kVectorBytes,
      launch.count, size);
  const ReduceArgs args{static_cast<char*>(launch.dst),
                        static_cast<const char*>(launch.a),
                        static_cast<const char*>(launch.b),
                        split.head,
                        split.vectors,
                        launch.count,
                        launch.op == tuttiAvg ? launch.avgDivisor : 0,
                        split.elementAligned};
  const unsigned blocks = layout::gridBlocks(split, launch.count, size, smCount);
  return kernels::dispatch<ReduceLauncher>(launch.type, launch.op, args.divisor > 0,
                                           static_cast<int>(cudaErrorInvalidValue), args, blocks,
                                           static_cast<cudaStream_t>(cudaStream));
}

int launchWaitFlagKernel(const uint64_t* flag, uint64_t value, void* cudaStream) {
  waitFlagKernel<<<1, 1, 0, static_cast<cudaStream_t>(cudaStream)>>>(flag, value);
  return static_cast<int>(cudaGetLastError());
}

int deviceSmCount(int device, int* count) {
  return static_cast<int>(cudaDeviceGetAttribute(count, cudaDevAttrMultiProcessorCount, device));
}

}  // namespace device
}  // namespace tutti
