// The executor: the only code that moves bytes. It runs one rank's lowered plan over the
// connections the communicator holds, without knowing the algorithm that made the plan or the
// transport under a connection; copies and reductions go through a DataMover (host or device).
//
// Receives are posted ahead, at most TUTTI_SLICES_IN_FLIGHT per peer, so several slices are in
// flight on every connection while earlier ones are reduced and forwarded. A receive that only
// stores (recv, recvCopySend) lands straight in its destination when no unfinished send or
// earlier slice touches that memory; a receive that reduces is read where the transport staged it
// when the transport offers that (shm slots), else it lands in an executor staging slot. Slices
// complete strictly in plan order, and a slice that writes memory an unfinished send still reads
// waits for it. Waiting is the progress engine's, bounded by the communicator's timeout.
//
// A call with a CallDescriptor (exec/call_check.h) exchanges it with every connected peer
// (exec/call_exchange.h); no data received from a peer is used (reduced, forwarded, counted
// done) before that peer's descriptor matched, so a mismatched call fails naming both calls
// instead of computing with the wrong data. Receives are posted before the match, behind the
// descriptor's receive on the same connection, so that one read can take both; on a mismatch
// the destination may hold the other call's bytes, as any failed call's output is undefined.
#pragma once

#include <deque>
#include <vector>

#include "algo/plan.h"
#include "base/params.h"
#include "base/status.h"
#include "exec/call_check.h"
#include "exec/call_exchange.h"
#include "exec/data_mover.h"
#include "exec/lowering.h"
#include "exec/peer_progress.h"
#include "transports/memory.h"
#include "transports/progress_engine.h"
#include "transports/transport.h"

namespace tutti {

// The user's buffers of one call.
struct CallBuffers {
  const void* send = nullptr;
  void* recv = nullptr;
  MemoryKind kind = MemoryKind::kHost;
  int device = -1;
};

class Executor {
 public:
  Executor(const Params& params, DataMover* mover) : params_(params), mover_(mover) {}

  // Where a call with a descriptor that waits without progress tells the other ranks which call
  // it is in, and finds a rank in another (nullptr: nowhere; such a wait ends at the timeout).
  void setWitness(CallWitness* witness) { witness_ = witness; }

  // connections[peer] for every peer the plan names; engine drives them and waits. call: this
  // rank's descriptor of a collective call, exchanged with every connected peer (nullptr: no
  // check, as for point-to-point calls). progress: nullptr, or one entry per rank that gets the
  // bytes the plan moves with each peer and how far it got (the flight recorder's).
  Status run(const Plan& plan, const CallBuffers& buffers, tuttiDataType_t type, tuttiRedOp_t op,
             const std::vector<Connection*>& connections, ProgressEngine& engine,
             const CallDescriptor* call = nullptr, PeerProgress* progress = nullptr);

 private:
  struct SliceState {
    int slot = -1;        // staging slot held (a direct or staged receive holds one too)
    bool direct = false;  // received straight into the destination
    bool staged = false;  // received in the transport's staging (request.staged)
  };
  struct PendingSend {
    TransferRequest request;
    const char* data;
    size_t bytes;
    int peer;
  };
  struct Staging {
    std::vector<char> memory;
    std::vector<int> freeSlots;
  };
  // The call's buffers registered with one transport's memory domain.
  struct DomainRegistrations {
    MemoryDomain* domain;
    uint64_t generation;             // the domain's when looked up
    const Registration* buffers[3];  // by BufferId
  };
  // What the registrations of the previous call were made for: a training loop repeats the
  // same buffers, and then the lookups are skipped.
  struct RegisteredCall {
    const void* bases[3] = {nullptr, nullptr, nullptr};
    size_t extents[3] = {0, 0, 0};
    std::vector<Connection*> connections;
    std::vector<const Registration*> staging;
  };

  Status runPlan(const Plan& plan, const CallBuffers& buffers, tuttiDataType_t type,
                 tuttiRedOp_t op, const std::vector<Connection*>& connections,
                 ProgressEngine& engine, PeerProgress* progress);
  // The bytes the lowered plan sends to and receives from each peer, into progress.
  void setProgressTotals(PeerProgress* progress) const;
  Status registerBuffers(const CallBuffers& buffers, const std::vector<Connection*>& connections);
  bool sameRegistrationsAsLastCall(const char* const bases[3],
                                   const std::vector<Connection*>& connections) const;
  Slice sliceOf(Connection* connection, const char* data, size_t bytes, int stagingPeer) const;
  // What the call waits for; *peer gets the rank it waits for (unchanged when none is known).
  std::string describeWait(const Plan& plan, size_t nextDone, int* peer) const;
  // A timeout's explanation: describeWait, where the witness saw the awaited rank, and what the
  // connections still have posted.
  std::string describeTimeout(const Plan& plan, size_t nextDone) const;
  // What the active connections still have posted, per path ("" when they say nothing).
  std::string describePending() const;
  // A stalled call (each of the engine's stall reports): fails naming both calls when another
  // rank published another call of this number; publishes this one, once, after
  // kPublishAfterStalls reports. Not sooner: a rank waiting on a slow peer is common, and each
  // publication floods every rank; a mismatch is rare, and half a second finds it in time.
  static constexpr int kPublishAfterStalls = 10;
  Status askWitness(int rank);

  Params params_;
  DataMover* mover_;
  std::vector<Staging> staging_;  // by peer rank
  std::vector<char> scratch_;
  // Per-call state, kept between calls so that a small call allocates nothing.
  LoweredPlan lowered_;
  std::vector<SliceState> states_;
  std::vector<TransferRequest> recvRequests_;
  std::deque<PendingSend> sends_;
  std::vector<Connection*> active_;
  std::vector<DomainRegistrations> registrations_;
  std::vector<const Registration*> stagingRegistrations_;  // by peer rank
  RegisteredCall registeredCall_;
  // Mismatch check of the running call.
  const CallDescriptor* call_ = nullptr;
  CallExchange exchange_;
  CallWitness* witness_ = nullptr;
  int stalls_ = 0;  // stall reports of the running call
};

}  // namespace tutti
