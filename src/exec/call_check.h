// Collective mismatch detection. Every collective call carries a CallDescriptor (sequence
// number, collective, count, type, op, root, and the algorithm its plan follows) in its first
// message to a peer, and a receiver compares a peer's with its own call before it takes any data
// from that peer. Where the descriptors go (exec/call_exchange.h):
// - With the data only, for a collective whose every output depends on every rank's input
//   (descriptorsFollowData): a rank completes only after every rank's data reached it through
//   ranks whose descriptors its senders checked, so no rank of a mismatched call can complete.
// - To and from every connected peer, for the others (rooted collectives, count 0): a root that
//   only sends would complete otherwise.
// Every stream of messages stays aligned whatever the ranks called: each call's first message
// on a connection is its descriptor. A mismatch that leaves no data edge between two differing
// ranks makes them wait; a call that waits publishes its descriptor (CallWitness) and fails
// once another rank published another call of the same number. Each failure becomes every
// rank's through the communicator's watch (core/comm_failure.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "algo/plan.h"
#include "base/status.h"
#include "tutti/tutti.h"

namespace tutti {

// On the wire, 32 bytes, in the host's byte order (peers share a host or an architecture).
struct CallDescriptor {
  uint64_t magic = 0;     // kCallMagic: tells a descriptor from data of a rank not checking
  uint64_t sequence = 0;  // the call's number on the communicator, from 1
  uint64_t count = 0;
  int32_t root = -1;       // -1 for collectives without a root
  uint8_t collective = 0;  // Collective
  uint8_t type = 0;        // tuttiDataType_t
  uint8_t op = 0xff;       // tuttiRedOp_t; 0xff for collectives that do not reduce
  // 1 + the Algorithm (algo/algorithm.h) of the plan; 0: not stated (the p2p path). Ranks
  // that plan one call with different algorithms (TUTTI_ALGO or a tuner differing between
  // them) would read each other's messages in the wrong order.
  uint8_t algorithm = 0;
};
static_assert(sizeof(CallDescriptor) == 32, "the descriptor's wire size");

constexpr uint64_t kCallMagic = 0x4c4c4143'49545554ull;  // "TUTTICALL" abridged

// The descriptor of a call; op and root are kept only where they matter, so that calls that
// differ only in an argument the collective ignores are alike.
// algorithm: descriptorAlgorithm(Plan::algorithm), 0 where none is stated.
CallDescriptor describeCall(uint64_t sequence, Collective collective, size_t count,
                            tuttiDataType_t type, tuttiRedOp_t op, int root, uint8_t algorithm = 0);

// CallDescriptor::algorithm for a plan's algorithm name (a name or alias), 0 for another name.
uint8_t descriptorAlgorithm(const std::string& planAlgorithm);

// "all_reduce(count 200, float, sum)", "broadcast(count 8, int8, root 1)".
std::string callText(const CallDescriptor& call);

// Whether the call's descriptors need travel only with its data: for a collective whose every
// output depends on every rank's input (all-reduce, all-gather, reduce-scatter, all-to-all) with
// count > 0, a rank completes only after every rank's data reached it, each message checked by
// its receiver against the sender's descriptor; so no rank of a mismatched call can complete, and
// the descriptor goes only where data goes (exec/call_exchange.h). The others (rooted
// collectives, count 0) exchange it with every connected peer.
bool descriptorsFollowData(const CallDescriptor& call);

// Where a call that waits on its peers tells the other ranks which call it is in, and learns
// theirs, outside the data connections (the communicator's bootstrap watch, core/peer_watch.h).
// A mismatch that leaves no data edge between two differing ranks is found this way: both wait,
// both publish, and one finds the other's call differs. Thread-safe.
class CallWitness {
 public:
  virtual ~CallWitness() = default;
  // Tells every rank that this rank waits in `call`.
  virtual void publish(const CallDescriptor& call) = 0;
  // A call another rank published with `mine`'s sequence number that differs from `mine`:
  // *peer and *theirs get it. False when none is known.
  virtual bool differs(const CallDescriptor& mine, int* peer, CallDescriptor* theirs) const = 0;
  // For the message of a call that timed out waiting for `peer`: what this rank knows of where
  // `peer` is (describeAwaitedRank's words) and what `peer` says when asked (and the ranks down
  // the chain of waits from it, PeerWatch::whereIs), or "" when nothing.
  // May wait a bounded while for the answer.
  virtual std::string whereIs(int peer, const CallDescriptor& mine) { return ""; }
};

// Ok when `theirs`, received from `peer`, is the same call as `mine`, planned with the same
// algorithm where both state one; otherwise tuttiInvalidUsage naming both calls (and both
// algorithms when only they differ).
Status compareCalls(const CallDescriptor& mine, int rank, const CallDescriptor& theirs, int peer);

// Where an awaited rank is, for a timeout's message, from what the watch knows: `published`, the
// last call `peer` published as waiting in (CallWitness; nullptr: none), against `mine`, the call
// that timed out; heardMsAgo: how long ago the watch last heard from the peer, when that says it
// is alive (-1: no claim). A rank publishes a call once it has waited in it for half a second, so
// a peer not seen in `mine` long after this rank began waiting has not reached it (it computes,
// or waits elsewhere), while a peer that waits in it too points further along. E.g. "rank 2 is
// alive (heard from 40 ms ago) and was last seen waiting in call #56
// (all_reduce(count 8, float, sum)), an earlier call: it has not been seen in call #57".
std::string describeAwaitedRank(int peer, const CallDescriptor& mine,
                                const CallDescriptor* published, long heardMsAgo);

}  // namespace tutti
