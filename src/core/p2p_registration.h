// Registered windows (tuttiCommWindowRegister, tutti.h): user device buffers that every rank of a
// one-host communicator maps into every other, so that p2p calls on buffers inside them read the
// peers' buffers directly (core/p2p_schedule.h, P2pPeerBuffers) instead of copying the send data
// into the p2p windows first.
//
// Registration is collective: the ranks check that they register alike (size, flags), number the
// window alike (its id: the registrations before it), and map each other's buffers
// (core/p2p_mapping.h) when the window is TUTTI_WIN_COLL_SYMMETRIC and the communicator uses the
// p2p path. A call uses a window only when the window holds every buffer that its algorithm reads
// across ranks; its first barrier then compares the window ids and offsets of every rank
// (P2pCallCheck), so that ranks that do not keep the symmetric promise get a mismatch error
// rather than each other's wrong bytes.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <atomic>
#include <memory>
#include <utility>
#include <vector>

#include "algo/p2p_choice.h"
#include "base/status.h"
#include "core/operation.h"
#include "core/p2p_schedule.h"
#include "transports/memory.h"
#include "tutti/tutti.h"

struct tuttiComm;

// The C API's tuttiWindow_t.
struct tuttiWindow {
  uint32_t id = 0;  // the communicator's registrations before this one: alike on every rank
  int rank = 0;     // this rank
  char* base = nullptr;
  size_t bytes = 0;
  bool symmetric = false;     // TUTTI_WIN_COLL_SYMMETRIC
  std::vector<char*> mapped;  // every rank's buffer in this process; empty: not mapped
  // Host windows (core/one_sided.h): where to put into each rank's buffer (keyBytes 0: not over
  // the connection to it, and not at this rank's index), and this rank's registrations of the
  // buffer, pinned in their transports' memory domains until the window goes.
  bool host = false;
  std::vector<tutti::RemoteMemory> remote;
  std::vector<std::pair<tutti::MemoryDomain*, const tutti::Registration*>> pinned;
};

namespace tutti {

class WindowRegistry {
 public:
  WindowRegistry() = default;
  // Unmaps the peers' buffers, unless device calls are still queued on them (then they stay
  // mapped: leaked, with a warning, rather than read after unmapping).
  ~WindowRegistry();
  WindowRegistry(const WindowRegistry&) = delete;
  WindowRegistry& operator=(const WindowRegistry&) = delete;

  // The p2p path's count of queued calls: while it is non-zero, mappings stay.
  void watchQueuedCalls(std::shared_ptr<const std::atomic<int>> queued) {
    queued_ = std::move(queued);
  }
  uint32_t nextId() const { return nextId_; }
  tuttiWindow* add(std::unique_ptr<tuttiWindow> window);
  bool contains(const tuttiWindow* window) const;
  // Unmaps the peers' buffers (a host window: unpins its registrations) and drops the window.
  void remove(const tuttiWindow* window);
  // The mapped symmetric window holding [p, p + bytes), or nullptr.
  const tuttiWindow* find(const void* p, size_t bytes) const;

 private:
  static void unmap(const tuttiWindow& window);
  std::vector<std::unique_ptr<tuttiWindow>> windows_;
  uint32_t nextId_ = 0;
  std::shared_ptr<const std::atomic<int>> queued_;
};

// Collective: every rank registers `size` bytes with `flags` of the same memory kind (host or
// device), or every rank gets tuttiInvalidUsage naming two that differ. `ready` is this rank's
// readiness (not ok: its queued calls did not finish): a rank not ready gets its own status back,
// the others tuttiTimeout naming it. Errors also the bootstrap's (tuttiTimeout,
// tuttiRemoteError).
Status checkWindowTerms(tuttiComm* comm, size_t size, int flags, bool host, const Status& ready);

// tuttiCommWindowRegister's work for device memory after the argument checks (collective; the
// caller holds the call lock). Errors: tuttiInvalidUsage (ranks register differently: every rank
// gets it), the bootstrap's (tuttiTimeout, tuttiRemoteError).
Status registerWindow(tuttiComm* comm, void* buff, size_t size, int flags, tuttiWindow_t* out);

// tuttiCommWindowDeregister's (collective; the caller holds the call lock, checked that the
// window is the communicator's, and waited for the p2p calls queued, without the lock: `drained`
// says whether they all ran). Every rank agrees: the window is dropped on all or on none.
// Errors: tuttiTimeout (some rank's calls are still queued), the bootstrap's.
Status deregisterWindow(tuttiComm* comm, tuttiWindow_t window, bool drained);

// Whether the call reads registered buffers: every buffer that `algorithm` reads across ranks
// lies in a mapped symmetric window. Then *peers holds every rank's buffers as mapped here (at
// this rank's offsets: the symmetric promise; for an in-place all-gather, the receive buffer's
// offset) and *check the windows' words; else both are left as they were and the call goes
// through the p2p windows.
bool findRegisteredBuffers(const tuttiComm* comm, const CollectiveArgs& args,
                           P2pAlgorithm algorithm, P2pPeerBuffers* peers, P2pCallCheck* check);

}  // namespace tutti
