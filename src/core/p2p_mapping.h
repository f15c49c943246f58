// Device memory of every rank of a one-host communicator mapped into every other rank: the one
// exchange behind the p2p windows (core/p2p_window.h) and registered user buffers
// (core/p2p_registration.h).
//
// Each rank exports its memory (Runtime::exportMemory); the ranks exchange what the exports say
// through the bootstrap's allgather and, on the emulated device, the descriptors of the memory's
// files by SCM_RIGHTS over abstract Unix sockets (a HelloKind::kP2pWindow hello with the
// communicator's secret first: any process of the network namespace can reach such a socket).
// Every rank then imports every peer's memory.
#pragma once

#include <stddef.h>

#include <vector>

#include "base/status.h"

struct tuttiComm;

namespace tutti {

// Collective over the communicator's bootstrap: every rank calls it, also one with nothing to
// share (own == nullptr: it could not allocate; every rank then agrees on failure). On success of
// every rank (*agreed true), mapped[r] is rank r's memory in this process (own at this rank's
// index), to be unmapped with Runtime::closeImported. Else nothing stays mapped, *failedRank is
// the lowest rank that failed and *reason this rank's own failure (ok when another rank failed).
// `what` names the memory in messages ("window", "registered window #2"). Errors: the
// bootstrap's only (tuttiTimeout, tuttiRemoteError).
// `bytes`: how much of `own` peers will touch; it must lie in one allocation.
Status mapPeerMemory(tuttiComm* comm, void* own, size_t bytes, const char* what,
                     std::vector<char*>* mapped, bool* agreed, int* failedRank, Status* reason);

// Collective: whether every rank says ok; *firstFailed the lowest rank that did not (or -1).
Status allRanksAgree(tuttiComm* comm, bool ok, bool* all, int* firstFailed);

}  // namespace tutti
