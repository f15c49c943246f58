// A shared-memory connection to a rank on the same host: two single-producer single-consumer
// FIFOs (one per direction) of fixed slots in a POSIX shared-memory segment.
//
// Eager: a small message is copied into slots by the sender and out of them by the receiver (two
// copies, no system call on the fast path). The sender may write straight into a slot
// (sendStaging) and the receiver may read a message where it lies (postRecvStaged), which saves
// one of the two copies for data that is reduced or forwarded anyway.
//
// Single copy: a message of at least TUTTI_SHM_CMA_MIN_BYTES, when cross-memory attach is
// permitted, is put by the sender straight into the receiver's buffer. The receiver announces each
// such receive with a ready-to-receive record (address, length) in the segment; the sender writes
// the message there with process_vm_writev (the one-sided put that putWithSignal also offers) and
// then posts a marker in the FIFO, which completes the receive in order with the eager messages
// and lets the receiver check the length.
//
// Waiting: a rank about to block sets a "sleeping" flag; whoever then moves the FIFO or the
// ready-to-receive ring rings the pair's doorbell (a byte on a Unix stream socket between the two
// ranks), which the progress engine poll()s. A peer that dies closes the socket, which is seen at
// once, as with TCP.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>

#include "base/socket.h"
#include "transports/transport.h"

namespace tutti {

// A receive announced to the sender: where the sender puts the message.
struct ShmReadyToReceive {
  uint64_t address;
  uint64_t bytes;
};

// The control block of one direction (sender -> receiver) in the segment.
struct ShmFifoControl {
  static constexpr int kReadySlots = 64;
  alignas(64) std::atomic<uint64_t> head;  // pieces written (by the sender)
  alignas(64) std::atomic<uint64_t> tail;  // pieces read (by the receiver)
  alignas(64) std::atomic<uint32_t> readerSleeping;
  alignas(64) std::atomic<uint32_t> writerSleeping;
  alignas(64) std::atomic<uint32_t> senderClosed;  // the sender shut down or was destroyed
  alignas(64) std::atomic<uint32_t> putting;       // the sender is writing into receiver memory
  alignas(64) std::atomic<uint64_t> readyHead;     // ready-to-receive records (by the receiver)
  alignas(64) std::atomic<uint64_t> readyTail;     // records consumed (by the sender)
  alignas(64) std::atomic<uint64_t> signals[Connection::kSignals];  // raised by the sender's puts
  ShmReadyToReceive ready[kReadySlots];  // written by the receiver, read by the sender
};

struct ShmFifo {
  ShmFifoControl* control = nullptr;
  uint64_t* pieceBytes = nullptr;  // length of the piece in each slot
  char* slots = nullptr;
};

class ShmConnection : public Connection {
 public:
  // cmaMinBytes: messages of at least this size are put straight into the receiver's memory (0:
  // never; this process must be able to write the peer's memory). peerPid: the peer's process.
  ShmConnection(int peer, void* segment, size_t segmentBytes, ShmFifo out, ShmFifo in, int slots,
                size_t slotBytes, Fd doorbell, int peerPid, size_t cmaMinBytes,
                std::shared_ptr<MemoryDomain> domain);
  ~ShmConnection() override;

  int peer() const override { return peer_; }
  MemoryDomain& memoryDomain() override { return *domain_; }
  Status postSend(const Slice& data, TransferRequest* request) override;
  Status postRecv(const Slice& data, TransferRequest* request) override;
  // A free slot when nothing is queued, the message fits one slot and goes eager.
  char* sendStaging(size_t bytes) override;
  Status commitSend(size_t bytes, TransferRequest* request) override;
  bool stagesRecv(size_t bytes) const override {
    return bytes > 0 && bytes <= slotBytes_ && isEager(bytes);
  }
  Status postRecvStaged(size_t bytes, TransferRequest* request) override;
  Status releaseRecv(TransferRequest* request) override;
  bool supportsPut() const override { return cmaMinBytes_ > 0; }
  Status exportMemory(const Registration& registration, RemoteMemory* out) override;
  Status putWithSignal(const Slice& src, const RemoteMemory& dst, size_t dstOffset, int signal,
                       TransferRequest* request) override;
  uint64_t readSignal(int signal) const override;
  Status progress(bool* progressed) override;
  bool busy() const override;
  bool armWait(std::vector<WaitSource>* sources) override;
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
    bool staged = false;     // postRecvStaged: delivered in place, released by releaseRecv
    bool delivered = false;  // staged and handed to the caller, not yet released
    bool announced = false;  // single copy: its ready-to-receive record is in the segment
  };

  bool isEager(size_t bytes) const { return cmaMinBytes_ == 0 || bytes < cmaMinBytes_; }
  Status peerClosedError(const char* what, size_t bytes) const;
  bool sendReady() const;
  bool recvReady() const;
  void ring() const;
  Status writeToPeer(const char* src, uint64_t address, size_t bytes);
  bool announceReceives();
  Status progressSends(bool* moved);
  Status progressRecvs(bool* moved);

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
  std::shared_ptr<MemoryDomain> domain_;
  std::deque<Transfer> sends_;
  std::deque<Transfer> recvs_;
  size_t unannounced_ = 0;   // single-copy receives whose record is not in the segment yet
  bool closed_ = false;      // this end shut down
  bool peerClosed_ = false;  // the peer said so, or the doorbell reached end of stream
  // Set when the engine poll()ed the doorbell: only then can it hold bytes or an end of stream
  // worth a system call to read.
  bool doorbellPolled_ = false;
};

}  // namespace tutti
