// What the CUDA reduction kernels share (device/cuda/reduce_kernels.cu, p2p_kernels.cu): the
// launch shape, 16-byte vectors of elements, element access at any alignment, and how a call is
// split into scalar head, whole vectors and scalar tail.
#pragma once

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "device/cuda/cuda_kernels.h"

namespace tutti {
namespace device {
namespace layout {

constexpr int kThreads = 512;
constexpr int kBlocksPerSm = 4;  // 2048 threads: a full multiprocessor on every architecture here
constexpr size_t kVectorBytes = sizeof(uint4);

template <typename S>
union VectorOf {
  uint4 vector;
  S elements[kVectorBytes / sizeof(S)];
};

template <typename S>
__device__ inline S loadElement(const char* p, bool aligned) {
  if (aligned) return *reinterpret_cast<const S*>(p);
  S value;
  memcpy(&value, p, sizeof(S));
  return value;
}

template <typename S>
__device__ inline void storeElement(char* p, S value, bool aligned) {
  if (aligned) {
    *reinterpret_cast<S*>(p) = value;
  } else {
    memcpy(p, &value, sizeof(S));
  }
}

// The split of `count` elements of `size` bytes over pointers whose addresses OR to `everyBits`:
// when every pointer sits at dst's offset from a 16-byte boundary (sameOffset), the elements
// before the first boundary (head), then whole vectors; otherwise every element one at a time.
struct Split {
  size_t head = 0;
  size_t vectors = 0;
  bool elementAligned = false;  // every pointer a multiple of the element size
};

inline Split splitVectors(uintptr_t dst, uintptr_t everyBits, bool sameOffset, size_t count,
                          size_t size) {
  Split split;
  split.head = count;
  split.elementAligned = (dst | everyBits) % size == 0;
  if (split.elementAligned && sameOffset) {
    const size_t head = ((kVectorBytes - dst % kVectorBytes) % kVectorBytes) / size;
    split.head = head < count ? head : count;
    split.vectors = (count - split.head) * size / kVectorBytes;
  }
  return split;
}

// *smCount, asked of the current device when it is <= 0 (a launcher given no count); returns a
// cudaError_t as int.
inline int resolveSmCount(int* smCount) {
  if (*smCount > 0) return static_cast<int>(cudaSuccess);
  int device = 0;
  cudaError_t error = cudaGetDevice(&device);
  if (error == cudaSuccess) error = static_cast<cudaError_t>(deviceSmCount(device, smCount));
  return static_cast<int>(error);
}

// One work item per thread at most, and no more blocks than fill the multiprocessors once: the
// grid-stride loop covers the rest.
inline unsigned gridBlocks(const Split& split, size_t count, size_t size, int smCount) {
  const size_t items = split.vectors + (count - split.vectors * (kVectorBytes / size));
  const size_t wanted = (items + kThreads - 1) / kThreads;
  const size_t most = static_cast<size_t>(smCount) * kBlocksPerSm;
  return static_cast<unsigned>(wanted < most ? wanted : most);
}

}  // namespace layout
}  // namespace device
}  // namespace tutti
