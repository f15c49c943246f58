// The transport interface. A transport connects this rank to a set of peers (collectively,
// through the bootstrap) and gives one Connection per peer; a Connection moves messages in both
// directions with completion the executor polls. The executor knows only this interface, and a
// transport knows nothing of plans or algorithms.
#pragma once

#include <poll.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "base/params.h"
#include "base/status.h"
#include "transports/setup_channel.h"

namespace tutti {

// One posted transfer. The poster owns it and keeps it alive (and unmoved) until done is set.
struct TransferRequest {
  bool done = false;
  int pendingParts = 0;  // transport bookkeeping
};

class Connection {
 public:
  virtual ~Connection() = default;

  virtual int peer() const = 0;

  // Queue a message. On one connection and in one direction, messages are delivered in the order
  // posted; each receive must have the size of the send it pairs with (a mismatch is
  // tuttiInternalError). data must stay valid until request->done.
  virtual Status postSend(const void* data, size_t bytes, TransferRequest* request) = 0;
  virtual Status postRecv(void* data, size_t bytes, TransferRequest* request) = 0;

  // In-place sending, for transports with memory the peer reads (shared-memory slots): where
  // the next message of `bytes` can be written so that it needs no copy of its own, or nullptr
  // when that is not possible now (no room, a message queued before it, a size that goes another
  // way); the message then goes by postSend. After writing there, commitSend(bytes, request)
  // sends it, in order with the connection's other messages, and completes the request at once.
  virtual char* sendBuffer(size_t bytes) { return nullptr; }
  virtual Status commitSend(size_t bytes, TransferRequest* request) {
    return makeError(tuttiInternalError, "commitSend without a sendBuffer");
  }

  // Moves what can move without blocking; *progressed is set when bytes moved. A lost peer is
  // tuttiRemoteError.
  virtual Status progress(bool* progressed) = 0;

  // Descriptors to poll() on while nothing progresses (only those with work pending). Returns
  // true when progress is possible right now (e.g. a shared-memory peer moved while this rank
  // was preparing to block): the caller then polls again instead of sleeping.
  virtual bool addPollFds(std::vector<pollfd>* fds) const = 0;

  // Closes the connection so that the peer sees it lost (abort, error).
  virtual void shutdown() = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual const char* name() const = 0;
  // The name plus the paths in use after connect, e.g. "shm/cma" (for logs and tutti-perf).
  virtual std::string description() const { return name(); }

  // Collective over all ranks of the bootstrap: each rank names the peers it needs (the sets are
  // symmetric: a names b iff b names a). out[i] connects to peers[i].
  virtual Status connect(SetupChannel& setup, const std::vector<int>& peers,
                         std::vector<std::unique_ptr<Connection>>* out) = 0;
};

}  // namespace tutti
