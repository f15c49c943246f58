// The transport interface. A transport connects this rank to a set of peers (collectively,
// through a SetupChannel) and gives one Connection per peer. The executor knows only this
// interface and the ProgressEngine that drives it; a transport knows nothing of plans, data
// types or algorithms.
//
// A connection offers:
// - two-sided messages (postSend/postRecv of registered memory), delivered in order per
//   direction;
// - transport-owned staging in both directions, so that data can be written straight into
//   transport memory the peer reads (sendStaging/commitSend) and reduced straight out of
//   transport memory a message arrived in (postRecvStaged/releaseRecv);
// - optionally a one-sided put-with-signal into memory the peer registered and exported;
// - completion by test (TransferRequest::done after progress()) and a wait source for blocking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "transports/memory.h"
#include "transports/setup_channel.h"

namespace tutti {

// One posted transfer. The poster owns it and keeps it alive (and unmoved) until done is set.
struct TransferRequest {
  bool done = false;
  // postRecvStaged: where the message lies in transport memory once done, until releaseRecv.
  const char* staged = nullptr;
  int pendingParts = 0;  // transport bookkeeping
};

// How a connection lets a waiting rank sleep: a descriptor that becomes ready (poll() events)
// when the connection may progress. A connection without one (fd < 0) is polled by yielding.
struct WaitSource {
  int fd = -1;
  short events = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;

  virtual int peer() const = 0;
  // Where this connection's memory is registered (shared by the transport's connections).
  virtual MemoryDomain& memoryDomain() = 0;

  // --- Two-sided. On one connection and in one direction, messages are delivered in the order
  // posted; each receive must have the size of the send it pairs with (a mismatch is
  // tuttiInternalError). The memory must stay valid until request->done. A send that is done
  // reaches the peer with no further call on this connection: a call returns once its requests
  // are done, and nothing may progress the connection until the next one.
  virtual Status postSend(const Slice& data, TransferRequest* request) = 0;
  virtual Status postRecv(const Slice& data, TransferRequest* request) = 0;
  // postSend that moves nothing before the next progress() or postSend of this connection, so
  // that a message and the ones posted right after it may leave together (a call's descriptor
  // and its first data: over loopback TCP each segment costs several microseconds). A transport
  // that does not batch sends it as postSend does.
  virtual Status queueSend(const Slice& data, TransferRequest* request) {
    return postSend(data, request);
  }

  // --- Staging owned by the transport.
  // Send side: where the next message of `bytes` can be written so that it needs no copy of its
  // own, or nullptr when not possible now (no room, a message queued before it that it cannot go
  // with, a size that goes another way); it then goes by postSend. After writing there,
  // commitSend(bytes, request) sends it, in order with the connection's other messages, and
  // completes the request at once. Nothing else may be posted to or progressed on the connection
  // between the two.
  virtual char* sendStaging(size_t bytes) { return nullptr; }
  virtual Status commitSend(size_t bytes, TransferRequest* request) {
    return makeError(tuttiInternalError, "commitSend without a sendStaging");
  }
  // Receive side: whether a message of `bytes` can be received in place in transport memory.
  // postRecvStaged posts such a receive (in order with postRecv); once done, request->staged
  // points at the message, readable until releaseRecv(request), which must come before any later
  // receive of the connection completes.
  virtual bool stagesRecv(size_t bytes) const { return false; }
  virtual Status postRecvStaged(size_t bytes, TransferRequest* request) {
    return makeError(tuttiInternalError, "postRecvStaged on a connection without staging");
  }
  virtual Status releaseRecv(TransferRequest* request) {
    return makeError(tuttiInternalError, "releaseRecv on a connection without staging");
  }

  // --- One-sided (where supportsPut()). The owner of some registered memory exports it;
  // the RemoteMemory travels to the peer by any channel; the peer puts into it. A put writes
  // `src` at dst.address + dstOffset and then adds 1 to the owner's signal `signal` (0 <=
  // signal < kSignals), so that an owner that sees the signal sees the data. The request
  // completes when src may be reused. Errors: tuttiInvalidArgument for a range outside dst or a
  // bad signal, tuttiRemoteError when the owner closed, tuttiInvalidUsage where unsupported.
  static constexpr int kSignals = 8;
  virtual bool supportsPut() const { return false; }
  virtual Status exportMemory(const Registration& registration, RemoteMemory* out) {
    return makeError(tuttiInvalidUsage, "this transport has no one-sided put");
  }
  virtual Status putWithSignal(const Slice& src, const RemoteMemory& dst, size_t dstOffset,
                               int signal, TransferRequest* request) {
    return makeError(tuttiInvalidUsage, "this transport has no one-sided put");
  }
  // How many puts of the peer into this rank's memory have raised `signal`.
  virtual uint64_t readSignal(int signal) const { return 0; }

  // --- Completion and waiting.
  // Moves what can move without blocking; *progressed is set when bytes moved. A lost peer is
  // tuttiRemoteError.
  virtual Status progress(bool* progressed) = 0;
  // Whether work is posted that has not completed (the engine waits only on such connections).
  virtual bool busy() const = 0;
  // About to block: arms the connection's wait sources (e.g. announces sleep to a shared-memory
  // peer) and appends them to *sources. Returns true when progress became possible meanwhile
  // (the engine then polls again instead of sleeping).
  virtual bool armWait(std::vector<WaitSource>* sources) = 0;

  // For a timeout's message: what is posted and not done, by path where the connection has
  // several (tcp: per socket and rail, so that one stalled rail shows beside the ones that
  // flow); "" when it has nothing to add.
  virtual std::string describePending() const { return ""; }

  // Closes the connection so that the peer sees it lost (abort, error). Thread-safe against a
  // thread in progress() or another call on this connection: an abort or the watch's verdict
  // calls it from another thread to end a call in progress.
  virtual void shutdown() = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual const char* name() const = 0;
  // The name plus the paths in use after connect, e.g. "shm/cma" (for logs and tutti-perf).
  virtual std::string description() const { return name(); }

  // Collective over all ranks of the setup channel: each rank names the peers it needs (the
  // sets are symmetric: a names b iff b names a). out[i] connects to peers[i].
  virtual Status connect(SetupChannel& setup, const std::vector<int>& peers,
                         std::vector<std::unique_ptr<Connection>>* out) = 0;
};

}  // namespace tutti
