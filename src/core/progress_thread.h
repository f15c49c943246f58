// The communicator's progress thread: runs its asynchronous operations one at a time, in the
// order they were issued (every rank issues collectives in the same order, so running them in
// that order on every rank matches them up), with an executor and a progress engine of its own.
// An operation queued on a host stream first waits for the previous one on that stream.
// Started by the first asynchronous operation; stopped when the communicator goes.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "core/operation.h"

namespace tutti {

class ProgressThread {
 public:
  // Runs one operation to completion on the progress thread (the communicator serialises it
  // with calls on other threads).
  using Runner = std::function<Status(const CollectiveArgs& args)>;

  explicit ProgressThread(Runner runner);
  // Operations still queued complete with tuttiInvalidUsage; the one running finishes first.
  ~ProgressThread();

  void enqueue(std::shared_ptr<Operation> operation);
  // Operations issued and not complete.
  size_t pending() const;

 private:
  void loop();
  // Waits until the operation's predecessor on its host stream completed (its result does not
  // matter: communicators are independent).
  Status waitForPredecessor(const Operation& operation);

  Runner runner_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Operation>> queue_;
  bool running_ = false;  // an operation taken from the queue is running
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace tutti
