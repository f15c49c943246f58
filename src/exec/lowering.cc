#include "exec/lowering.h"

#include <algorithm>

namespace tutti {

void LoweredPlan::lower(const Plan& plan, char* const bases[3], size_t elemSize,
                        size_t sliceElems) {
  std::copy(bases, bases + 3, bases_);
  elemSize_ = elemSize;
  std::fill(extents_, extents_ + 3, 0);
  slices_.clear();
  for (const Step& step : plan.steps) {
    const size_t unit = step.kind == StepKind::kCopy ? std::max<size_t>(step.count, 1) : sliceElems;
    for (size_t offset = 0; offset < step.count; offset += unit) {
      slices_.push_back(LoweredSlice{&step, offset, std::min(unit, step.count - offset)});
    }
    const size_t end = step.count * elemSize;
    if (stepReads(step.kind)) {
      size_t& extent = extents_[static_cast<int>(step.src.buffer)];
      extent = std::max(extent, step.src.offset * elemSize + end);
    }
    if (stepWrites(step.kind)) {
      size_t& extent = extents_[static_cast<int>(step.dst.buffer)];
      extent = std::max(extent, step.dst.offset * elemSize + end);
    }
  }
}

const char* LoweredPlan::src(const LoweredSlice& slice) const {
  return stepReads(slice.step->kind) ? pointer(slice.step->src, slice.offset) : nullptr;
}

char* LoweredPlan::dst(const LoweredSlice& slice) const {
  return stepWrites(slice.step->kind) ? pointer(slice.step->dst, slice.offset) : nullptr;
}

bool LoweredPlan::touches(const LoweredSlice& slice, const char* p, size_t bytes) const {
  const size_t sliceBytes = this->bytes(slice);
  const Step& step = *slice.step;
  return (stepReads(step.kind) &&
          overlaps(pointer(step.src, slice.offset), sliceBytes, p, bytes)) ||
         (stepWrites(step.kind) && overlaps(pointer(step.dst, slice.offset), sliceBytes, p, bytes));
}

}  // namespace tutti
