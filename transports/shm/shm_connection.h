// A shared-memory connection to a rank on the same host: two single-producer single-consumer
// FIFOs (one per direction) of fixed slots in a POSIX shared-memory segment. A small message is
// copied into slots by the sender and out of them by the receiver (two copies, no system call on
// the fast path: eager). A message of at least TUTTI_SHM_CMA_MIN_BYTES, when cross-memory attach
// is permitted, is sent as a descriptor of the sender's buffer (address, length) in one slot; the
// receiver copies straight from the sender's memory with process_vm_readv (one copy: rendezvous)
// and then counts it in the FIFO's rendezvousDone word, which completes the send. A rank about to
// block sets a "sleeping" flag; whoever then moves the FIFO rings the pair's doorbell (a byte on a
// Unix socket between the two ranks), which the executor poll()s like any other descriptor. The
// doorbell is a Unix stream socket per pair, so that a peer that dies (its socket closed by the
// kernel) is seen at once, as with TCP.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>

#include "base/socket.h"
#include "transports/transport.h"

namespace tutti {

// The layout of one direction in the segment: control words, then per-slot lengths, then slots.
struct ShmFifoControl {
  alignas(64) std::atomic<uint64_t> head;  // pieces written (by the sender)
  alignas(64) std::atomic<uint64_t> tail;  // pieces read (by the receiver)
  alignas(64) std::atomic<uint32_t> readerSleeping;
  alignas(64) std::atomic<uint32_t> writerSleeping;
  alignas(64) std::atomic<uint64_t> rendezvousDone;  // rendezvous messages read (by the receiver)
  alignas(64) std::atomic<uint32_t> senderClosed;    // the sender shut down or was destroyed
};

struct ShmFifo {
  ShmFifoControl* control = nullptr;
  uint64_t* pieceBytes = nullptr;  // length of the piece in each slot
  char* slots = nullptr;
};

class ShmConnection : public Connection {
 public:
  // cmaMinBytes: messages of at least this size go by rendezvous (0: never; the peer must be
  // able to read this process's memory). peerPid: the peer's process, read by rendezvous.
  ShmConnection(int peer, void* segment, size_t segmentBytes, ShmFifo out, ShmFifo in, int slots,
                size_t slotBytes, Fd doorbell, int peerPid, size_t cmaMinBytes);
  ~ShmConnection() override;

  int peer() const override { return peer_; }
  Status postSend(const void* data, size_t bytes, TransferRequest* request) override;
  Status postRecv(void* data, size_t bytes, TransferRequest* request) override;
  // A free slot when nothing is queued, the message fits one slot and goes eager.
  char* sendBuffer(size_t bytes) override;
  Status commitSend(size_t bytes, TransferRequest* request) override;
  Status progress(bool* progressed) override;
  bool addPollFds(std::vector<pollfd>* fds) const override;
  void shutdown() override;

  // Bytes of the segment for one pair (both directions).
  static size_t segmentBytes(int slots, size_t slotBytes);
  // Where each direction lies in a mapped segment; direction 0 carries lower -> higher rank.
  static ShmFifo fifoAt(void* segment, int direction, int slots, size_t slotBytes);

 private:
  struct Transfer {
    TransferRequest* request;
    char* data;
    size_t bytes;
    size_t done = 0;
    bool started = false;        // a 0-byte message still takes one piece
    uint64_t rendezvousSeq = 0;  // a rendezvous send completes when rendezvousDone reaches it
  };

  bool sendReady() const;
  bool recvReady() const;
  bool ackReady() const;
  void ring() const;
  Status readFromPeer(Transfer* recv, uint64_t address, uint64_t bytes);

  int peer_;
  void* segment_;
  size_t segmentLength_;
  ShmFifo out_;
  ShmFifo in_;
  uint64_t slots_;
  size_t slotBytes_;
  Fd doorbell_;
  int peerPid_;
  size_t cmaMinBytes_;
  uint64_t rendezvousPosted_ = 0;
  std::deque<Transfer> sends_;
  std::deque<Transfer> awaitingAck_;  // rendezvous sends the peer has not read yet
  std::deque<Transfer> recvs_;
  bool closed_ = false;      // this end shut down
  bool peerClosed_ = false;  // the peer said so, or the doorbell reached end of stream
  // Set when the executor poll()ed the doorbell: only then can it hold bytes or an end of
  // stream worth a system call to read.
  mutable bool doorbellPolled_ = false;
};

}  // namespace tutti
