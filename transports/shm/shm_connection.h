// A shared-memory connection to a rank on the same host: two single-producer single-consumer
// FIFOs (one per direction) of fixed slots in a POSIX shared-memory segment.
//
// Eager: a small message is copied into slots by the sender and out of them by the receiver (two
// copies, no system call on the fast path). The sender may write straight into a slot
// (sendStaging) and the receiver may read a message where it lies (postRecvStaged), which saves
// one of the two copies for data that is reduced or forwarded anyway.
//
// Packed: whole small messages queued together (queueSend, then the next postSend or
// sendStaging) share one slot, up to kMaxPacked of them: a call's descriptor and its first data
// cost the peer one slot hand-off, not two.
//
// Single copy: a message of at least TUTTI_SHM_CMA_MIN_BYTES, when cross-memory attach is
// permitted, goes as a descriptor of the sender's buffer (address, length) in one slot; the
// receiver copies it straight from the sender's memory with process_vm_readv (a get) and counts
// it in the FIFO's rendezvousDone word, which completes the send. The receiver does the copy
// because it is the one that reads the data next: a put by the sender (process_vm_writev, which
// putWithSignal offers) leaves the data in the sender's caches, and measured 1.3-1.9x slower for
// 2-rank reduce-scatter at 256 KiB-2 MiB and all-gather at 32 MiB (docs/performance.md).
//
// One-sided: putWithSignal writes into memory the peer exported, with process_vm_writev, then
// raises a signal word in the segment.
//
// Waiting: a rank about to block sets a "sleeping" flag; whoever then moves the FIFO rings the
// pair's doorbell (a byte on a Unix stream socket between the two
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

// The control block of one direction (sender -> receiver) in the segment.
struct ShmFifoControl {
  alignas(64) std::atomic<uint64_t> head;  // pieces written (by the sender)
  alignas(64) std::atomic<uint64_t> tail;  // pieces read (by the receiver)
  alignas(64) std::atomic<uint32_t> readerSleeping;
  alignas(64) std::atomic<uint32_t> writerSleeping;
  alignas(64) std::atomic<uint32_t> senderClosed;    // the sender shut down or was destroyed
  alignas(64) std::atomic<uint32_t> putting;         // the sender is writing into receiver memory
  alignas(64) std::atomic<uint64_t> rendezvousDone;  // single-copy messages read (by the receiver)
  alignas(64) std::atomic<uint64_t> signals[Connection::kSignals];  // raised by the sender's puts
};

struct ShmFifo {
  ShmFifoControl* control = nullptr;
  uint64_t* pieceBytes = nullptr;  // length of the piece in each slot
  char* slots = nullptr;
};

class ShmConnection : public Connection {
 public:
  // Messages one slot carries at most when packed (its header takes the slot's first line).
  static constexpr size_t kMaxPacked = 7;

  // cmaMinBytes: messages of at least this size are read straight from the sender's memory (0:
  // never; each process must be able to read and write the other's memory). peerPid: the peer's
  // process. self: this rank.
  ShmConnection(int self, int peer, void* segment, size_t segmentBytes, ShmFifo out, ShmFifo in,
                int slots, size_t slotBytes, Fd doorbell, int peerPid, size_t cmaMinBytes,
                std::shared_ptr<MemoryDomain> domain);
  ~ShmConnection() override;

  int peer() const override { return peer_; }
  MemoryDomain& memoryDomain() override { return *domain_; }
  Status postSend(const Slice& data, TransferRequest* request) override;
  Status postRecv(const Slice& data, TransferRequest* request) override;
  // Held until the next postSend, sendStaging/commitSend or progress, to share its slot.
  Status queueSend(const Slice& data, TransferRequest* request) override;
  // A free slot when the message fits one slot and goes eager: the slot's start when nothing is
  // queued, else the place after the queued messages when they all fit the slot with it.
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
    bool staged = false;         // postRecvStaged: delivered in place, released by releaseRecv
    bool delivered = false;      // staged and handed to the caller, not yet released
    uint64_t rendezvousSeq = 0;  // a single-copy send completes when rendezvousDone reaches it
  };

  struct PackedHeader;

  bool isEager(size_t bytes) const { return cmaMinBytes_ == 0 || bytes < cmaMinBytes_; }
  // Whether `send` goes packed after messages that end at *end (advanced past it when it does).
  bool packs(const Transfer& send, size_t* end) const;
  // Writes the first `count` queued sends into the packed slot at `base` and completes them;
  // returns where the message after them goes.
  size_t packQueued(char* base, size_t count, PackedHeader* header);
  // The receive side consumed one message of `bytes` from the packed slot at the tail.
  void consumePacked(const PackedHeader& header, size_t bytes);
  void prefaultSlots();
  Status peerClosedError(const char* what, size_t bytes) const;
  bool sendReady() const;
  bool recvReady() const;
  bool ackReady() const;
  void ring() const;
  Status writeToPeer(const char* src, uint64_t address, size_t bytes);
  Status readFromPeer(Transfer* recv, uint64_t address, uint64_t bytes);
  Status progressSends(bool* moved);
  Status progressRecvs(bool* moved);

  int self_;
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
  std::deque<Transfer> awaitingAck_;  // single-copy sends the peer has not read yet
  std::deque<Transfer> recvs_;
  uint64_t rendezvousPosted_ = 0;
  // Queued sends that the slot handed out by sendStaging goes behind (checked by commitSend).
  size_t stagedBehind_ = 0;
  // Where the receive side is in the packed slot at the tail: the next message's index and
  // offset.
  size_t packedIndex_ = 0;
  size_t packedOffset_ = 0;
  // This end shut down; set by shutdown(), which another thread may call (an abort, the watch's
  // verdict) while this one progresses.
  std::atomic<bool> closed_{false};
  bool peerClosed_ = false;  // the peer said so, or the doorbell reached end of stream
  // Set when the engine poll()ed the doorbell: only then can it hold bytes or an end of stream
  // worth a system call to read.
  bool doorbellPolled_ = false;
};

}  // namespace tutti
