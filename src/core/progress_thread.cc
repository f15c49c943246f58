#include "core/progress_thread.h"

#include <new>

namespace tutti {

ProgressThread::ProgressThread(Runner runner)
    : runner_(std::move(runner)), thread_([this] { loop(); }) {}

ProgressThread::~ProgressThread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  for (auto& operation : queue_) {
    operation->complete(
        makeError(tuttiInvalidUsage, "{} #{}: the communicator was destroyed before it ran",
                  collectiveName(operation->args().collective), operation->sequence()));
  }
}

void ProgressThread::enqueue(std::shared_ptr<Operation> operation) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(operation));
  }
  wake_.notify_one();
}

size_t ProgressThread::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size() + (running_ ? 1 : 0);
}

Status ProgressThread::waitForPredecessor(const Operation& operation) {
  const std::shared_ptr<const Operation>& after = operation.after();
  if (after == nullptr) return Status::ok();
  // The predecessor runs on another communicator's thread and ends by its own timeout; look at
  // stop_ between slices so that destroying this communicator is not held up by it.
  while (!after->done()) {
    (void)after->wait(50);
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_) {
      return makeError(tuttiInvalidUsage,
                       "{} #{}: the communicator was destroyed while the call waited for the "
                       "previous call on its host stream",
                       collectiveName(operation.args().collective), operation.sequence());
    }
  }
  return Status::ok();
}

void ProgressThread::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    std::shared_ptr<Operation> operation = std::move(queue_.front());
    queue_.pop_front();
    running_ = true;
    lock.unlock();
    // The runner turns memory that runs out into the communicator's error (failOutOfMemory);
    // what is left must not end the thread (and with it the process).
    Status result = Status::ok();
    try {
      result = waitForPredecessor(*operation);
      if (result.isOk()) result = runner_(operation->args());
    } catch (const std::bad_alloc&) {
      result = Status(tuttiSystemError, "out of memory");  // short: no allocation
    }
    lock.lock();
    running_ = false;
    // Callbacks run in complete(): without the lock, so that one may queue another call.
    lock.unlock();
    operation->complete(std::move(result));
    lock.lock();
  }
}

}  // namespace tutti
