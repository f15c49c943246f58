#include "exec/reduce.h"

#include <string.h>

#include <cstdlib>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "base/log.h"
#include "base/params.h"
#include "exec/datatype.h"
#include "exec/reduce_kernels.h"

namespace tutti {

namespace {

// AVX2 (which __builtin_cpu_supports reports only where the OS saves the YMM registers) and
// F16C, from CPUID leaf 1 (Clang's __builtin_cpu_supports does not know "f16c").
bool detectAvx2() {
#if defined(__x86_64__)
  __builtin_cpu_init();  // may run before libgcc's constructor when called from one
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
  return f16c && __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

// Asked once: CPUID traps to the hypervisor in a VM, which costs as much as reducing a few
// hundred KiB.
bool cpuRunsAvx2() {
  static const bool runsAvx2 = detectAvx2();
  return runsAvx2;
}

// The kernels of a supported instruction set; nullptr for an unknown or unsupported one.
const ReduceKernelTable* kernelsFor(const char* isa) {
  if (isa == nullptr) return nullptr;
  if (strcmp(isa, reduce_generic::kReduceKernels.isaName) == 0) {
    return &reduce_generic::kReduceKernels;
  }
#if defined(__x86_64__)
  if (strcmp(isa, reduce_avx2::kReduceKernels.isaName) == 0 && cpuRunsAvx2()) {
    return &reduce_avx2::kReduceKernels;
  }
#endif
  return nullptr;
}

const ReduceKernelTable& bestKernels() {
#if defined(__x86_64__)
  if (cpuRunsAvx2()) return reduce_avx2::kReduceKernels;
#endif
  return reduce_generic::kReduceKernels;
}

const ReduceKernelTable& chooseKernels() {
  const char* requested = paramEnv("TUTTI_REDUCE_ISA");
  const ReduceKernelTable* chosen = kernelsFor(requested);
  if (chosen != nullptr) return *chosen;
  const ReduceKernelTable& best = bestKernels();
  if (requested != nullptr && requested[0] != '\0') {
    TUTTI_WARN(kLogEnv, "TUTTI_REDUCE_ISA={} is unknown or not supported by this CPU; using {}",
               requested, best.isaName);
  }
  return best;
}

// Chosen once per process: the environment is read once, like the logger's.
const ReduceKernelTable& activeKernels() {
  static const ReduceKernelTable& kernels = chooseKernels();
  return kernels;
}

void copyUnlessSame(void* dst, const void* src, size_t count, tuttiDataType_t type) {
  if (dst != src) memcpy(dst, src, count * dataTypeSize(type));
}

}  // namespace

void reduceArraysTwoOutputs(void* dst, void* copy, const void* a, const void* b, size_t count,
                            tuttiDataType_t type, tuttiRedOp_t op, int avgDivisor) {
  const size_t size = dataTypeSize(type);
  if (size == 0) return;
  const size_t block = kFusedBlockBytes / size;
  for (size_t done = 0; done < count; done += block) {
    const size_t n = count - done < block ? count - done : block;
    const size_t offset = done * size;
    char* out = static_cast<char*>(dst) + offset;
    reduceArrays(out, static_cast<const char*>(a) + offset, static_cast<const char*>(b) + offset, n,
                 type, op, avgDivisor);
    memcpy(static_cast<char*>(copy) + offset, out, n * size);
  }
}

void copyToTwo(void* dst, void* copy, const void* src, size_t bytes) {
  for (size_t done = 0; done < bytes; done += kFusedBlockBytes) {
    const size_t n = bytes - done < kFusedBlockBytes ? bytes - done : kFusedBlockBytes;
    const char* from = static_cast<const char*>(src) + done;
    if (dst != src) memcpy(static_cast<char*>(dst) + done, from, n);
    memcpy(static_cast<char*>(copy) + done, from, n);
  }
}

const char* reduceIsaName() { return activeKernels().isaName; }

bool reduceIsaSupported(const char* isa) { return kernelsFor(isa) != nullptr; }

const char* resolveReduceIsa(const char* requested) {
  const ReduceKernelTable* chosen = kernelsFor(requested);
  return chosen != nullptr ? chosen->isaName : bestKernels().isaName;
}

void reduceArrays(void* dst, const void* a, const void* b, size_t count, tuttiDataType_t type,
                  tuttiRedOp_t op, int avgDivisor) {
  if (count == 0 || !isValidDataType(type)) return;
  activeKernels().reduce[type](dst, a, b, count, op, avgDivisor);
}

void divideArray(void* dst, const void* src, size_t count, tuttiDataType_t type, int divisor) {
  if (count == 0 || !isValidDataType(type)) return;
  if (divisor <= 0) return copyUnlessSame(dst, src, count, type);
  activeKernels().divide[type](dst, src, count, divisor);
}

bool reduceArraysIsa(const char* isa, void* dst, const void* a, const void* b, size_t count,
                     tuttiDataType_t type, tuttiRedOp_t op, int avgDivisor) {
  const ReduceKernelTable* kernels = kernelsFor(isa);
  if (kernels == nullptr) return false;
  if (count > 0 && isValidDataType(type)) kernels->reduce[type](dst, a, b, count, op, avgDivisor);
  return true;
}

bool divideArrayIsa(const char* isa, void* dst, const void* src, size_t count, tuttiDataType_t type,
                    int divisor) {
  const ReduceKernelTable* kernels = kernelsFor(isa);
  if (kernels == nullptr) return false;
  if (count == 0 || !isValidDataType(type)) return true;
  if (divisor <= 0) {
    copyUnlessSame(dst, src, count, type);
  } else {
    kernels->divide[type](dst, src, count, divisor);
  }
  return true;
}

}  // namespace tutti
