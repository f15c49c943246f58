#include "transports/progress_engine.h"

#include <sched.h>

#include <algorithm>
#include <cerrno>

namespace tutti {

void ProgressEngine::drive(const std::vector<Connection*>& connections, bool reportStalls) {
  connections_ = connections;
  reportStalls_ = reportStalls;
  stallsReported_ = 0;
  progressUndated_ = true;
}

Status ProgressEngine::poll(bool* progressed) {
  bool moved = false;
  for (Connection* connection : connections_) {
    TUTTI_RETURN_IF_ERROR(connection->progress(&moved));
  }
  if (moved || *progressed) {
    progressUndated_ = true;
    *progressed = true;
  }
  return Status::ok();
}

int64_t ProgressEngine::idleMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - lastProgress_)
      .count();
}

ProgressEngine::Idle ProgressEngine::idle() {
  const Clock::time_point now = Clock::now();
  if (progressUndated_) {
    lastProgress_ = now;
    spinStart_ = now;
    progressUndated_ = false;
    stallsReported_ = 0;
  }
  if (now - spinStart_ < std::chrono::microseconds(policy_.spinUs)) return Idle::kRetry;
  if (now - spinStart_ < std::chrono::microseconds(policy_.spinUs + policy_.yieldUs)) {
    sched_yield();
    return Idle::kRetry;
  }
  if (abortFlag_ != nullptr && abortFlag_->load(std::memory_order_relaxed)) return Idle::kAborted;
  const int64_t idle =
      std::chrono::duration_cast<std::chrono::milliseconds>(now - lastProgress_).count();
  if (idle >= policy_.timeoutMs) return Idle::kTimedOut;
  if (reportStalls_ && idle >= (stallsReported_ + 1) * kStallReportMs) {
    ++stallsReported_;
    return Idle::kStalled;
  }
  sources_.clear();
  bool readyNow = false;
  for (Connection* connection : connections_) {
    if (connection->busy()) readyNow |= connection->armWait(&sources_);
  }
  fds_.clear();
  bool sourceless = false;
  for (const WaitSource& source : sources_) {
    if (source.fd < 0) {
      sourceless = true;
    } else {
      fds_.push_back(pollfd{source.fd, source.events, 0});
    }
  }
  if (readyNow) return Idle::kRetry;
  if (sourceless) {
    // A connection without a descriptor can only be polled: give the CPU away between looks.
    sched_yield();
    return Idle::kRetry;
  }
  int64_t waitMs = std::min<int64_t>(50, policy_.timeoutMs - idle);
  if (reportStalls_) waitMs = std::min(waitMs, (stallsReported_ + 1) * kStallReportMs - idle);
  if (::poll(fds_.data(), fds_.size(), static_cast<int>(waitMs)) < 0 && errno != EINTR) {
    failure_ = systemError("progress engine: poll", errno);
    return Idle::kFailed;
  }
  // Once blocked, keep blocking until something moves: no spinning between polls.
  spinStart_ = Clock::time_point{};
  return Idle::kRetry;
}

}  // namespace tutti
