// Lowering: a plan (steps over buffer regions, in elements) becomes the executor's unit of work,
// slices over concrete memory (byte ranges in the call's buffers), plus the hazard questions the
// executor asks about them. Lowering knows nothing of connections or of how bytes move.
//
// Each step is cut into slices of at most `sliceElems` elements (TUTTI_SLICE_BYTES), the
// pipelining unit; a local copy stays one slice (one memcpy streams large copies past the caches,
// slices would not).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "algo/plan.h"
#include "tutti/tutti.h"

namespace tutti {

inline bool overlaps(const char* a, size_t aBytes, const char* b, size_t bBytes) {
  return a < b + bBytes && b < a + aBytes;
}

struct LoweredSlice {
  const Step* step;
  size_t offset;  // elements from the step's start
  size_t count;
};

class LoweredPlan {
 public:
  // bases: the call's send buffer, recv buffer and scratch, indexed by BufferId. A plan with an
  // id lowered last time with the same arguments is not lowered again (small calls repeat).
  // The slices point into `plan`, which must outlive them: a temporary does not build.
  void lower(const Plan& plan, char* const bases[3], size_t elemSize, size_t sliceElems);
  void lower(const Plan&& plan, char* const bases[3], size_t elemSize, size_t sliceElems) = delete;

  const std::vector<LoweredSlice>& slices() const { return slices_; }
  // The plan's peers, each once, in the order its steps first name them.
  const std::vector<int>& peers() const { return peers_; }
  size_t elemSize() const { return elemSize_; }
  size_t bytes(const LoweredSlice& slice) const { return slice.count * elemSize_; }
  // Where the slice reads its local input and writes its output (nullptr where the step
  // does not).
  const char* src(const LoweredSlice& slice) const {
    return stepReads(slice.step->kind) ? pointer(slice.step->src, slice.offset) : nullptr;
  }
  char* dst(const LoweredSlice& slice) const {
    return stepWrites(slice.step->kind) ? pointer(slice.step->dst, slice.offset) : nullptr;
  }
  // Bytes of each buffer the plan touches (from its regions), so that buffers can be registered
  // whole.
  size_t extentBytes(BufferId buffer) const { return extents_[static_cast<int>(buffer)]; }

  // Whether a slice not yet completed will still read or write [p, p + bytes).
  bool touches(const LoweredSlice& slice, const char* p, size_t bytes) const {
    const size_t sliceBytes = this->bytes(slice);
    const Step& step = *slice.step;
    return (stepReads(step.kind) &&
            overlaps(pointer(step.src, slice.offset), sliceBytes, p, bytes)) ||
           (stepWrites(step.kind) &&
            overlaps(pointer(step.dst, slice.offset), sliceBytes, p, bytes));
  }

 private:
  char* pointer(const Region& region, size_t elementOffset) const {
    return bases_[static_cast<int>(region.buffer)] + (region.offset + elementOffset) * elemSize_;
  }

  std::vector<LoweredSlice> slices_;
  std::vector<int> peers_;
  uint64_t planId_ = 0;  // the id of the plan lowered last (0: none, or one without an id)
  size_t sliceElems_ = 0;
  char* bases_[3] = {nullptr, nullptr, nullptr};
  size_t extents_[3] = {0, 0, 0};
  size_t elemSize_ = 1;
};

}  // namespace tutti
