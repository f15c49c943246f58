// What the executor asks of the memory it runs on: copies and reductions of slices. The host
// runner (host_mover.h) does them on the calling thread with the vectorized host kernels; a
// device runner does the same operations as kernels on a stream, so the executor's scheduling
// (slices, staging, hazards, forwarding) is shared by host and device buffers.
//
// Reductions follow exec/reduce.h: `divisor` > 0 divides the result (Avg's last stage), 0 does
// not; every form is bit-identical to the scalar reference.
#pragma once

#include <cstddef>

#include "tutti/tutti.h"

namespace tutti {

class DataMover {
 public:
  virtual ~DataMover() = default;
  // dst = src (bytes); dst == src is allowed and moves nothing.
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  // dst = src / divisor, element-wise.
  virtual void divide(void* dst, const void* src, size_t count, tuttiDataType_t type,
                      int divisor) = 0;
  // dst = a op b (dst may alias a or b).
  virtual void reduce(void* dst, const void* a, const void* b, size_t count, tuttiDataType_t type,
                      tuttiRedOp_t op, int divisor) = 0;
  // dst = copy = a op b in one pass (the forwarded result lands in a transport's staging too).
  virtual void reduceTwoOutputs(void* dst, void* copy, const void* a, const void* b, size_t count,
                                tuttiDataType_t type, tuttiRedOp_t op, int divisor) = 0;
  // dst = copy = src in one pass.
  virtual void copyToTwo(void* dst, void* copy, const void* src, size_t bytes) = 0;
};

}  // namespace tutti
