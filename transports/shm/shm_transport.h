// The shared-memory transport, for ranks on the same host (the communicator decides which peers
// qualify). Setup, collective over the bootstrap: every rank listens on an abstract Unix socket
// and allgathers a name nonce; the lower rank of each pair creates the pair's POSIX shared-memory
// segment; after a barrier the higher rank maps it and connects the pair's doorbell socket; after
// a second barrier the segments are unlinked (they live while mapped). If any rank fails, every
// rank learns it from the last allgather and the communicator falls back to TCP. Last, every
// rank probes whether it may read and write its peers' memory (process_vm_readv/_writev); only
// if all may do large messages take the single-copy path and one-sided puts work, otherwise
// everything goes through the FIFOs.
#pragma once

#include <memory>

#include "base/params.h"
#include "transports/shm/shm_params.h"
#include "transports/transport.h"

namespace tutti {

class ShmTransport : public Transport {
 public:
  ShmTransport(const Params& params, const ShmParams& shm) : params_(params), shm_(shm) {}
  const char* name() const override { return "shm"; }
  std::string description() const override { return cmaEnabled_ ? "shm/cma" : "shm"; }
  Status connect(SetupChannel& setup, const std::vector<int>& peers,
                 std::vector<std::unique_ptr<Connection>>* out) override;

 private:
  Params params_;
  ShmParams shm_;
  bool cmaEnabled_ = false;
  std::shared_ptr<MemoryDomain> domain_ = std::make_shared<MemoryDomain>();
};

}  // namespace tutti
