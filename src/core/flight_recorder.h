// The flight recorder (issue 12, item 4): each communicator keeps its last TUTTI_FLIGHT_RECORDER
// operations in a ring, so that after a hang or a failure every rank can say which call it was
// in, how far each peer got, and how each call ended (core/flight_dump.h writes it out).
//
// Cheap by construction: the ring and each entry's per-peer counters are allocated when the
// communicator is created; an operation's start and end take the recorder's mutex (uncontended:
// only the rank's running call and a dump take it) and date it with the time-stamp counter,
// turned into wall-clock time only when a snapshot is taken (base/tick_clock.h); bytes are
// counted by the thread running the call with relaxed atomics (exec/peer_progress.h), so the
// data path takes no lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "algo/plan.h"
#include "base/status.h"
#include "core/operation.h"
#include "exec/peer_progress.h"

namespace tutti {

enum class OperationState : uint8_t { kQueued, kRunning, kCompleted, kFailed };
// "queued", "running", "completed", "failed".
const char* operationStateName(OperationState state);

// One operation as a snapshot reads it (and as the JSON file and tutti-doctor carry it).
struct RecordedPeer {
  int peer = 0;
  uint64_t sent = 0;
  uint64_t sendTotal = 0;
  uint64_t received = 0;
  uint64_t recvTotal = 0;
};

struct RecordedOperation {
  uint64_t id = 0;         // the call's sequence number on the communicator ("call #id"), from 1
  std::string collective;  // collectiveName: "all_reduce", "sendrecv", ...
  uint64_t count = 0;      // elements; for sendrecv, bytes
  std::string type;        // dataTypeName
  std::string op;          // redOpName; "" where the collective does not reduce
  int root = -1;           // -1 where the collective has none
  std::string algorithm;   // the plan's: "ring", "rd", ...; "" while queued
  OperationState state = OperationState::kQueued;
  std::string error;     // failed: the message
  int64_t queuedUs = 0;  // wall clock (CLOCK_REALTIME), microseconds; 0: not reached
  int64_t startUs = 0;
  int64_t endUs = 0;
  std::vector<RecordedPeer> peers;  // the peers the plan moves bytes with, by rank
};

struct RecorderSnapshot {
  int rank = 0;
  int nranks = 1;
  std::string reason;  // why it was taken: "failure", "request", "signal"
  int64_t takenUs = 0;
  std::vector<RecordedOperation> operations;  // oldest first
};

// Microseconds since the epoch (CLOCK_REALTIME): comparable across the ranks of a host.
int64_t wallClockUs();

class FlightRecorder {
 public:
  // capacity 0: records nothing (every call below returns at once).
  FlightRecorder(size_t capacity, int nranks);

  bool enabled() const { return !slots_.empty(); }

  // An asynchronous operation issued to the progress thread; it runs after those queued before,
  // so its number is started + (queued before it) + 1, started being the operations the
  // communicator ran or runs (the caller holds the call lock, so none starts meanwhile).
  void queue(uint64_t started, const CollectiveArgs& args);
  // The operation the calling thread starts now: the oldest queued one when there is one (the
  // progress thread runs them in issue order), else a new entry. Returns the per-peer counters
  // (one per rank) for the executor, nullptr when disabled; the executor may write those of
  // `peers` only (the plan's peers: only they are reset when the entry is reused, so that a call
  // costs the recorder the same on 8 ranks as on thousands). Called by the thread that runs it.
  PeerProgress* start(uint64_t id, const CollectiveArgs& args, const std::string& algorithm,
                      const std::vector<int>& peers);
  // Ends the operation start() began.
  void finish(const Status& status);

  RecorderSnapshot snapshot(int rank, const char* reason) const;

 private:
  struct Slot {
    uint64_t number = 0;  // recorded_ when claimed: tells a queued entry from its overwriter
    uint64_t id = 0;
    Collective collective = Collective::kAllReduce;
    uint64_t count = 0;
    tuttiDataType_t type = tuttiFloat32;
    tuttiRedOp_t op = tuttiSum;
    int root = 0;
    char algorithm[16] = {};
    OperationState state = OperationState::kQueued;
    std::string error;  // assigned only when the operation fails
    // TickClock readings (base/tick_clock.h: a clock_gettime per date was most of the
    // recorder's cost per call); 0: not reached.
    uint64_t queuedTicks = 0;
    uint64_t startTicks = 0;
    uint64_t endTicks = 0;
    std::unique_ptr<PeerProgress[]> peers;  // nranks entries
    std::vector<int> written;               // the entries of peers that may be nonzero
  };
  Slot& claim(uint64_t id, const CollectiveArgs& args);  // the next slot, reset; mutex held

  int nranks_;
  mutable std::mutex mutex_;
  std::vector<Slot> slots_;
  uint64_t recorded_ = 0;    // operations ever claimed; slot of the n-th: (n - 1) % capacity
  uint64_t queuedHead_ = 0;  // the oldest queued operation's number (as recorded_ counts)
  size_t queued_ = 0;        // queued and not started
  Slot* running_ = nullptr;
  uint64_t runningNumber_ = 0;  // running_'s number: more queued operations than slots reuse it
};

}  // namespace tutti
