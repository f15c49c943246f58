// Host streams and host events (tutti.h): ordered queues of collective calls on host buffers, run
// on each communicator's progress thread. A stream remembers its last operation (the next one
// waits for it, so the stream's order holds across communicators) and the first error of any
// operation queued on it; an event is the stream's last operation at the time it was recorded.
// Handles are the objects' addresses, checked against a registry of live ones.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "base/status.h"
#include "core/operation.h"

namespace tutti {

class HostStream {
 public:
  // Queues an operation: `issue` receives the stream's last operation (to run after) and returns
  // the new one, under the stream's lock so that concurrent callers keep one order.
  template <typename Issue>
  Status enqueue(Issue&& issue) {
    std::lock_guard<std::mutex> lock(mutex_);
    // Fold what completed, so a stream only ever waited on through events (the PyTorch backend)
    // does not hold every operation it ran.
    collectResults();
    std::shared_ptr<Operation> operation;
    TUTTI_RETURN_IF_ERROR(issue(last_, &operation));
    last_ = operation;
    unchecked_.push_back(std::move(operation));
    return Status::ok();
  }
  // The last operation queued (nullptr: none).
  std::shared_ptr<Operation> last() const;
  // Runs fn with the result of the last operation queued so far once it is known (at once, on
  // this thread, with success when there is none): Operation::onComplete.
  void addCallback(std::function<void(const Status&)> fn);
  // Waits until everything queued so far completed, at most timeoutMs (< 0: until then; each
  // operation ends by its own inactivity timeout). The first error of the stream's operations
  // (sticky), tuttiTimeout, or success.
  Status synchronize(int timeoutMs);
  // Success when everything queued completed without error, the first error when one failed,
  // tuttiInProgress otherwise.
  Status query();

 private:
  // Folds the results of completed operations into firstError_ (callers hold mutex_).
  void collectResults();

  mutable std::mutex mutex_;
  std::shared_ptr<Operation> last_;
  std::vector<std::shared_ptr<Operation>> unchecked_;  // queued, results not yet collected
  Status firstError_ = Status::ok();
};

class HostEvent {
 public:
  void record(std::shared_ptr<Operation> operation);
  // The recorded operation's result once complete (success when nothing was queued before the
  // record, or never recorded), tuttiInProgress before.
  Status query() const;
  Status synchronize(int timeoutMs) const;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<Operation> operation_;
};

// The live handles of one kind: added at create, looked up on every use, removed at destroy.
class LiveHandles {
 public:
  void add(const void* handle);
  bool remove(const void* handle);  // false: it was not live
  bool contains(const void* handle) const;

 private:
  mutable std::mutex mutex_;
  std::unordered_set<const void*> handles_;
};
LiveHandles& liveHostStreams();
LiveHandles& liveHostEvents();
inline bool isHostStream(const void* handle) { return liveHostStreams().contains(handle); }

}  // namespace tutti
