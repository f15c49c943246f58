#include "alloc/failing_allocator.h"

#include <execinfo.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <new>

namespace tutti::test {
namespace {

std::atomic<bool> gArmed{false};
std::atomic<bool> gPersistent{false};
std::atomic<bool> gRefused{false};
std::atomic<int64_t> gCount{0};
std::atomic<int64_t> gNth{0};

// Whether this allocation is the one (or, persistent, one of those) to refuse.
bool refuseThisOne() {
  if (!gArmed.load(std::memory_order_relaxed)) return false;
  const int64_t n = gCount.fetch_add(1, std::memory_order_relaxed) + 1;
  const int64_t nth = gNth.load(std::memory_order_relaxed);
  const bool refuse = n == nth || (n > nth && gPersistent.load(std::memory_order_relaxed));
  if (refuse && !gRefused.exchange(true) && std::getenv("ALLOC_SWEEP_TRACE") != nullptr) {
    // Where the first refusal happened, without allocating (ALLOC_SWEEP_TRACE=1).
    void* frames[48];
    const int depth = backtrace(frames, 48);
    const char header[] = "failing allocator: refused here:\n";
    (void)!write(STDERR_FILENO, header, sizeof(header) - 1);
    backtrace_symbols_fd(frames, depth, STDERR_FILENO);
  }
  return refuse;
}

void* allocate(size_t bytes, size_t alignment) {
  if (refuseThisOne()) return nullptr;
  if (bytes == 0) bytes = 1;
  if (alignment <= alignof(std::max_align_t)) return std::malloc(bytes);
  void* memory = nullptr;
  return posix_memalign(&memory, alignment, bytes) == 0 ? memory : nullptr;
}

void* allocateOrThrow(size_t bytes, size_t alignment) {
  void* memory = allocate(bytes, alignment);
  if (memory == nullptr) throw std::bad_alloc();
  return memory;
}

// With ALLOC_SWEEP_TRACE, std::terminate prints its stack too: an exception that met a noexcept
// frame (or left a thread) terminates before unwinding, so the stack still shows where.
[[noreturn]] void tracedTerminate() {
  void* frames[48];
  const int depth = backtrace(frames, 48);
  const char header[] = "failing allocator: std::terminate called here:\n";
  (void)!write(STDERR_FILENO, header, sizeof(header) - 1);
  backtrace_symbols_fd(frames, depth, STDERR_FILENO);
  std::abort();
}

const bool gTerminateTraced =
    std::getenv("ALLOC_SWEEP_TRACE") != nullptr && std::set_terminate(tracedTerminate) != nullptr;

}  // namespace

void armAllocationFailure(int64_t nth, bool persistent) {
  gArmed.store(false);
  gCount.store(0);
  gNth.store(nth);
  gPersistent.store(persistent);
  gRefused.store(false);
  gArmed.store(true);
}

void disarmAllocationFailure() { gArmed.store(false); }

int64_t allocationsSinceArmed() { return gCount.load(); }

bool allocationRefused() { return gRefused.load(); }

}  // namespace tutti::test

using tutti::test::allocate;
using tutti::test::allocateOrThrow;

void* operator new(size_t bytes) { return allocateOrThrow(bytes, 0); }
void* operator new[](size_t bytes) { return allocateOrThrow(bytes, 0); }
void* operator new(size_t bytes, const std::nothrow_t&) noexcept { return allocate(bytes, 0); }
void* operator new[](size_t bytes, const std::nothrow_t&) noexcept { return allocate(bytes, 0); }
void* operator new(size_t bytes, std::align_val_t a) {
  return allocateOrThrow(bytes, static_cast<size_t>(a));
}
void* operator new[](size_t bytes, std::align_val_t a) {
  return allocateOrThrow(bytes, static_cast<size_t>(a));
}
void* operator new(size_t bytes, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate(bytes, static_cast<size_t>(a));
}
void* operator new[](size_t bytes, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate(bytes, static_cast<size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
