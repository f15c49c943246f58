// This rank's memory as its UCX peers reach it. Two kinds:
// - the registrations the executor makes: two-sided messages need no mapping of their own (UCX
//   registers what its rendezvous needs), so a registration is mapped with ucp_mem_map only
//   when it is first exported for one-sided puts, and unmapped when the cache evicts it;
// - the signal words that peers' puts raise, one row of Connection::kSignals per peer, mapped
//   at connect so that every peer can add to its row with a 64-bit atomic.
// Used under the worker's lock (the context's registration cache is shared with the worker that
// the progress thread drives).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "transports/memory.h"
#include "transports/ucx/ucx_worker.h"

namespace tutti {

// What a RemoteMemory's key holds for ucx: who exported it, then UCX's packed rkey. A put
// checks the owner against its connection's peer, so that memory of another rank or of another
// communicator is refused rather than handed to UCX.
struct UcxKeyHeader {
  int32_t ownerRank = -1;
  uint32_t reserved = 0;
  uint64_t ownerWorker = 0;  // UcxWorker::id() of the exporter
};

class UcxMemoryDomain : public MemoryDomain {
 public:
  explicit UcxMemoryDomain(std::shared_ptr<UcxWorker> worker);
  ~UcxMemoryDomain() override;

  // Maps nranks rows of signal words and packs their rkey. Errors: tuttiSystemError with UCX's
  // reason.
  Status mapSignals(int nranks);
  // The signal words' address and packed rkey, for the peers (empty before mapSignals).
  uint64_t signalAddress() const { return reinterpret_cast<uint64_t>(signals_); }
  const std::vector<uint8_t>& signalKey() const { return signalKey_; }
  // The row that `peer`'s puts raise.
  const std::atomic<uint64_t>* signalsOf(int peer) const;

  // The whole of `registration` for the peers of rank `self`: mapped on its first export.
  // Errors: tuttiInvalidArgument for memory that is not host memory, tuttiSystemError when UCX
  // cannot map it or its rkey is longer than a RemoteMemory holds.
  Status exportRegistration(const Registration& registration, int self, RemoteMemory* out);

 protected:
  void deregister(Registration* registration) override;

 private:
  Status map(void* address, size_t bytes, ucp_mem_h* out);
  Status pack(ucp_mem_h memory, std::vector<uint8_t>* out);

  std::shared_ptr<UcxWorker> worker_;
  std::unordered_map<const Registration*, ucp_mem_h> mapped_;
  std::atomic<uint64_t>* signals_ = nullptr;  // the worker's (UcxWorker::allocateSignals)
  int signalRows_ = 0;
  ucp_mem_h signalsMemory_ = nullptr;
  std::vector<uint8_t> signalKey_;
};

}  // namespace tutti
