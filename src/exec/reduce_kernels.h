// Host reduction kernels compiled once per instruction set, and the choice among them.
//
// reduce.h is what the executor calls; this header is for reduce.cc, the kernel files
// (reduce_kernels_generic.cc, reduce_kernels_avx2.cc, both built from reduce_kernels.inc), and
// the tests and benchmarks that compare instruction sets. Every instruction set gives the same
// bits for the same inputs (tests/exec/reduce_test.cc checks it), so the choice changes speed
// only.
//
// Instruction sets, by the name TUTTI_REDUCE_ISA and the functions below take:
//   "generic"  the build's baseline (SSE2 on x86-64), always available
//   "avx2"     x86-64 with AVX2 and F16C (fp16 conversions in hardware); chosen by default on
//              CPUs that have both
#pragma once

#include <stddef.h>

#include "tutti/tutti.h"

namespace tutti {

// One instruction set's kernels, indexed by tuttiDataType_t. reduce[type] follows
// reduceArrays' contract for that type (any count, an op out of range writes nothing);
// divide[type] follows divideArray's for a divisor > 0.
struct ReduceKernelTable {
  const char* isaName;
  void (*reduce[tuttiNumTypes])(void* dst, const void* a, const void* b, size_t count,
                                tuttiRedOp_t op, int avgDivisor);
  void (*divide[tuttiNumTypes])(void* dst, const void* src, size_t count, int divisor);
};

namespace reduce_generic {
extern const ReduceKernelTable kReduceKernels;
}  // namespace reduce_generic

#if defined(__x86_64__)
namespace reduce_avx2 {
extern const ReduceKernelTable kReduceKernels;
}  // namespace reduce_avx2
#endif

// Every instruction set this build knows, whether or not this CPU runs it.
#if defined(__x86_64__)
constexpr const char* kReduceIsas[] = {"generic", "avx2"};
#else
constexpr const char* kReduceIsas[] = {"generic"};
#endif

// True when `isa` is one of kReduceIsas and this CPU runs it.
bool reduceIsaSupported(const char* isa);

// The instruction set used for a TUTTI_REDUCE_ISA value: `requested` when supported, otherwise
// (nullptr, empty, unknown, or not runnable here) the best supported one. reduce.cc applies it
// once, to the environment variable; exposed so that tests can check the rule.
const char* resolveReduceIsa(const char* requested);

// reduceArrays and divideArray with the kernels of a named instruction set. Return false, and
// write nothing, when reduceIsaSupported(isa) is false.
bool reduceArraysIsa(const char* isa, void* dst, const void* a, const void* b, size_t count,
                     tuttiDataType_t type, tuttiRedOp_t op, int avgDivisor);
bool divideArrayIsa(const char* isa, void* dst, const void* src, size_t count, tuttiDataType_t type,
                    int divisor);

}  // namespace tutti
