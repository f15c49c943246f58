// Element-wise reduction of host buffers: the arithmetic of every reducing collective.
//
// The kernels exist per instruction set (exec/reduce_kernels.h), all giving the same bits; the
// best one this CPU runs is used, or the one TUTTI_REDUCE_ISA names ("generic" or "avx2"), read
// once per process.
#pragma once

#include <stddef.h>

#include "tutti/tutti.h"

namespace tutti {

// dst[i] = a[i] op b[i] for i < count. dst may equal a or b (in place) but must not partially
// overlap either. Integer Sum and Prod wrap around; Avg combines like Sum. Max and Min of
// floating types follow fmax/fmin (a NaN loses to a number), and +0 counts as larger than -0 so
// that the result does not depend on the order of the operands. fp16, bf16 and fp8 are reduced
// in float32 and rounded to nearest even when stored.
//
// avgDivisor > 0 with op == tuttiAvg makes this the last step of an Avg: each result is
// (a[i] + b[i]) / avgDivisor, divided in the reduction type before the one store (integers:
// truncating toward zero; fp16, bf16, fp8: in float32; float and double: natively).
// avgDivisor <= 0, or any other op, reduces plainly.
//
// Does nothing for a type or op out of range: callers validate arguments first.
void reduceArrays(void* dst, const void* a, const void* b, size_t count, tuttiDataType_t type,
                  tuttiRedOp_t op, int avgDivisor);

// dst[i] = src[i] / divisor: the last step of an Avg alone, for when one buffer already holds
// the whole sum (e.g. a single rank). Divides as reduceArrays does. dst may equal src. A divisor
// <= 0 copies src unchanged.
void divideArray(void* dst, const void* src, size_t count, tuttiDataType_t type, int divisor);

// The fused forms: one pass that writes its result to two places, typically the destination
// and a transport's send slot, so that a byte reduced (or received) and forwarded is not read
// back from memory to be sent. They work block by block (kFusedBlockBytes), copying each block
// of the first output to the second while it is still in cache. Results are those of
// reduceArrays / memcpy, bit for bit. `copy` must not overlap dst, a or b.
void reduceArraysTwoOutputs(void* dst, void* copy, const void* a, const void* b, size_t count,
                            tuttiDataType_t type, tuttiRedOp_t op, int avgDivisor);
// dst = copy = src (bytes); dst may equal src.
void copyToTwo(void* dst, void* copy, const void* src, size_t bytes);
constexpr size_t kFusedBlockBytes = 16 << 10;  // well inside a 32 KiB L1d

// The instruction set reduceArrays and divideArray use in this process: "generic" or "avx2".
const char* reduceIsaName();

}  // namespace tutti
