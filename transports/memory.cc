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
  // The least recently used go first; pinned ones (a registered window's) stay.
  size_t excess = entries_.size() - kCapacity;
  auto evicted = std::remove_if(entries_.begin(), entries_.end(), [&](const auto& entry) {
    if (excess == 0 || entry->pins > 0) return false;
    deregister(entry.get());
    --excess;
    return true;
  });
  if (evicted == entries_.end()) return;
  entries_.erase(evicted, entries_.end());
  ++generation_;
}

void MemoryDomain::pin(const Registration* registration) {
  for (auto& entry : entries_) {
    if (entry.get() == registration) ++entry->pins;
  }
}

void MemoryDomain::unpin(const Registration* registration) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    Registration& entry = **it;
    if (&entry != registration || entry.pins == 0) continue;
    if (--entry.pins == 0 && entry.dropWhenUnpinned) {
      deregister(&entry);
      entries_.erase(it);
      ++generation_;
    }
    return;
  }
}

Status MemoryDomain::registerPinned(const Memory& memory, const Registration** out) {
  auto registration = std::make_unique<Registration>();
  registration->memory = memory;
  TUTTI_RETURN_IF_ERROR(registerNew(registration.get()));
  ++made_;
  registration->lastUse = ++clock_;
  registration->pins = 1;
  registration->dropWhenUnpinned = true;
  entries_.push_back(std::move(registration));
  *out = entries_.back().get();
  return Status::ok();
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
