#include "device/pinned_pool.h"

#include <cstring>

namespace tutti {
namespace device {
namespace {

constexpr size_t kSmallestBuffer = 4096;
constexpr size_t kFlagsPerPage = 4096 / sizeof(uint64_t);

size_t roundUpToPowerOfTwo(size_t bytes) {
  size_t capacity = kSmallestBuffer;
  while (capacity < bytes) capacity <<= 1;
  return capacity;
}

}  // namespace

Status PinnedPool::take(size_t bytes, void** buffer) {
  const size_t capacity = roundUpToPowerOfTwo(bytes);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(capacity);
    if (it != free_.end()) {
      *buffer = it->second;
      free_.erase(it);
      return Status::ok();
    }
  }
  void* fresh = nullptr;
  TUTTI_RETURN_IF_ERROR(runtime_->allocPinned(&fresh, capacity));
  std::lock_guard<std::mutex> lock(mutex_);
  capacity_[fresh] = capacity;
  *buffer = fresh;
  return Status::ok();
}

void PinnedPool::give(void* buffer) {
  if (buffer == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = capacity_.find(buffer);
  if (it != capacity_.end()) free_.emplace(it->second, buffer);
}

Status PinnedPool::takeFlag(uint64_t** flag) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (flagPages_.empty() || flagsUsed_ == kFlagsPerPage) {
    void* page = nullptr;
    TUTTI_RETURN_IF_ERROR(runtime_->allocPinned(&page, kFlagsPerPage * sizeof(uint64_t)));
    memset(page, 0, kFlagsPerPage * sizeof(uint64_t));
    flagPages_.push_back(static_cast<uint64_t*>(page));
    flagsUsed_ = 0;
  }
  *flag = flagPages_.back() + flagsUsed_++;
  return Status::ok();
}

PinnedPool* pinnedPool() {
  static PinnedPool* pool = activeRuntime() ? new PinnedPool(activeRuntime()) : nullptr;
  return pool;
}

}  // namespace device
}  // namespace tutti
