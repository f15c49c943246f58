#include "transports/memory.h"

#include <algorithm>

namespace tutti {

const char* memoryKindName(MemoryKind kind) {
  return kind == MemoryKind::kDevice ? "device" : "host";
}

MemoryDomain::~MemoryDomain() {
  for (auto& entry : entries_) deregister(entry.get());
}

Status MemoryDomain::registerMemory(const Memory& memory, const Registration** out) {
  const char* begin = static_cast<const char*>(memory.ptr);
  // Most recent first: a training loop reuses the same few buffers call after call.
  for (size_t i = entries_.size(); i-- > 0;) {
    const Memory& have = entries_[i]->memory;
    const char* haveBegin = static_cast<const char*>(have.ptr);
    if (have.kind == memory.kind && have.device == memory.device && begin >= haveBegin &&
        begin + memory.bytes <= haveBegin + have.bytes) {
      entries_[i]->lastUse = ++clock_;
      *out = entries_[i].get();
      return Status::ok();
    }
  }
  auto registration = std::make_unique<Registration>();
  registration->memory = memory;
  TUTTI_RETURN_IF_ERROR(registerNew(registration.get()));
  ++made_;
  registration->lastUse = ++clock_;
  entries_.push_back(std::move(registration));
  *out = entries_.back().get();
  return Status::ok();
}

void MemoryDomain::endCall() {
  if (entries_.size() <= kCapacity) return;
  std::sort(entries_.begin(), entries_.end(),
            [](const auto& a, const auto& b) { return a->lastUse < b->lastUse; });
  const size_t evict = entries_.size() - kCapacity;
  for (size_t i = 0; i < evict; ++i) deregister(entries_[i].get());
  entries_.erase(entries_.begin(), entries_.begin() + evict);
  ++generation_;
}

Status MemoryDomain::registerNew(Registration* registration) {
  if (registration->memory.kind != MemoryKind::kHost) {
    return makeError(tuttiInvalidArgument,
                     "this transport moves host memory only, not {} memory of device {}",
                     memoryKindName(registration->memory.kind), registration->memory.device);
  }
  return Status::ok();
}

}  // namespace tutti
