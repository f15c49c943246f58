// One-sided communication on host windows (tuttiPutSignal, tuttiWaitSignal; tutti.h): a rank
// puts into a peer's registered buffer through the transport's putWithSignal
// (transports/transport.h), and the peer waits on the signal the put raises, without taking part
// in the transfer.
//
// A host window is registered with the memory domain of each connection that has a put, pinned
// there until deregistration (so the cache never unmaps memory a peer may put into), and
// exported per peer; each rank sends each peer its export over their connection (one sendrecv
// group, O(peers) bytes per rank). Signals are counted by the connections (Connection::readSignal:
// puts of that peer so far); a wait consumes them, so the communicator keeps per (peer, signal)
// the count that earlier waits took.
#pragma once

#include <cstddef>

#include "base/status.h"
#include "tutti/tutti.h"

struct tuttiComm;

namespace tutti {

// tuttiCommWindowRegister of host memory, after the argument checks (collective; the caller holds
// the call lock and nothing is queued on the communicator, unless `ready` says the queued calls
// did not finish: then this rank only tells the others, and every rank fails). Errors:
// tuttiInvalidUsage (ranks register differently), tuttiSystemError (a transport could not
// register or export the memory: every rank fails), tuttiTimeout (a rank's queued calls did not
// finish), the bootstrap's and the exchange's (tuttiTimeout, tuttiRemoteError).
Status registerHostWindow(tuttiComm* comm, void* buff, size_t size, int flags, const Status& ready,
                          tuttiWindow_t* out);

// tuttiPutSignal after the argument checks (the window is a live host window, the range inside
// it, bytes may be 0): blocks until the put completed. Errors: tuttiInvalidUsage (no put to that
// peer), tuttiTimeout, tuttiRemoteError.
Status putSignal(tuttiComm* comm, const void* local, size_t bytes, int peer,
                 const tuttiWindow* window, size_t offset, int signal);

// tuttiWaitSignal after the argument checks. Errors: tuttiInvalidUsage (a peer that cannot put
// to this rank), tuttiTimeout (no awaited signal arrived for TUTTI_TIMEOUT_MS; nothing consumed),
// tuttiRemoteError and the communicator's sticky error (a peer failed meanwhile).
Status waitSignals(tuttiComm* comm, const tuttiWaitSignalDesc_t* descs, int count);

}  // namespace tutti
