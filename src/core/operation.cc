#include "core/operation.h"

#include <chrono>
#include <new>

namespace tutti {

bool Operation::done() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return done_;
}

Status Operation::wait(int timeoutMs) const {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!completed_.wait_for(lock, std::chrono::milliseconds(timeoutMs), [&] { return done_; })) {
    return makeError(tuttiTimeout, "{} #{} (count {}) not complete after {} ms",
                     collectiveName(args_.collective), sequence_, args_.count, timeoutMs);
  }
  return result_;
}

void Operation::complete(Status result) {
  std::vector<std::function<void(const Status&)>> callbacks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    result_ = std::move(result);
    resultKnown_ = true;
    callbacks.swap(callbacks_);
  }
  // result_ is final: read without the lock. A callback that runs out of memory must not keep
  // the operation from ending (its waiters would wait for their timeout).
  for (auto& fn : callbacks) {
    try {
      fn(result_);
    } catch (const std::bad_alloc&) {
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
  }
  completed_.notify_all();
}

void Operation::onComplete(std::function<void(const Status&)> fn) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!resultKnown_) {
      callbacks_.push_back(std::move(fn));
      return;
    }
  }
  fn(result_);
}

}  // namespace tutti
