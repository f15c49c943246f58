// How a communicator learns of a failure and words it: the bootstrap watch (core/peer_watch.h)
// gives every rank one verdict, the first failure any rank saw; every call that fails then, and
// every later call, names that rank, its host and what was seen, then this rank's call and what
// it waited for.
#pragma once

#include <cstdint>
#include <new>
#include <string>

#include "base/status.h"

struct tuttiComm;

namespace tutti {

// Collective, the last step of init: links this rank into the watch. On the first verdict the
// communicator's error becomes sticky, its calls in progress stop and its connections close.
Status startWatch(tuttiComm* comm);

// A call named `op`, this communicator's call #call, failed with status: the status to return.
// A failure of this rank's own (a timeout, a mismatch, a local error) is announced to every
// rank first (a mismatch is returned as it is); a lost connection waits briefly for the verdict
// that says who failed.
Status explainFailure(tuttiComm* comm, const Status& status, const char* op, uint64_t call);

// Memory ran out (std::bad_alloc) in the communicator's latest call, named `op`: the communicator
// is in error on every rank, as after any failure of this rank's own, since its peers may wait for
// a message this rank will not send. Announced, sticky, connections closed; the status says "out of
// memory", which rank and call, and the remedy. Where even that message cannot be allocated, the
// status is tuttiSystemError "out of memory" alone (short enough to need no allocation) and the
// closed connections tell the peers.
Status failOutOfMemory(tuttiComm* comm, const char* op) noexcept;

// Runs one call's work on comm with memory that runs out as its error (failOutOfMemory).
template <typename Run>
Status guardMemory(tuttiComm* comm, const char* op, Run&& run) noexcept {
  try {
    return run();
  } catch (const std::bad_alloc&) {
    return failOutOfMemory(comm, op);
  }
}

// After the first verdict other ranks may fail too (several at once, or later): every failed rank
// this rank knows of now, when that is more than the verdict's failed rank, as text to append to
// a message ("; failed ranks known now (tuttiCommGetFailedRanks): rank 1 (host a, pid 7), rank 3
// (host b, pid 9)"); "" otherwise. Takes the watch's lock: not to be called with it held.
std::string describeOtherFailures(const tuttiComm& comm);

// tuttiCommAbort: tells every rank this one aborted, before its connections close.
void announceAbort(tuttiComm* comm);

// tuttiCommRevoke: marks the communicator revoked, tells every rank (their calls in progress
// stop and later ones fail with tuttiInvalidUsage naming this rank), stops this rank's call in
// progress and closes its connections; waits for that call to return. The bootstrap and its
// watch stay up for tuttiCommShrink. The caller checked it was not revoked here before.
void revokeComm(tuttiComm* comm);

}  // namespace tutti
