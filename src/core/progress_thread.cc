#include "core/progress_thread.h"

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

void ProgressThread::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    std::shared_ptr<Operation> operation = std::move(queue_.front());
    queue_.pop_front();
    running_ = true;
    lock.unlock();
    Status result = runner_(operation->args());
    lock.lock();
    running_ = false;
    operation->complete(std::move(result));
  }
}

}  // namespace tutti
