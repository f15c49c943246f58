// Device collectives over peers' mapped device memory (the p2p path): all-reduce (one-shot,
// two-shot), all-gather and reduce-scatter (direct), queued on the caller's stream with no host
// round trip and no transport. Taken when every rank of the communicator is on one host, the
// call's buffers are device memory, TUTTI_P2P_DISABLE is not 1 on any rank and the windows could
// be mapped (core/p2p_window.h); the algorithm is chooseP2pAlgorithm's (algo/p2p_choice.h:
// TUTTI_ALGO, else the cost model). Anything else takes the staged path (core/device_collective.h).
//
// Per chunk of at most the window's size, on the stream (n ranks, this rank r):
//   oneshot all-reduce   copy send -> window r; barrier; reduce windows 0..n-1 -> recv; barrier
//   twoshot all-reduce   copy send -> window r's input half; barrier; reduce slice r of every
//                        input half -> slice r of window r's output half; barrier; copy slice p
//                        of window p's output half -> recv, every p; (after the last chunk) barrier
//   all-gather           copy send -> window r; barrier; copy window p -> recv block p; barrier
//   reduce-scatter       copy every block's chunk -> window r; barrier; reduce block r's chunk of
//                        every window -> recv; barrier
// Every rank reduces its inputs in rank order, so every rank gets the same bits. The last barrier
// of a chunk keeps a rank from overwriting its window while a peer still reads it. A barrier that
// waits longer than TUTTI_TIMEOUT_MS for a peer writes the window's error word and the stream goes
// on (the call's result is then undefined); the communicator's error becomes tuttiTimeout, sticky,
// at the next call or tuttiCommGetAsyncError. A call's first barrier compares every rank's call
// (device/p2p_launch.h): calls that differ are a sticky tuttiInvalidUsage on every rank.
// Buffers in registered windows (core/p2p_registration.h) are read directly instead: no copy
// into the windows, no chunks (core/p2p_schedule.h).
#pragma once

#include "base/status.h"
#include "core/comm.h"

namespace tutti {

// At init (collective): sets up the windows (setupP2pWindow) when device calls may use the path:
// a device runtime, every rank on one host, at most kMaxP2pRanks ranks, and a TUTTI_ALGO that
// allows a p2p algorithm (AlgoSpec::mayUseP2p). Not at the first device call: ranks may issue
// calls of several communicators in different orders on different streams, and a collective
// setup inside a call would deadlock them. Errors: the bootstrap's.
Status prepareP2p(tuttiComm* comm);

// Enqueues the collective on the p2p path when it applies (*issued true), else leaves it to the
// staged path (*issued false, nothing queued). The caller holds callMutex, has checked the
// arguments and found the buffers on the communicator's device. Errors: the runtime's launch
// errors, a sticky barrier timeout (tuttiTimeout); each makes the communicator's error sticky.
Status issueP2pCollective(tuttiComm* comm, const CollectiveArgs& args, void* stream, bool* issued);

// Makes a barrier timeout that a stream recorded in the window's error word the communicator's
// sticky error (tuttiTimeout), once; returns it (ok when there was none).
Status noteP2pTimeout(tuttiComm* comm);

}  // namespace tutti
