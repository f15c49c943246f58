// A shared-memory connection to a rank on the same host: two single-producer single-consumer
// FIFOs (one per direction) of fixed slots in a POSIX shared-memory segment. A message is copied
// into slots by the sender and out of them by the receiver (two copies, no system call on the
// fast path). A rank about to block sets a "sleeping" flag; whoever then moves the FIFO rings the
// pair's doorbell (a byte on a Unix socket between the two ranks), which the executor poll()s like
// any other descriptor. The doorbell is a Unix stream socket per pair, so that a peer that dies
// (its socket closed by the kernel) is seen at once, as with TCP.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>

#include "core/socket.h"
#include "transports/transport.h"

namespace tutti {

// The layout of one direction in the segment: control words, then per-slot lengths, then slots.
struct ShmFifoControl {
  alignas(64) std::atomic<uint64_t> head;  // pieces written (by the sender)
  alignas(64) std::atomic<uint64_t> tail;  // pieces read (by the receiver)
  alignas(64) std::atomic<uint32_t> readerSleeping;
  alignas(64) std::atomic<uint32_t> writerSleeping;
};

struct ShmFifo {
  ShmFifoControl* control = nullptr;
  uint64_t* pieceBytes = nullptr;  // length of the piece in each slot
  char* slots = nullptr;
};

class ShmConnection : public Connection {
 public:
  ShmConnection(int peer, void* segment, size_t segmentBytes, ShmFifo out, ShmFifo in, int slots,
                size_t slotBytes, Fd doorbell);
  ~ShmConnection() override;

  int peer() const override { return peer_; }
  Status postSend(const void* data, size_t bytes, TransferRequest* request) override;
  Status postRecv(void* data, size_t bytes, TransferRequest* request) override;
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
    bool started = false;  // a 0-byte message still takes one piece
  };

  bool sendReady() const;
  bool recvReady() const;
  void ring() const;

  int peer_;
  void* segment_;
  size_t segmentLength_;
  ShmFifo out_;
  ShmFifo in_;
  uint64_t slots_;
  size_t slotBytes_;
  Fd doorbell_;
  std::deque<Transfer> sends_;
  std::deque<Transfer> recvs_;
  bool closed_ = false;      // this end shut down
  bool peerClosed_ = false;  // the doorbell reached end of stream
};

}  // namespace tutti
