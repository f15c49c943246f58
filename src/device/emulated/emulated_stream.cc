#include "device/emulated/emulated_stream.h"

#include <chrono>

namespace tutti {
namespace device {

EmulatedStream::EmulatedStream(int device) : device_(device) {
  thread_ = std::thread([this] { serve(); });
}

EmulatedStream::~EmulatedStream() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EmulatedStream::enqueue(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back(std::move(task));
    ++queued_;
  }
  changed_.notify_all();
}

Status EmulatedStream::synchronize(int timeoutMs) {
  std::unique_lock<std::mutex> lock(mutex_);
  const uint64_t target = queued_;
  auto reached = [&] { return ran_ >= target; };
  if (timeoutMs < 0) {
    changed_.wait(lock, reached);
    return Status::ok();
  }
  if (!changed_.wait_for(lock, std::chrono::milliseconds(timeoutMs), reached)) {
    return makeError(tuttiTimeout,
                     "emulated stream of device {}: {} queued tasks still not run after {} ms",
                     device_, target - ran_, timeoutMs);
  }
  return Status::ok();
}

void EmulatedStream::retire() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    retired_ = true;
  }
  changed_.notify_all();
}

void EmulatedStream::serve() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || retired_ || !tasks_.empty(); });
    if (tasks_.empty()) {
      if (stopping_) return;
      if (retired_) break;
      continue;
    }
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    lock.lock();
    ++ran_;
    changed_.notify_all();
  }
  // Retired and drained: nobody else holds the stream, so it frees itself.
  lock.unlock();
  thread_.detach();
  delete this;
}

}  // namespace device
}  // namespace tutti
