// A collective call as an object: its arguments, the order it was issued in, and its completion.
// Host calls with a NULL stream build one and run it on the calling thread at once; asynchronous
// calls (the PyTorch backend's Work, stream-ordered device calls) queue it to the communicator's
// progress thread (core/progress_thread.h) and wait on it later, so several can be in flight.
// Calls on a host stream (core/host_stream.h) are asynchronous operations too.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "algo/plan.h"
#include "base/status.h"
#include "tutti/tutti.h"

namespace tutti {

// One tuttiSend or tuttiRecv (validated), as a group records it.
struct PeerCall {
  bool send = false;
  const void* buffer = nullptr;  // sendbuff, or recvbuff
  size_t bytes = 0;
  int peer = 0;
};

struct CollectiveArgs {
  Collective collective = Collective::kAllReduce;
  const void* send = nullptr;
  void* recv = nullptr;
  size_t count = 0;  // elements, as the C API counts them
  tuttiDataType_t type = tuttiFloat32;
  tuttiRedOp_t op = tuttiSum;
  int root = 0;  // rooted collectives (broadcast, reduce, gather, scatter); 0 for the others
  // kSendRecv: one communicator's calls of a group, in issue order (the fields above unused).
  // Shared, so that queuing the group copies no vector.
  std::shared_ptr<const std::vector<PeerCall>> peerCalls = nullptr;
};

class Operation {
 public:
  // after: an operation that must complete first (the previous call on the same host stream,
  // perhaps of another communicator); nullptr: none.
  Operation(const CollectiveArgs& args, uint64_t sequence,
            std::shared_ptr<const Operation> after = nullptr)
      : args_(args), sequence_(sequence), after_(std::move(after)) {}

  const CollectiveArgs& args() const { return args_; }
  const std::shared_ptr<const Operation>& after() const { return after_; }
  // Issue order within the communicator, from 1: every rank must issue the same sequence.
  uint64_t sequence() const { return sequence_; }

  bool done() const;
  // Waits until the operation completed, at most timeoutMs: its result, or tuttiTimeout (the
  // operation goes on; wait again or abort the communicator). Thread-safe.
  Status wait(int timeoutMs) const;
  // Records the result, runs the callbacks, then counts as done and wakes the waiters (the
  // progress thread calls it once).
  void complete(Status result);
  // Runs fn(result) once the result is known: on the completing thread before the operation
  // counts as done (so a waiter sees what fn did), or at once on this thread when it is known.
  void onComplete(std::function<void(const Status&)> fn);

 private:
  CollectiveArgs args_;
  uint64_t sequence_;
  std::shared_ptr<const Operation> after_;
  mutable std::mutex mutex_;
  mutable std::condition_variable completed_;
  bool resultKnown_ = false;  // result_ set; it never changes after
  bool done_ = false;         // and the callbacks ran
  Status result_ = Status::ok();
  std::vector<std::function<void(const Status&)>> callbacks_;
};

}  // namespace tutti
