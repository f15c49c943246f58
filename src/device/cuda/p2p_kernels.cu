// The p2p path's CUDA kernels (device/cuda/cuda_kernels.h, device/p2p_launch.h): the N-input
// reduction over this device's and peers' mapped memory, and the stream-ordered barrier on flags
// in device memory. The element arithmetic is device/kernels/reduce_element.h, shared with the
// host. Compiled with nvcc; never run on a GPU yet (docs/architecture.md).
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

struct ManyArgs {
  char* dst;
  const char* inputs[kMaxP2pRanks];
  int inputCount;
  size_t head;     // elements before the first vector
  size_t vectors;  // whole 16-byte vectors after them
  size_t count;
  int divisor;
  bool elementAligned;
};

template <int kType, int kOp, bool kDivide>
__global__ void __launch_bounds__(kThreads) reduceManyKernel(ManyArgs args) {
  using S = typename kernels::ElementOf<kType>::Storage;
  constexpr size_t kPerVector = kVectorBytes / sizeof(S);
  const size_t first = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  const size_t vectorStart = args.head * sizeof(S);

  for (size_t v = first; v < args.vectors; v += stride) {
    VectorOf<S> loaded[kMaxP2pRanks];
    for (int j = 0; j < args.inputCount; ++j) {
      loaded[j].vector = reinterpret_cast<const uint4*>(args.inputs[j] + vectorStart)[v];
    }
    VectorOf<S> out;
#pragma unroll
    for (size_t k = 0; k < kPerVector; ++k) {
      out.elements[k] = kernels::reduceManyElement<kType, kOp, kDivide>(
          args.inputCount, [&](int j) { return loaded[j].elements[k]; }, args.divisor);
    }
    reinterpret_cast<uint4*>(args.dst + vectorStart)[v] = out.vector;
  }

  const size_t tailStart = args.head + args.vectors * kPerVector;
  const size_t scalars = args.head + (args.count - tailStart);
  for (size_t j = first; j < scalars; j += stride) {
    const size_t offset = (j < args.head ? j : j - args.head + tailStart) * sizeof(S);
    const S result = kernels::reduceManyElement<kType, kOp, kDivide>(
        args.inputCount,
        [&](int input) { return loadElement<S>(args.inputs[input] + offset, args.elementAligned); },
        args.divisor);
    storeElement<S>(args.dst + offset, result, args.elementAligned);
  }
}

struct ReduceManyLauncher {
  template <int kType, int kOp, bool kDivide>
  static int run(const ManyArgs& args, unsigned blocks, cudaStream_t stream) {
    reduceManyKernel<kType, kOp, kDivide><<<blocks, kThreads, 0, stream>>>(args);
    return static_cast<int>(cudaGetLastError());
  }
};

__device__ inline uint64_t globalTimerNs() {
  uint64_t now;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  return now;
}

// One warp: thread r announces in member r's area and waits for member r's slot here. The
// stream's earlier work (copies into the window, reductions) has completed when this kernel
// starts; the fence makes it visible to the peers before the announcement.
__global__ void barrierKernel(BarrierLaunch launch) {
  volatile uint64_t* error = launch.error;
  const int r = static_cast<int>(threadIdx.x);
  if (*error != 0) return;
  if (launch.publish != nullptr && r < kP2pCallWords) {
    reinterpret_cast<volatile uint64_t*>(launch.publish)[r] = launch.call[r];
  }
  __syncwarp();
  __threadfence_system();
  if (r < launch.ranks) *reinterpret_cast<volatile uint64_t*>(launch.announce[r]) = launch.value;
  if (r < launch.ranks) {
    const volatile uint64_t* slot = launch.slots + r;
    const uint64_t deadline = globalTimerNs() + static_cast<uint64_t>(launch.timeoutMs) * 1000000u;
    while (*slot < launch.value) {
      if (*error != 0) break;  // another member's wait timed out: stop waiting too
      if (globalTimerNs() > deadline) {
        *error = launch.value;
        break;
      }
      __nanosleep(100);
    }
  }
  __syncwarp();
  __threadfence_system();  // what the peers wrote before announcing, before what follows
  // The call check: one thread, in member order, so the first difference is the one reported.
  if (launch.publish == nullptr || r != 0 || *error != 0) return;
  for (int member = 0; member < launch.ranks; ++member) {
    const volatile uint64_t* theirs = launch.members[member];
    bool same = true;
    for (int w = 0; w < kP2pCallWords; ++w) same = same && theirs[w] == launch.call[w];
    if (same) continue;
    volatile uint64_t* report = launch.mismatch;
    for (int w = 0; w < kP2pCallWords; ++w) {
      report[1 + w] = theirs[w];
      report[1 + kP2pCallWords + w] = launch.call[w];
    }
    report[0] = static_cast<uint64_t>(member) + 1;
    __threadfence_system();  // the report before the error word that says to read it
    *error = kP2pMismatch;
    return;
  }
}

}  // namespace

int launchReduceManyKernel(const ReduceManyLaunch& launch, void* cudaStream, int smCount) {
  if (launch.type < 0 || launch.type >= tuttiNumTypes || launch.op < 0 ||
      launch.op >= tuttiNumOps || launch.inputCount < 1 || launch.inputCount > kMaxP2pRanks) {
    return static_cast<int>(cudaErrorInvalidValue);
  }
  if (launch.count == 0) return static_cast<int>(cudaSuccess);
  if (const int error = layout::resolveSmCount(&smCount)) return error;
  const size_t size = dataTypeSize(launch.type);
  const uintptr_t dst = reinterpret_cast<uintptr_t>(launch.dst);
  ManyArgs args{};
  args.dst = static_cast<char*>(launch.dst);
  args.inputCount = launch.inputCount;
  args.count = launch.count;
  args.divisor = launch.op == tuttiAvg ? launch.avgDivisor : 0;
  uintptr_t everyBits = 0;
  bool sameOffset = true;
  for (int j = 0; j < launch.inputCount; ++j) {
    args.inputs[j] = static_cast<const char*>(launch.inputs[j]);
    const uintptr_t p = reinterpret_cast<uintptr_t>(launch.inputs[j]);
    everyBits |= p;
    sameOffset = sameOffset && p % kVectorBytes == dst % kVectorBytes;
  }
  const layout::Split split = layout::splitVectors(dst, everyBits, sameOffset, launch.count, size);
  args.head = split.head;
  args.vectors = split.vectors;
  args.elementAligned = split.elementAligned;
  const unsigned blocks = layout::gridBlocks(split, launch.count, size, smCount);
  return kernels::dispatch<ReduceManyLauncher>(launch.type, launch.op, args.divisor > 0,
                                               static_cast<int>(cudaErrorInvalidValue), args,
                                               blocks, static_cast<cudaStream_t>(cudaStream));
}

int launchBarrierKernel(const BarrierLaunch& launch, void* cudaStream) {
  barrierKernel<<<1, 32, 0, static_cast<cudaStream_t>(cudaStream)>>>(launch);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace device
}  // namespace tutti
