// One launch of the element-wise reduction kernel on a device: dst[i] = a[i] op b[i], i < count,
// with reduceArrays' semantics (exec/reduce.h) bit for bit, on device memory.
#pragma once

#include <stddef.h>

#include "tutti/tutti.h"

namespace tutti {
namespace device {

struct ReduceLaunch {
  void* dst = nullptr;  // may equal a or b, never partially overlap them
  const void* a = nullptr;
  const void* b = nullptr;
  size_t count = 0;  // elements
  tuttiDataType_t type = tuttiFloat32;
  tuttiRedOp_t op = tuttiSum;
  int avgDivisor = 0;  // > 0 with tuttiAvg: the last step of an Avg (exec/reduce.h)
};

}  // namespace device
}  // namespace tutti
