// A connection to one peer over UCX (UCP's tag matching): every message is a tagged send that
// names its sender and its place in the connection's order, (sender rank << 40) | sequence
// number, and every receive matches exactly that tag, so messages pair in the order posted
// whatever path UCX gives them (eager or rendezvous, shared memory, TCP or an RDMA NIC). A size
// that differs from the receive's is caught by UCX (a longer message truncates) or by the length
// it reports, and is an error, never corruption. Completion comes from UCX's callbacks, reaped in
// progress(); a rank waits on the worker's event descriptor (ucp_worker_arm) and on the worker's
// wake descriptor, which its progress thread raises when it completed something (ucx_worker.h:
// that thread keeps UCX moving between calls). Every method holds the worker's lock.
//
// One-sided puts (ucx_put.cc; where the context has RMA and 64-bit atomics): putWithSignal is
// a ucp_put_nbx of the data into memory the peer exported (ucx_memory.h), a ucp_ep_flush_nbx,
// and once the flush completed (the data is in the peer's memory) an atomic add of 1 to the
// peer's signal word for this rank, so that the peer sees the data once it sees the signal. A
// fence would save the flush's round trip, but UCX 1.13's ucp_worker_fence orders operations per
// lane only, and a put striped over several NICs or an atomic on another lane could overtake the
// data. Over shared memory and RDMA NICs UCX writes the peer's memory directly; over TCP it
// emulates both with active messages that the peer's worker (its call or its progress thread)
// applies.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "transports/transport.h"
#include "transports/ucx/ucx_memory.h"
#include "transports/ucx/ucx_worker.h"

namespace tutti {

class UcxConnection : public Connection {
 public:
  // What a connection needs of the peer for puts: the peer's worker id and where its signal
  // words lie, with their packed rkey (empty where the peer's UCX has no RMA).
  struct PeerSignals {
    uint64_t worker = 0;
    uint64_t address = 0;
    std::vector<uint8_t> key;
  };
  // ep: this rank's endpoint to `peer` on worker, whose error handler reports into `state`.
  UcxConnection(int self, int peer, std::shared_ptr<UcxWorker> worker, ucp_ep_h ep,
                UcxEndpointState* state, std::shared_ptr<UcxMemoryDomain> domain,
                const PeerSignals& signals);
  // Frees what is still posted (UCX calls no callback for it after that) and closes the
  // endpoint: flushing what was sent when everything posted completed, at once otherwise.
  ~UcxConnection() override;

  int peer() const override { return peer_; }
  MemoryDomain& memoryDomain() override { return *domain_; }
  Status postSend(const Slice& data, TransferRequest* request) override;
  Status postRecv(const Slice& data, TransferRequest* request) override;
  bool supportsPut() const override { return putReady_; }
  Status exportMemory(const Registration& registration, RemoteMemory* out) override;
  Status putWithSignal(const Slice& src, const RemoteMemory& dst, size_t dstOffset, int signal,
                       TransferRequest* request) override;
  uint64_t readSignal(int signal) const override;
  Status progress(bool* progressed) override;
  bool busy() const override;
  bool armWait(std::vector<WaitSource>* sources) override;
  // "ucx: 1 send(s), 0 put(s) and 1 receive(s) to rank 3 not done, the oldest sent message #17
  // (4096 bytes), the oldest awaited message #16 (4096 bytes)".
  std::string describePending() const override;
  // Thread-safe: marks the connection shut and wakes a rank waiting on it; the thread that
  // progresses it then closes the endpoint at once, so that the peer sees its connection reset.
  void shutdown() override;

  // The tag of message `seq` from rank `sender`.
  static ucp_tag_t tagOf(int sender, uint64_t seq);
  static constexpr int kSeqBits = 40;

 private:
  struct Pending {
    UcxConnection* owner = nullptr;
    TransferRequest* request = nullptr;
    void* handle = nullptr;  // UCX's request
    bool isSend = false;
    bool isPut = false;         // a put's data, flush or signal (isSend too); seq counts puts
    int signalAfter = -1;       // a put's flush: the signal to raise once it completes
    ucp_rkey_h rkey = nullptr;  // a put's data: the rkey it uses
    uint64_t seq = 0;
    size_t bytes = 0;
    bool completed = false;  // UCX's callback ran
    ucs_status_t status = UCS_OK;
    size_t received = 0;  // receives: the length UCX reported
  };
  static void onSend(void* handle, ucs_status_t status, void* user);
  static void onRecv(void* handle, ucs_status_t status, const ucp_tag_recv_info_t* info,
                     void* user);
  // Frees every request still posted, receives once cancelled and called back (up to
  // kCancelMs); UCX calls no callback for them after. With the worker's lock held.
  void dropPosted();
  // Closes the endpoint at once (no flush), once. With the worker's lock held.
  void closeNow();
  // Destroys the unpacked rkeys, which UCX wants gone before their endpoint, but never under a
  // put still posted (a failed connection with puts in flight keeps their few bytes). With the
  // worker's lock held.
  void destroyRkeys();
  // The rkey of dst unpacked on this endpoint (cached by its packed bytes).
  Status rkeyFor(const uint8_t* packed, size_t bytes, ucp_rkey_h* out);
  static constexpr size_t kMaxCachedRkeys = 64;
  static constexpr int kCancelMs = 200;
  // Records a transfer about to be posted and fills the parameters that route UCX's callback to
  // it.
  Pending& track(TransferRequest* request, bool isSend, uint64_t seq, size_t bytes,
                 ucp_request_param_t* param);
  // Takes the handle UCX gave for the part just tracked: keeps it, or untracks a part done at
  // once (*atOnce) or failed.
  Status postPart(Pending& part, ucs_status_ptr_t handle, const char* what, bool* atOnce);
  // Adds 1 to the peer's signal word `signal` for this rank: a put's last part.
  Status postSignal(TransferRequest* request, uint64_t seq, int signal);
  static void partDone(TransferRequest* request);
  // With puts done: waits (up to kCancelMs) until the endpoint's operations completed at the
  // peer, so that their rkeys may go.
  void flushNow();
  // tuttiRemoteError once shutdown() or the destructor closed the endpoint.
  bool endpointGone() const { return closed_ || shut_.load(std::memory_order_acquire); }
  // The status of a completed transfer: ok, or why it failed.
  Status outcome(const Pending& pending) const;
  Status fail(Status status);

  int self_;
  int peer_;
  std::shared_ptr<UcxWorker> worker_;
  const UcxApi& api_;
  ucp_ep_h ep_;
  UcxEndpointState* state_;  // written by UCX's error handler, with the worker's lock held
  std::shared_ptr<UcxMemoryDomain> domain_;
  // Puts: the peer's signal words for this rank and their rkey; the peer's worker; this rank's
  // signal words for the peer; rkeys of memory the peer exported.
  ucp_rkey_h signalKey_ = nullptr;
  bool putReady_ = false;  // both sides mapped signal words and this side unpacked the peer's
  uint64_t remoteSignals_ = 0;
  uint64_t peerWorker_ = 0;
  const std::atomic<uint64_t>* signals_ = nullptr;
  struct CachedRkey {
    std::vector<uint8_t> packed;
    ucp_rkey_h rkey = nullptr;
  };
  std::vector<CachedRkey> rkeys_;
  uint64_t putSeq_ = 0;
  std::list<Pending> pending_;  // stable addresses: UCX's callbacks hold them
  uint64_t sendSeq_ = 0;
  uint64_t recvSeq_ = 0;
  bool closed_ = false;
  std::atomic<bool> shut_{false};
  Status failure_ = Status::ok();
};

}  // namespace tutti
