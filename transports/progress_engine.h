// The progress engine: drives a set of connections and decides how a rank waits when nothing
// moves. It spins for `spinUs`, then yields the CPU for `yieldUs` (oversubscribed hosts: a
// spinning rank would take the core its peer needs), then blocks in poll() on the wait sources
// of the busy connections, in slices of at most 50 ms so that an abort is seen. The communicator
// owns one per thread that runs operations; the executor calls it and never sees a descriptor.
//
// A caller that asks for stall reports (drive's reportStalls) hears kStalled from idle() each
// kStallReportMs without progress, so that it can act on a wait that may never end by itself
// (the executor tells the other ranks which call it waits in: exec/call_check.h, CallWitness).
#pragma once

#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

#include "base/status.h"
#include "transports/transport.h"

namespace tutti {

struct WaitPolicy {
  int spinUs = 0;
  int yieldUs = 0;
  int timeoutMs = 600000;  // inactivity timeout of every wait
};

class ProgressEngine {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Idle {
    kRetry,     // poll the connections again
    kTimedOut,  // nothing moved for the timeout: the caller words the error (it knows the step)
    kAborted,   // the abort flag was raised
    kFailed,    // poll() itself failed: failure() says why
    kStalled,   // reporting stalls, and nothing moved for another kStallReportMs
  };

  static constexpr int kStallReportMs = 50;

  ProgressEngine(const WaitPolicy& policy, const std::atomic<bool>* abortFlag)
      : policy_(policy), abortFlag_(abortFlag) {}

  // The connections the next operation uses; resets the inactivity clock.
  void drive(const std::vector<Connection*>& connections, bool reportStalls = false);
  // One pass of progress() over the driven connections; the first error ends it. A pass that
  // moved something, or a caller that did (*progressed already set: local work), restarts the
  // spin and the inactivity clock.
  Status poll(bool* progressed);
  // Called after a pass that moved nothing: spins, yields or blocks as the policy and the time
  // since the last progress say.
  Idle idle();
  // Milliseconds since something last moved (as idle() last saw it).
  int64_t idleMs() const;
  const Status& failure() const { return failure_; }

 private:
  WaitPolicy policy_;
  const std::atomic<bool>* abortFlag_;
  std::vector<Connection*> connections_;
  bool reportStalls_ = false;
  int64_t stallsReported_ = 0;  // kStalled said since the last progress
  std::vector<WaitSource> sources_;
  std::vector<pollfd> fds_;
  Clock::time_point lastProgress_;
  Clock::time_point spinStart_;
  // Something moved since idle() last read the clock. The clock is read only when a pass moved
  // nothing (a clock read costs 20-25 ns in a VM, a third of a small call's own work), and a
  // call that never waits reads it not at all; the progress is dated one pass late at most.
  bool progressUndated_ = true;
  Status failure_ = Status::ok();
};

}  // namespace tutti
