// The executor: the only code that moves bytes. It runs one rank's plan over the connections
// the communicator holds, without knowing the algorithm that made the plan or the transport
// under a connection.
//
// Each step is cut into slices of TUTTI_SLICE_BYTES. Receives are posted ahead, at most
// TUTTI_SLICES_IN_FLIGHT per peer, so several slices are in flight on every connection while
// earlier ones are reduced and forwarded. A receive that only stores (recv, recvCopySend) lands
// straight in its destination when no unfinished send or earlier slice touches that memory;
// otherwise, and for receives that reduce, it lands in a staging slot. Slices complete strictly
// in plan order, and a slice that writes memory an unfinished send still reads waits for it.
// Waiting spins for TUTTI_SPIN_US, then blocks in poll(); every wait ends after the
// communicator's inactivity timeout.
#pragma once

#include <atomic>
#include <deque>
#include <vector>

#include "algo/plan.h"
#include "base/params.h"
#include "base/status.h"
#include "transports/transport.h"

namespace tutti {

class Executor {
 public:
  Executor(const Params& params, const std::atomic<bool>* abortFlag)
      : params_(params), abortFlag_(abortFlag) {}

  // connections[peer] for every peer the plan names.
  Status run(const Plan& plan, const void* sendbuff, void* recvbuff, tuttiDataType_t type,
             tuttiRedOp_t op, const std::vector<Connection*>& connections);

 private:
  struct SliceOp {
    const Step* step;
    size_t offset;  // elements from the step's start
    size_t count;
    int slot = -1;        // staging slot holding its received data
    bool direct = false;  // received straight into the destination; the slot only counts
  };
  struct PendingSend {
    TransferRequest request;
    const char* data;
    size_t bytes;
  };
  struct Staging {
    std::vector<char> memory;
    std::vector<int> freeSlots;
  };

  Params params_;
  const std::atomic<bool>* abortFlag_;
  std::vector<Staging> staging_;  // by peer rank
  std::vector<char> scratch_;
  // Per-call state, kept between calls so that a small call allocates nothing.
  std::vector<SliceOp> ops_;
  std::vector<TransferRequest> recvRequests_;
  std::deque<PendingSend> sends_;
  std::vector<Connection*> active_;
  std::vector<pollfd> fds_;
};

}  // namespace tutti
