// The p2p window: device memory each rank of a one-host communicator maps into every peer, so
// that device collectives read and write peers' memory directly (core/p2p_collective.h).
//
// Each rank allocates one window on its device: a flag area of kP2pFlagBytes (one 64-bit slot
// per rank, raised by the barriers of device/p2p_launch.h) and TUTTI_P2P_WINDOW_BYTES of data
// (rank 0's value). Every rank maps every peer's window (core/p2p_mapping.h); the mappings live
// as long as the communicator.
//
// Setup is collective and happens at a communicator's first device collective that may use the
// path: every rank makes that call, so every rank is there. If any rank cannot allocate, export,
// import or reach a peer, all ranks agree (one allgather) and use the staged path instead, for
// good (INFO says why).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <atomic>
#include <memory>
#include <vector>

#include "base/status.h"
#include "core/p2p_schedule.h"

struct tuttiComm;

namespace tutti {

constexpr size_t kP2pFlagBytes = P2pLayout::kFlagBytes;  // the flag area at each window's start

// Waits until `queued` (P2pWindow::queuedCalls) is 0, at most timeoutMs; false when it is not.
bool waitForNoQueuedCalls(const std::atomic<int>& queued, int timeoutMs);

class P2pWindow {
 public:
  ~P2pWindow();  // waits for calls still queued on streams (the communicator's timeout), unmaps
  P2pWindow(const P2pWindow&) = delete;
  P2pWindow& operator=(const P2pWindow&) = delete;

  const P2pLayout& layout() const { return layout_; }
  // Barriers issued so far: the same on every rank, since every rank issues the same calls.
  uint64_t* barrierCounter() { return &barriers_; }
  uint64_t* errorWord() const { return layout_.error; }
  int timeoutMs() const { return layout_.timeoutMs; }

  // All-reduces issued by each algorithm (P2pAlgorithm's order), for logs and tests.
  uint64_t allReduces(P2pAlgorithm algorithm) const {
    return allReduces_[static_cast<size_t>(algorithm)];
  }
  void countAllReduce(P2pAlgorithm algorithm) { ++allReduces_[static_cast<size_t>(algorithm)]; }
  // Calls that read registered buffers directly (core/p2p_registration.h), for logs and tests.
  uint64_t registeredCalls() const { return registeredCalls_; }
  void countRegisteredCall() { ++registeredCalls_; }
  // The next call's number on this path, from 1: alike on every rank that makes the same calls
  // (the sequence in its call descriptor).
  uint64_t nextCall() { return ++calls_; }
  uint64_t calls() const { return calls_; }  // issued so far

  // Ends every barrier still queued or waiting at once (tuttiCommAbort): the error word becomes
  // kP2pAborted unless a timeout set it first.
  void abort();

  // Counts a call queued on a stream until the host function `callDone` (queued after the call's
  // last use of the windows, with callStarted's result as its argument) ran; the destructor
  // waits for them.
  void* callStarted();
  static void callDone(void* arg);
  // Waits until no call is queued any more, at most TUTTI_TIMEOUT_MS; false when some still are.
  bool waitForQueuedCalls() const { return waitForNoQueuedCalls(*inFlight_, layout_.timeoutMs); }
  // Calls queued and not done, shared with what must outlive them (registered windows' mappings).
  std::shared_ptr<const std::atomic<int>> queuedCalls() const { return inFlight_; }

 private:
  friend Status setupP2pWindow(tuttiComm* comm, std::unique_ptr<P2pWindow>* out, bool* usable);
  P2pWindow() = default;

  // windows by rank (imported ones closed with closeImported); error: a pinned pool flag, never
  // freed (streams may still write it).
  P2pLayout layout_;
  void* own_ = nullptr;  // allocDevice, freed last
  uint64_t barriers_ = 0;
  uint64_t allReduces_[2] = {0, 0};
  uint64_t registeredCalls_ = 0;
  uint64_t calls_ = 0;
  std::shared_ptr<std::atomic<int>> inFlight_ = std::make_shared<std::atomic<int>>(0);
};

// Collective over the communicator's bootstrap: sets up the window, or agrees with every rank
// that the path is not available (*usable false, *out empty, INFO says why). Errors only from the
// bootstrap itself (tuttiTimeout, tuttiRemoteError): the communicator is then unusable.
Status setupP2pWindow(tuttiComm* comm, std::unique_ptr<P2pWindow>* out, bool* usable);

}  // namespace tutti
