#include "core/flight_recorder.h"

#include <time.h>

#include <cstring>

#include "base/tick_clock.h"
#include "exec/datatype.h"

namespace tutti {

const char* operationStateName(OperationState state) {
  switch (state) {
    case OperationState::kQueued:
      return "queued";
    case OperationState::kRunning:
      return "running";
    case OperationState::kCompleted:
      return "completed";
    case OperationState::kFailed:
      return "failed";
  }
  return "unknown";
}

int64_t wallClockUs() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
}

FlightRecorder::FlightRecorder(size_t capacity, int nranks) : nranks_(nranks), slots_(capacity) {
  for (Slot& slot : slots_) slot.peers.reset(new PeerProgress[nranks]);
}

FlightRecorder::Slot& FlightRecorder::claim(uint64_t id, const CollectiveArgs& args) {
  Slot& slot = slots_[recorded_ % slots_.size()];
  slot.number = ++recorded_;
  slot.id = id;
  slot.collective = args.collective;
  slot.count = args.count;
  slot.type = args.type;
  slot.op = args.op;
  slot.root = args.root;
  slot.algorithm[0] = '\0';
  slot.state = OperationState::kQueued;
  slot.error.clear();  // keeps its capacity: no allocation once a failure's message fit
  slot.queuedTicks = 0;
  slot.startTicks = 0;
  slot.endTicks = 0;
  for (int peer : slot.written) slot.peers[peer].reset();
  slot.written.clear();
  return slot;
}

void FlightRecorder::queue(uint64_t started, const CollectiveArgs& args) {
  if (!enabled()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (queued_ == 0) queuedHead_ = recorded_ + 1;
  Slot& slot = claim(started + queued_ + 1, args);
  slot.queuedTicks = TickClock::now();
  ++queued_;
}

PeerProgress* FlightRecorder::start(uint64_t id, const CollectiveArgs& args,
                                    const std::string& algorithm, const std::vector<int>& peers) {
  if (!enabled()) return nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  Slot* slot = nullptr;
  if (queued_ > 0) {
    // The oldest queued operation is the one starting, unless later ones overwrote its entry.
    Slot& head = slots_[(queuedHead_ - 1) % slots_.size()];
    if (head.number == queuedHead_ && head.state == OperationState::kQueued) slot = &head;
    ++queuedHead_;
    --queued_;
  }
  if (slot == nullptr) slot = &claim(id, args);
  slot->id = id;
  slot->collective = args.collective;  // a queued group learns its byte count only now
  slot->count = args.count;
  slot->type = args.type;
  std::strncpy(slot->algorithm, algorithm.c_str(), sizeof(slot->algorithm) - 1);
  slot->written.assign(peers.begin(), peers.end());  // capacity kept: no allocation once grown
  slot->state = OperationState::kRunning;
  slot->startTicks = TickClock::now();
  running_ = slot;
  runningNumber_ = slot->number;
  return slot->peers.get();
}

void FlightRecorder::finish(const Status& status) {
  if (!enabled()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (running_ == nullptr || running_->number != runningNumber_) return;
  Slot* slot = running_;
  running_ = nullptr;  // ended even when memory for the message runs out below
  slot->endTicks = TickClock::now();
  slot->state = status.isOk() ? OperationState::kCompleted : OperationState::kFailed;
  if (!status.isOk()) slot->error = status.message();
}

RecorderSnapshot FlightRecorder::snapshot(int rank, const char* reason) const {
  RecorderSnapshot out;
  out.rank = rank;
  out.nranks = nranks_;
  out.reason = reason;
  out.takenUs = wallClockUs();
  std::lock_guard<std::mutex> lock(mutex_);
  const WallFromTicks wall;  // after the lock: every date below was taken before it
  const uint64_t kept = std::min<uint64_t>(recorded_, slots_.size());
  for (uint64_t n = recorded_ - kept + 1; n <= recorded_; ++n) {
    const Slot& slot = slots_[(n - 1) % slots_.size()];
    RecordedOperation op;
    op.id = slot.id;
    op.collective = collectiveName(slot.collective);
    op.count = slot.count;
    op.type = dataTypeName(slot.type);
    if (isReduction(slot.collective)) op.op = redOpName(slot.op);
    op.root = isRooted(slot.collective) ? slot.root : -1;
    op.algorithm = slot.algorithm;
    op.state = slot.state;
    op.error = slot.error;
    op.queuedUs = wall.us(slot.queuedTicks);
    op.startUs = wall.us(slot.startTicks);
    op.endUs = wall.us(slot.endTicks);
    for (int peer = 0; peer < nranks_; ++peer) {
      const PeerProgress& p = slot.peers[peer];
      RecordedPeer recorded{
          peer, p.sent.load(std::memory_order_relaxed), p.sendTotal.load(std::memory_order_relaxed),
          p.received.load(std::memory_order_relaxed), p.recvTotal.load(std::memory_order_relaxed)};
      if (recorded.sendTotal > 0 || recorded.recvTotal > 0) op.peers.push_back(recorded);
    }
    out.operations.push_back(std::move(op));
  }
  return out;
}

}  // namespace tutti
