#include "device/host_kernels.h"

#include <string.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "device/kernels/reduce_element.h"
#include "exec/datatype.h"

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

struct ReduceLoop {
  template <int kType, int kOp, bool kDivide>
  static int run(const ReduceLaunch& launch) {
    reduceLoop<kType, kOp, kDivide>(launch);
    return 0;
  }
};

template <int kType, int kOp, bool kDivide>
void reduceManyLoop(const ReduceManyLaunch& launch) {
  using S = typename kernels::ElementOf<kType>::Storage;
  char* dst = static_cast<char*>(launch.dst);
  for (size_t i = 0; i < launch.count; ++i) {
    auto input = [&](int j) {
      S value;
      memcpy(&value, static_cast<const char*>(launch.inputs[j]) + i * sizeof(S), sizeof(S));
      return value;
    };
    const S result = kernels::reduceManyElement<kType, kOp, kDivide>(launch.inputCount, input,
                                                                     launch.avgDivisor);
    memcpy(dst + i * sizeof(S), &result, sizeof(S));
  }
}

struct ReduceManyLoop {
  template <int kType, int kOp, bool kDivide>
  static int run(const ReduceManyLaunch& launch) {
    reduceManyLoop<kType, kOp, kDivide>(launch);
    return 0;
  }
};

}  // namespace

void hostReduceMany(const ReduceManyLaunch& launch) {
  if (launch.inputCount < 1 || launch.inputCount > kMaxP2pRanks) return;
  const size_t elem = dataTypeSize(launch.type);  // 0 for a type out of range
  bool inPlace = false;
  for (int j = 0; j < launch.inputCount; ++j) inPlace = inPlace || launch.inputs[j] == launch.dst;
  if (!inPlace || elem == 0) {
    (void)kernels::dispatch<ReduceManyLoop>(launch.type, launch.op, launch.avgDivisor > 0, 0,
                                            launch);
    return;
  }
  // dst is an input: the compiler's loop then cannot take its vectorised path (it checks for
  // overlap at run time), which measured 3x slower. Reduce block by block into a buffer of
  // our own and copy each block out: every element is read before it is written, as before.
  constexpr size_t kBlockBytes = 16384;
  alignas(64) char block[kBlockBytes];
  const size_t perBlock = kBlockBytes / elem;
  for (size_t first = 0; first < launch.count; first += perBlock) {
    ReduceManyLaunch part = launch;
    part.count = std::min(perBlock, launch.count - first);
    part.dst = block;
    for (int j = 0; j < launch.inputCount; ++j) {
      part.inputs[j] = static_cast<const char*>(launch.inputs[j]) + first * elem;
    }
    (void)kernels::dispatch<ReduceManyLoop>(part.type, part.op, part.avgDivisor > 0, 0, part);
    memcpy(static_cast<char*>(launch.dst) + first * elem, block, part.count * elem);
  }
}

namespace {

// After a call's first barrier: every member's published descriptor against this rank's.
void checkCalls(const BarrierLaunch& launch) {
  for (int r = 0; r < launch.ranks; ++r) {
    uint64_t theirs[kP2pCallWords];
    bool same = true;
    for (int w = 0; w < kP2pCallWords; ++w) {
      theirs[w] = __atomic_load_n(launch.members[r] + w, __ATOMIC_RELAXED);
      same = same && theirs[w] == launch.call[w];
    }
    if (same) continue;
    for (int w = 0; w < kP2pCallWords; ++w) {
      launch.mismatch[1 + w] = theirs[w];
      launch.mismatch[1 + kP2pCallWords + w] = launch.call[w];
    }
    launch.mismatch[0] = static_cast<uint64_t>(r) + 1;
    uint64_t expected = 0;
    __atomic_compare_exchange_n(launch.error, &expected, kP2pMismatch, false, __ATOMIC_RELEASE,
                                __ATOMIC_RELAXED);
    return;
  }
}

}  // namespace

void hostBarrier(const BarrierLaunch& launch) {
  if (__atomic_load_n(launch.error, __ATOMIC_ACQUIRE) != 0) return;
  if (launch.publish != nullptr) {
    for (int w = 0; w < kP2pCallWords; ++w) {
      __atomic_store_n(launch.publish + w, launch.call[w], __ATOMIC_RELAXED);
    }
  }
  for (int r = 0; r < launch.ranks; ++r) {
    __atomic_store_n(launch.announce[r], launch.value, __ATOMIC_RELEASE);
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(launch.timeoutMs);
  for (int r = 0; r < launch.ranks; ++r) {
    // Spin briefly, then sleep in short steps: ranks share few cores in tests.
    for (int idle = 0; __atomic_load_n(launch.slots + r, __ATOMIC_ACQUIRE) < launch.value;) {
      if (++idle < 64) continue;
      if ((idle & 63) == 0) {
        // Another barrier's timeout, or an abort, set the word: stop waiting too.
        if (__atomic_load_n(launch.error, __ATOMIC_ACQUIRE) != 0) return;
        if (std::chrono::steady_clock::now() > deadline) {
          uint64_t expected = 0;
          __atomic_compare_exchange_n(launch.error, &expected, launch.value, false,
                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED);
          return;
        }
      }
      std::this_thread::sleep_for(std::chrono::microseconds(idle < 1000 ? 5 : 100));
    }
  }
  if (launch.publish != nullptr) checkCalls(launch);
}

void hostReduce(const ReduceLaunch& launch) {
  (void)kernels::dispatch<ReduceLoop>(launch.type, launch.op, launch.avgDivisor > 0, 0, launch);
}

}  // namespace device
}  // namespace tutti
