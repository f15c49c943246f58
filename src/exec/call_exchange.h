// The mismatch check of one call on the wire (exec/call_check.h says what is compared and why).
// For a call whose descriptors follow its data (descriptorsFollowData), this rank's
// CallDescriptor goes to each peer the plan sends data to, and each peer's that sends data here
// is received and compared; for the others, to and from every connected peer. The executor
// asks before using any data received from a peer (matched) and before the first data to a
// peer (beforeFirstSend): the descriptor to a peer the plan sends data to goes just before that
// data (a transport that batches sends moves both in one segment); to the others, at the call's
// start. On a failure, every descriptor not yet sent goes at once, so that the peers can still
// name the calls.
//
// Not thread-safe: one executor's, used by the thread running its call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "exec/call_check.h"
#include "exec/lowering.h"
#include "transports/transport.h"

namespace tutti {

class CallExchange {
 public:
  // Starts the exchange of `call` for this rank's plan lowered as `lowered`, with every peer
  // connections[peer] names; appends to *active the connections it uses that are not there yet.
  // Every receive is posted and every send queued even when one fails (a peer that found a
  // mismatch may have closed already): the others then still learn this rank's call.
  Status start(const CallDescriptor& call, int rank, const LoweredPlan& lowered,
               const std::vector<Connection*>& connections, std::vector<Connection*>* active);
  // Whether `peer`'s descriptor arrived and is this call's: data from it may be received.
  bool matched(int peer) const { return checks_[peer].checked; }
  // Queues the descriptor to `peer` if still held, to leave with the data posted right after.
  Status beforeFirstSend(int peer, Connection* connection) { return release(peer, connection); }
  // Compares the descriptors that arrived; tuttiInvalidUsage naming both calls on a mismatch.
  Status poll();
  // Exchanges not finished (a descriptor not received and compared, or not sent), as of poll().
  size_t pending() const { return pending_; }
  // What the call waits for when it waits on a descriptor, or "" when it does not; *peer gets
  // the rank it waits for (unchanged when none).
  std::string describeWait(int* peer) const;

  // After the call failed with `failure`: sends every descriptor still held (best effort), and
  // returns the mismatch that explains the failure when a peer's descriptor shows one (a peer
  // that found a mismatch closes its connections, which may reach this rank first), else
  // `failure`.
  Status explainFailure(const Status& failure, const std::vector<Connection*>& connections);

 private:
  struct PeerCheck {
    TransferRequest sent;
    TransferRequest received;
    bool sends = false;     // this rank's descriptor goes to the peer
    bool receives = false;  // the peer's descriptor comes here
    bool checked = false;   // received and alike
    bool held = false;      // to go just before the first data to this peer, sharing its segment
  };

  Status release(int peer, Connection* connection);

  CallDescriptor call_;
  int rank_ = -1;
  std::vector<CallDescriptor> memory_;  // [2 * peer]: sent to it, [2 * peer + 1]: from it
  std::vector<PeerCheck> checks_;       // by peer rank
  std::vector<int> touched_;            // the peers this call exchanges with, in visiting order
  std::vector<char> sendsData_;         // by peer rank: the plan sends it data
  std::vector<char> recvsData_;         // by peer rank: the plan receives data from it
  std::vector<const Registration*> registrations_;  // of memory_, by peer rank
  std::vector<uint64_t> generations_;               // the peer's domain generation at registration
  const void* registeredBase_ = nullptr;            // memory_ when registered
  size_t pending_ = 0;
  bool mismatch_ = false;
};

}  // namespace tutti
