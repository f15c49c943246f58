// Page-locked host memory the device layer hands out again and again: staging buffers for
// collectives on device buffers, and the stream flags that hold a stream until a host thread has
// finished a collective. Allocating page-locked memory is slow (cudaHostAlloc takes from 0.1 to
// several ms) and freeing it synchronises the device, so both are cached for the process's life
// and never freed: a stream may still read a flag, or copy from a buffer, after its communicator
// is gone. Thread-safe; give() may be called from a stream's host function (it calls no runtime).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <map>
#include <mutex>
#include <vector>

#include "base/status.h"
#include "device/device_runtime.h"

namespace tutti {
namespace device {

class PinnedPool {
 public:
  explicit PinnedPool(Runtime* runtime) : runtime_(runtime) {}
  PinnedPool(const PinnedPool&) = delete;
  PinnedPool& operator=(const PinnedPool&) = delete;

  // A buffer of at least `bytes` (a power of two from 4 KiB up), reused when one is free.
  Status take(size_t bytes, void** buffer);
  void give(void* buffer);
  // A zeroed 64-bit word of its own, for ever (a communicator's stream flag).
  Status takeFlag(uint64_t** flag);

 private:
  Runtime* runtime_;
  std::mutex mutex_;
  std::multimap<size_t, void*> free_;  // by capacity
  std::map<void*, size_t> capacity_;   // every buffer handed out
  std::vector<uint64_t*> flagPages_;
  size_t flagsUsed_ = 0;  // in the last page
};

// The process's pool for the active runtime; nullptr without one.
PinnedPool* pinnedPool();

}  // namespace device
}  // namespace tutti
