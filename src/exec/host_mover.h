// The host runner's data mover: copies with memcpy and reductions with the vectorized host
// kernels (exec/reduce.h), on the calling thread.
#pragma once

#include "exec/data_mover.h"

namespace tutti {

class HostMover final : public DataMover {
 public:
  void copy(void* dst, const void* src, size_t bytes) override;
  void divide(void* dst, const void* src, size_t count, tuttiDataType_t type, int divisor) override;
  void reduce(void* dst, const void* a, const void* b, size_t count, tuttiDataType_t type,
              tuttiRedOp_t op, int divisor) override;
  void reduceTwoOutputs(void* dst, void* copy, const void* a, const void* b, size_t count,
                        tuttiDataType_t type, tuttiRedOp_t op, int divisor) override;
  void copyToTwo(void* dst, void* copy, const void* src, size_t bytes) override;
};

}  // namespace tutti
