#include "core/host_stream.h"

namespace tutti {
namespace {

// Waits at most timeoutMs (< 0: until done; the operation ends by its own inactivity timeout).
Status waitFor(const Operation& operation, int timeoutMs) {
  if (timeoutMs >= 0) return operation.wait(timeoutMs);
  for (;;) {
    Status status = operation.wait(1000);
    if (operation.done()) return status;
  }
}

}  // namespace

std::shared_ptr<Operation> HostStream::last() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_;
}

void HostStream::addCallback(std::function<void(const Status&)> fn) {
  std::shared_ptr<Operation> last = this->last();
  if (last == nullptr) {
    fn(Status::ok());
  } else {
    last->onComplete(std::move(fn));
  }
}

void HostStream::collectResults() {
  size_t kept = 0;
  for (std::shared_ptr<Operation>& operation : unchecked_) {
    if (!operation->done()) {
      unchecked_[kept++] = std::move(operation);
      continue;
    }
    Status result = operation->wait(0);
    if (!result.isOk() && firstError_.isOk()) firstError_ = std::move(result);
  }
  unchecked_.resize(kept);
}

Status HostStream::synchronize(int timeoutMs) {
  std::shared_ptr<Operation> last = this->last();
  // Each operation waits for its predecessor, so the last one done means all are.
  if (last != nullptr) {
    Status waited = waitFor(*last, timeoutMs);
    if (!last->done()) {
      return makeError(tuttiTimeout, "host stream: not complete after {} ms ({})", timeoutMs,
                       waited.message());
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  collectResults();
  return firstError_;
}

Status HostStream::query() {
  std::lock_guard<std::mutex> lock(mutex_);
  collectResults();
  if (!firstError_.isOk()) return firstError_;
  if (last_ != nullptr && !last_->done()) {
    return Status(tuttiInProgress, "host stream: operations still running");
  }
  return Status::ok();
}

void HostEvent::record(std::shared_ptr<Operation> operation) {
  std::lock_guard<std::mutex> lock(mutex_);
  operation_ = std::move(operation);
}

Status HostEvent::query() const {
  std::shared_ptr<Operation> operation;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    operation = operation_;
  }
  if (operation == nullptr) return Status::ok();
  if (!operation->done()) return Status(tuttiInProgress, "host event: not reached yet");
  return operation->wait(0);
}

Status HostEvent::synchronize(int timeoutMs) const {
  std::shared_ptr<Operation> operation;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    operation = operation_;
  }
  if (operation == nullptr) return Status::ok();
  return waitFor(*operation, timeoutMs);
}

void LiveHandles::add(const void* handle) {
  std::lock_guard<std::mutex> lock(mutex_);
  handles_.insert(handle);
}

bool LiveHandles::remove(const void* handle) {
  std::lock_guard<std::mutex> lock(mutex_);
  return handles_.erase(handle) != 0;
}

bool LiveHandles::contains(const void* handle) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return handles_.count(handle) != 0;
}

LiveHandles& liveHostStreams() {
  static LiveHandles handles;
  return handles;
}

LiveHandles& liveHostEvents() {
  static LiveHandles handles;
  return handles;
}

}  // namespace tutti
