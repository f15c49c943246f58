#include "exec/lowering.h"

#include <algorithm>

namespace tutti {

void LoweredPlan::lower(const Plan& plan, char* const bases[3], size_t elemSize,
                        size_t sliceElems) {
  if (plan.id != 0 && plan.id == planId_ && elemSize == elemSize_ && sliceElems == sliceElems_ &&
      std::equal(bases, bases + 3, bases_)) {
    return;
  }
  planId_ = plan.id;
  sliceElems_ = sliceElems;
  std::copy(bases, bases + 3, bases_);
  elemSize_ = elemSize;
  std::fill(extents_, extents_ + 3, 0);
  slices_.clear();
  peers_.clear();
  for (const Step& step : plan.steps) {
    for (int peer : {step.recvPeer, step.sendPeer}) {
      if (peer >= 0 && std::find(peers_.begin(), peers_.end(), peer) == peers_.end()) {
        peers_.push_back(peer);
      }
    }
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

}  // namespace tutti
