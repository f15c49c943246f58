// A connection to one peer over UCX (UCP's tag matching): every message is a tagged send that
// names its sender and its place in the connection's order, (sender rank << 40) | sequence
// number, and every receive matches exactly that tag, so messages pair in the order posted
// whatever path UCX gives them (eager or rendezvous, shared memory, TCP or an RDMA NIC). A size
// that differs from the receive's is caught by UCX (a longer message truncates) or by the length
// it reports, and is an error, never corruption. Completion comes from UCX's callbacks, reaped in
// progress(); a rank waits on the worker's event descriptor (ucp_worker_arm) and on the worker's
// wake descriptor, which its progress thread raises when it completed something (ucx_worker.h:
// that thread keeps UCX moving between calls). Every method holds the worker's lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "transports/transport.h"
#include "transports/ucx/ucx_worker.h"

namespace tutti {

class UcxConnection : public Connection {
 public:
  // ep: this rank's endpoint to `peer` on worker, whose error handler reports into `state`.
  UcxConnection(int self, int peer, std::shared_ptr<UcxWorker> worker, ucp_ep_h ep,
                UcxEndpointState* state, std::shared_ptr<MemoryDomain> domain);
  // Frees what is still posted (UCX calls no callback for it after that) and closes the
  // endpoint: flushing what was sent when everything posted completed, at once otherwise.
  ~UcxConnection() override;

  int peer() const override { return peer_; }
  MemoryDomain& memoryDomain() override { return *domain_; }
  Status postSend(const Slice& data, TransferRequest* request) override;
  Status postRecv(const Slice& data, TransferRequest* request) override;
  Status progress(bool* progressed) override;
  bool busy() const override;
  bool armWait(std::vector<WaitSource>* sources) override;
  // "ucx: 1 send(s) and 1 receive(s) to rank 3 not done, the oldest sent message #17 (4096
  // bytes), the oldest awaited message #16 (4096 bytes)".
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
  static constexpr int kCancelMs = 200;
  // Records a transfer about to be posted and fills the parameters that route UCX's callback to
  // it.
  Pending& track(TransferRequest* request, bool isSend, uint64_t seq, size_t bytes,
                 ucp_request_param_t* param);
  // The status of a completed transfer: ok, or why it failed.
  Status outcome(const Pending& pending) const;
  Status fail(Status status);

  int self_;
  int peer_;
  std::shared_ptr<UcxWorker> worker_;
  const UcxApi& api_;
  ucp_ep_h ep_;
  UcxEndpointState* state_;  // written by UCX's error handler, with the worker's lock held
  std::shared_ptr<MemoryDomain> domain_;
  std::list<Pending> pending_;  // stable addresses: UCX's callbacks hold them
  uint64_t sendSeq_ = 0;
  uint64_t recvSeq_ = 0;
  bool closed_ = false;
  std::atomic<bool> shut_{false};
  Status failure_ = Status::ok();
};

}  // namespace tutti
