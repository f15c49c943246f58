// One UCP context and worker, shared by the connections of one UcxTransport::connect: every
// connection's endpoint lives on it, its tag matching serves them all, and one event descriptor
// wakes a rank for any of them. It outlives its connections (each holds it) so that endpoints
// closing as connections go can finish before the worker is destroyed.
//
// UCX moves data only while its worker is progressed, on both sides: bytes of a released send
// may wait in UCX's TCP buffers, and a rendezvous needs its acknowledgment sent. A rank whose
// call has returned calls nothing until its next call, so a thread of the worker's own
// progresses it while no call does (NCCL's proxy thread does the same for its network plugins):
// it sleeps on the event descriptor, and stands aside while a call progressed the worker within
// the last kIdleUs. Every use of the worker holds lock().
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/status.h"
#include "transports/ucx/ucx_api.h"

namespace tutti {

// What an endpoint's error handler reports, kept by the worker so that a handler UCX calls
// after its connection is gone still writes to live memory.
class UcxWorker;
struct UcxEndpointState {
  UcxWorker* worker = nullptr;
  ucs_status_t error = UCS_OK;  // written on the thread in ucp_worker_progress
};

class UcxWorker {
 public:
  // A context with tag matching, wakeup and (where UCX offers them) RMA and atomics, for
  // `expectedPeers` endpoints, and its worker. Errors: tuttiSystemError with UCX's reason.
  static Status create(const UcxApi* api, int expectedPeers, std::shared_ptr<UcxWorker>* out);
  // Stops the progress thread, waits (up to kCloseMs in all) for the endpoints still closing,
  // then destroys the worker and the context.
  ~UcxWorker();
  UcxWorker(const UcxWorker&) = delete;
  UcxWorker& operator=(const UcxWorker&) = delete;

  const UcxApi& api() const { return *api_; }
  ucp_worker_h handle() const { return worker_; }
  ucp_context_h context() const { return context_; }
  // Zeroed words that live until the worker is destroyed: a peer's atomic may still land in
  // them while endpoints close, after the connections and their memory domain are gone.
  std::atomic<uint64_t>* allocateSignals(size_t words);
  // Random per worker: tells a RemoteMemory of this communicator from one of another.
  uint64_t id() const { return id_; }
  // Whether the context has RMA and 64-bit atomics (one-sided puts).
  bool hasPut() const { return hasPut_; }
  // Held for every call into UCX on this worker (it is created serialized).
  std::mutex& lock() { return mutex_; }
  // A call progressed the worker now (with lock() held): the progress thread stands aside.
  void calledNow();
  // Starts the progress thread (after the endpoints exist); stops it (idempotent; also at
  // process exit, for communicators never destroyed).
  void startProgressThread();
  void stopProgressThread();
  // Counts UCX callbacks run (with lock() held), so the progress thread knows when to wake a
  // rank asleep while it consumed the events that rank waits on.
  void completed() { ++completions_; }
  // A descriptor only the ranks' waits read: readable after wake(). drainWake() empties it.
  int wakeFd() const { return wakeFd_; }
  void wake();
  void drainWake();
  int eventFd() const { return eventFd_; }
  // The worker's address, for peers to create endpoints to.
  Status address(std::vector<uint8_t>* out) const;
  UcxEndpointState* newEndpointState();
  // Starts closing ep (flushing what was sent when `flush`, else at once: the peer sees its
  // connection reset); the worker finishes it before it is destroyed.
  void close(ucp_ep_h ep, bool flush);

  static constexpr int kCloseMs = 2000;
  static constexpr int kIdleUs = 1000;

 private:
  UcxWorker() = default;
  void progressWhileIdle();
  const UcxApi* api_ = nullptr;
  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  bool hasPut_ = false;
  uint64_t id_ = 0;
  int eventFd_ = -1;
  std::vector<std::unique_ptr<UcxEndpointState>> endpoints_;
  std::vector<void*> closing_;  // close requests in progress
  std::mutex mutex_;
  std::atomic<int64_t> lastCallNs_{0};
  uint64_t completions_ = 0;  // with mutex_ held
  int stopFd_ = -1;           // eventfd: the destructor wakes the thread
  int wakeFd_ = -1;           // eventfd: the thread (or a shutdown) wakes a rank
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::unique_ptr<std::atomic<uint64_t>[]> signals_;  // freed after the worker is destroyed
};

}  // namespace tutti
