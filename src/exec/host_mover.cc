#include "exec/host_mover.h"

#include <cstring>

#include "exec/reduce.h"

namespace tutti {

void HostMover::copy(void* dst, const void* src, size_t bytes) {
  if (dst != src) std::memcpy(dst, src, bytes);
}

void HostMover::divide(void* dst, const void* src, size_t count, tuttiDataType_t type,
                       int divisor) {
  divideArray(dst, src, count, type, divisor);
}

void HostMover::reduce(void* dst, const void* a, const void* b, size_t count, tuttiDataType_t type,
                       tuttiRedOp_t op, int divisor) {
  reduceArrays(dst, a, b, count, type, op, divisor);
}

void HostMover::reduceTwoOutputs(void* dst, void* copy, const void* a, const void* b, size_t count,
                                 tuttiDataType_t type, tuttiRedOp_t op, int divisor) {
  reduceArraysTwoOutputs(dst, copy, a, b, count, type, op, divisor);
}

void HostMover::copyToTwo(void* dst, void* copy, const void* src, size_t bytes) {
  tutti::copyToTwo(dst, copy, src, bytes);
}

}  // namespace tutti
