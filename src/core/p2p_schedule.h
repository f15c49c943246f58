// The stream work of one p2p call (core/p2p_collective.h): which copies, barriers and
// reductions each algorithm queues, chunk by chunk, over the windows of a P2pLayout, or over
// peers' registered buffers (P2pPeerBuffers). Apart from
// the communicator, so that tests run it against a recording runtime and check symbolically
// that every output element gets exactly the contributions it should and that no rank writes
// window memory in the same barrier interval as another rank reads it
// (tests/core/p2p_schedule_test.cc).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <vector>

#include "algo/p2p_choice.h"
#include "algo/plan.h"
#include "base/status.h"
#include "core/operation.h"
#include "device/device_runtime.h"
#include "exec/call_check.h"

namespace tutti {

// The windows as this rank sees them: windows[r] is rank r's window in this process (flags at its
// start, data kFlagBytes on), `dataBytes` of data each.
struct P2pLayout {
  static constexpr size_t kFlagBytes = 4096;
  // Where in its flag area a rank publishes its call's descriptor (after the barrier slots).
  static constexpr size_t kCallOffset = 2048;
  int rank = 0;
  size_t dataBytes = 0;
  std::vector<char*> windows;
  uint64_t* error = nullptr;     // pinned: a timed-out barrier's value (device/p2p_launch.h)
  uint64_t* mismatch = nullptr;  // pinned, kP2pMismatchWords: whose call differed, both calls
  int timeoutMs = 0;

  int ranks() const { return static_cast<int>(windows.size()); }
  uint64_t* flags(int r) const { return reinterpret_cast<uint64_t*>(windows[r]); }
  char* data(int r) const { return windows[r] + kFlagBytes; }
  uint64_t* call(int r) const { return reinterpret_cast<uint64_t*>(windows[r] + kCallOffset); }
};

// A call's buffers in every rank's registered window (tuttiCommWindowRegister with
// TUTTI_WIN_COLL_SYMMETRIC: the same offset on every rank), as this process maps them: send[r] is
// rank r's send buffer, recv[r] its receive buffer (empty when the algorithm reads no peer's).
struct P2pPeerBuffers {
  std::vector<const char*> send;
  std::vector<char*> recv;
};

// Whether an algorithm reads peers' receive buffers when the call's buffers are registered (the
// two-shot all-reduce's gather does).
bool p2pReadsPeersRecv(Collective collective, P2pAlgorithm algorithm);

// What a call's first barrier compares across ranks (device::kP2pCallWords words): the call and
// which registered windows it reads where. windows: (send's window id + 1) | (recv's + 1) << 32,
// 0 for a buffer the schedule does not read through a window; offsets in bytes. Ranks whose calls
// read registered windows differently (another window, another offset, or none) would read
// wrong addresses: the check makes that a mismatch, as a differing call is.
struct P2pCallCheck {
  CallDescriptor call;
  uint64_t windows = 0;
  uint64_t sendOffset = 0;
  uint64_t recvOffset = 0;
};
static_assert(sizeof(P2pCallCheck) == device::kP2pCallWords * sizeof(uint64_t),
              "the words a barrier compares");

// Queues the call (all-reduce by `algorithm`, all-gather or reduce-scatter; count > 0) on the
// stream. *barriers counts the barriers issued so far, alike on every rank; each barrier queued
// raises it. With `check` (nullptr: TUTTI_CHECK_MISMATCH=0), the call's first barrier checks that
// every rank makes this call (device/p2p_launch.h). With `peers` (nullptr: not registered), the
// schedule reads peers' registered buffers directly instead of copying the send data into the
// windows first. Errors: the runtime's launch errors (work queued before one stays queued).
Status queueP2pCollective(device::Runtime* runtime, const P2pLayout& layout, uint64_t* barriers,
                          P2pAlgorithm algorithm, const CollectiveArgs& args,
                          const P2pCallCheck* check, const P2pPeerBuffers* peers, void* stream);

}  // namespace tutti
