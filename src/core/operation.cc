#include "core/operation.h"

#include <chrono>

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
  {
    std::lock_guard<std::mutex> lock(mutex_);
    result_ = std::move(result);
    done_ = true;
  }
  completed_.notify_all();
}

}  // namespace tutti
