#include "transports/shm/shm_connection.h"

#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace tutti {
namespace {

// The smallest page size: touching at this stride reaches every page.
constexpr size_t kPageBytes = 4096;
// How much of each slot setup touches: TUTTI_SHM_CMA_MIN_BYTES' default, below which messages
// go through the slots when single copy is on.
constexpr size_t kPrefaultBytes = 65536;

size_t alignUp(size_t value, size_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

// The top bit of a slot's length marks a single-copy descriptor instead of data.
constexpr uint64_t kMarkerBit = uint64_t{1} << 63;
// The next bit marks a packed slot: several whole small messages, described by a PackedHeader at
// the slot's start, each at the next 64-byte boundary after the one before.
constexpr uint64_t kPackedBit = uint64_t{1} << 62;
constexpr size_t kPackedAlign = 64;

struct RendezvousDescriptor {
  uint64_t address;  // of the message in the sender's address space
  uint64_t bytes;
};

// How long a closing rank waits for a put into its memory that a peer already started: the put
// is one system call, so this bounds a peer stuck inside the kernel, not a normal case.
constexpr auto kPutDrainLimit = std::chrono::seconds(2);

size_t fifoBytes(int slots, size_t slotBytes) {
  return alignUp(sizeof(ShmFifoControl), 64) + alignUp(slots * sizeof(uint64_t), 64) +
         static_cast<size_t>(slots) * slotBytes;
}

}  // namespace

struct ShmConnection::PackedHeader {
  uint64_t count = 0;
  uint64_t bytes[kMaxPacked] = {};
};

size_t ShmConnection::segmentBytes(int slots, size_t slotBytes) {
  return 2 * alignUp(fifoBytes(slots, slotBytes), 4096);
}

ShmFifo ShmConnection::fifoAt(void* segment, int direction, int slots, size_t slotBytes) {
  char* base = static_cast<char*>(segment) + direction * alignUp(fifoBytes(slots, slotBytes), 4096);
  ShmFifo fifo;
  fifo.control = reinterpret_cast<ShmFifoControl*>(base);
  base += alignUp(sizeof(ShmFifoControl), 64);
  fifo.pieceBytes = reinterpret_cast<uint64_t*>(base);
  base += alignUp(slots * sizeof(uint64_t), 64);
  fifo.slots = base;
  return fifo;
}

ShmConnection::ShmConnection(int self, int peer, void* segment, size_t segmentBytes, ShmFifo out,
                             ShmFifo in, int slots, size_t slotBytes, Fd doorbell, int peerPid,
                             size_t cmaMinBytes, std::shared_ptr<MemoryDomain> domain)
    : self_(self),
      peer_(peer),
      segment_(segment),
      segmentLength_(segmentBytes),
      out_(out),
      in_(in),
      slots_(static_cast<uint64_t>(slots)),
      slotBytes_(slotBytes),
      doorbell_(std::move(doorbell)),
      peerPid_(peerPid),
      // A descriptor must fit in one slot.
      cmaMinBytes_(slotBytes >= sizeof(RendezvousDescriptor) ? cmaMinBytes : 0),
      domain_(std::move(domain)) {
  prefaultSlots();
}

// Touches, for writing, the first kPrefaultBytes of every slot of both FIFOs (the reach of
// small messages, whose calls take a few microseconds), so that no such call takes the page
// faults. Filling the page tables is not enough where the hypervisor shadows them: measured on
// the 2-core VM, a page's first access by a process still cost about 6 us after
// MADV_POPULATE_WRITE, and the first pass of 4-32 KiB all-reduces over the slots took 12-48 us a
// call against 1-2 us (docs/performance.md, 2026-12-05). Larger messages fault the rest of a
// slot in on first use: touching whole slots (2 MiB a direction) made init of 8 ranks on that VM
// 2.7x slower. An atomic OR of zero writes without changing a byte. Done during transport setup:
// every rank finishes it before any rank ends init (the steps of init after the transports'
// setup are collective), so no message is in a slot yet.
void ShmConnection::prefaultSlots() {
  const size_t reach = std::min(slotBytes_, kPrefaultBytes);
  if (reach == 0) return;
  for (const ShmFifo* fifo : {&out_, &in_}) {
    for (uint64_t slot = 0; slot < slots_; ++slot) {
      char* base = fifo->slots + slot * slotBytes_;
      for (size_t offset = 0; offset < reach; offset += kPageBytes) {
        __atomic_fetch_or(reinterpret_cast<uint64_t*>(base + offset), 0, __ATOMIC_RELAXED);
      }
      // The last page the reach ends in (a slot need not start on a page).
      const size_t last = (reach - 1) & ~size_t{7};
      __atomic_fetch_or(reinterpret_cast<uint64_t*>(base + last), 0, __ATOMIC_RELAXED);
    }
  }
}

ShmConnection::~ShmConnection() {
  shutdown();
  munmap(segment_, segmentLength_);
}

Status ShmConnection::peerClosedError(const char* what, size_t bytes) const {
  return makeError(tuttiRemoteError,
                   "shm: rank {} closed the connection (its process exited or aborted) before a "
                   "{} of {} bytes",
                   peer_, what, bytes);
}

Status ShmConnection::postSend(const Slice& data, TransferRequest* request) {
  // Nobody will read what goes to a peer that has closed, even when it would fit in the FIFO:
  // fail as a socket would, so that a rank whose peer gave up fails too instead of finishing
  // with a lost send. (Checked before the copy: a peer may legitimately read this message,
  // finish and close before this call returns.)
  if (peerClosed_ || in_.control->senderClosed.load(std::memory_order_acquire)) {
    return peerClosedError("send", data.bytes);
  }
  request->done = false;
  sends_.push_back(Transfer{request, data.data(), data.bytes});
  bool moved = false;
  return progressSends(&moved);
}

Status ShmConnection::queueSend(const Slice& data, TransferRequest* request) {
  if (peerClosed_ || in_.control->senderClosed.load(std::memory_order_acquire)) {
    return peerClosedError("send", data.bytes);
  }
  request->done = false;
  sends_.push_back(Transfer{request, data.data(), data.bytes});
  return Status::ok();
}

bool ShmConnection::packs(const Transfer& send, size_t* end) const {
  if (send.done != 0 || !isEager(send.bytes)) return false;
  const size_t next = *end + alignUp(send.bytes, kPackedAlign);
  if (next > slotBytes_) return false;
  *end = next;
  return true;
}

size_t ShmConnection::packQueued(char* base, size_t count, PackedHeader* header) {
  static_assert(sizeof(PackedHeader) == kPackedAlign, "the first message starts one line in");
  size_t offset = kPackedAlign;
  for (size_t i = 0; i < count; ++i) {
    Transfer& send = sends_.front();
    header->bytes[header->count++] = send.bytes;
    if (send.bytes > 0) std::memcpy(base + offset, send.data, send.bytes);
    offset += alignUp(send.bytes, kPackedAlign);
    send.request->done = true;
    sends_.pop_front();
  }
  return offset;
}

char* ShmConnection::sendStaging(size_t bytes) {
  if (closed_ || bytes == 0 || bytes > slotBytes_ || !isEager(bytes)) return nullptr;
  const uint64_t head = out_.control->head.load(std::memory_order_relaxed);
  if (head - out_.control->tail.load(std::memory_order_acquire) >= slots_) return nullptr;
  char* slot = out_.slots + (head % slots_) * slotBytes_;
  stagedBehind_ = sends_.size();
  if (sends_.empty()) return slot;
  // Behind the queued messages, in the slot they will share with it.
  if (sends_.size() >= kMaxPacked) return nullptr;
  size_t end = kPackedAlign;
  for (const Transfer& send : sends_) {
    if (!packs(send, &end)) return nullptr;
  }
  return end + bytes <= slotBytes_ ? slot + end : nullptr;
}

Status ShmConnection::commitSend(size_t bytes, TransferRequest* request) {
  if (peerClosed_ || in_.control->senderClosed.load(std::memory_order_acquire)) {
    return peerClosedError("send", bytes);
  }
  if (sends_.size() != stagedBehind_) {
    return makeError(tuttiInternalError,
                     "shm: {} send(s) queued between sendStaging and commitSend (was {})",
                     sends_.size(), stagedBehind_);
  }
  const uint64_t head = out_.control->head.load(std::memory_order_relaxed);
  const uint64_t slot = head % slots_;
  if (sends_.empty()) {
    out_.pieceBytes[slot] = bytes;
  } else {
    char* base = out_.slots + slot * slotBytes_;
    PackedHeader header;
    // The staged message already lies where the queued ones end (sendStaging's layout).
    const size_t end = packQueued(base, sends_.size(), &header) + alignUp(bytes, kPackedAlign);
    header.bytes[header.count++] = bytes;
    std::memcpy(base, &header, sizeof(header));
    out_.pieceBytes[slot] = kPackedBit | end;
  }
  stagedBehind_ = 0;
  out_.control->head.store(head + 1, std::memory_order_seq_cst);
  if (out_.control->readerSleeping.load(std::memory_order_seq_cst)) ring();
  request->done = true;
  return Status::ok();
}

Status ShmConnection::postRecv(const Slice& data, TransferRequest* request) {
  request->done = false;
  recvs_.push_back(Transfer{request, data.data(), data.bytes});
  return Status::ok();
}

Status ShmConnection::postRecvStaged(size_t bytes, TransferRequest* request) {
  if (!stagesRecv(bytes)) {
    return makeError(tuttiInternalError, "shm: a staged receive of {} bytes does not fit a slot",
                     bytes);
  }
  request->done = false;
  request->staged = nullptr;
  Transfer transfer{request, nullptr, bytes};
  transfer.staged = true;
  recvs_.push_back(transfer);
  return Status::ok();
}

Status ShmConnection::releaseRecv(TransferRequest* request) {
  if (recvs_.empty() || !recvs_.front().delivered || recvs_.front().request != request) {
    return makeError(tuttiInternalError, "shm: releaseRecv of a receive not delivered in place");
  }
  const size_t bytes = recvs_.front().bytes;
  recvs_.pop_front();
  const uint64_t tail = in_.control->tail.load(std::memory_order_relaxed);  // ours alone
  const uint64_t slot = tail % slots_;
  if ((in_.pieceBytes[slot] & kPackedBit) != 0) {
    PackedHeader header;
    std::memcpy(&header, in_.slots + slot * slotBytes_, sizeof(header));
    consumePacked(header, bytes);
    return Status::ok();
  }
  in_.control->tail.store(tail + 1, std::memory_order_seq_cst);
  if (in_.control->writerSleeping.load(std::memory_order_seq_cst)) ring();
  return Status::ok();
}

void ShmConnection::consumePacked(const PackedHeader& header, size_t bytes) {
  packedOffset_ += alignUp(bytes, kPackedAlign);
  if (++packedIndex_ < header.count) return;
  packedIndex_ = 0;
  packedOffset_ = 0;
  const uint64_t tail = in_.control->tail.load(std::memory_order_relaxed);
  in_.control->tail.store(tail + 1, std::memory_order_seq_cst);
  if (in_.control->writerSleeping.load(std::memory_order_seq_cst)) ring();
}

Status ShmConnection::exportMemory(const Registration& registration, RemoteMemory* out) {
  if (registration.memory.kind != MemoryKind::kHost) {
    return makeError(tuttiInvalidArgument, "shm: cannot export {} memory",
                     memoryKindName(registration.memory.kind));
  }
  out->address = reinterpret_cast<uint64_t>(registration.memory.ptr);
  out->bytes = registration.memory.bytes;
  // The owner's process and rank (ranks may share a process, as threads of a test do).
  const uint64_t owner[2] = {static_cast<uint64_t>(getpid()), static_cast<uint64_t>(self_)};
  std::memcpy(out->key, owner, sizeof(owner));
  out->keyBytes = sizeof(owner);
  return Status::ok();
}

Status ShmConnection::putWithSignal(const Slice& src, const RemoteMemory& dst, size_t dstOffset,
                                    int signal, TransferRequest* request) {
  if (!supportsPut()) {
    return makeError(tuttiInvalidUsage,
                     "shm: one-sided puts need cross-memory attach, which is off on this "
                     "communicator (TUTTI_SHM_CMA=0, ptrace rules, or more ranks than CPUs)");
  }
  if (signal < 0 || signal >= kSignals) {
    return makeError(tuttiInvalidArgument, "shm: signal {} is not in [0, {})", signal, kSignals);
  }
  uint64_t owner[2] = {0, ~uint64_t{0}};
  if (dst.keyBytes == sizeof(owner)) std::memcpy(owner, dst.key, sizeof(owner));
  if (owner[0] != static_cast<uint64_t>(peerPid_) || owner[1] != static_cast<uint64_t>(peer_)) {
    return makeError(tuttiInvalidArgument,
                     "shm: the remote memory was exported by rank {} (pid {}), not by rank {} (pid "
                     "{})",
                     static_cast<int64_t>(owner[1]), owner[0], peer_, peerPid_);
  }
  if (dstOffset > dst.bytes || src.bytes > dst.bytes - dstOffset) {
    return makeError(tuttiInvalidArgument,
                     "shm: a put of {} bytes at offset {} does not fit the {} bytes exported",
                     src.bytes, dstOffset, dst.bytes);
  }
  request->done = false;
  TUTTI_RETURN_IF_ERROR(writeToPeer(src.data(), dst.address + dstOffset, src.bytes));
  out_.control->signals[signal].fetch_add(1, std::memory_order_seq_cst);
  if (out_.control->readerSleeping.load(std::memory_order_seq_cst)) ring();
  request->done = true;
  return Status::ok();
}

uint64_t ShmConnection::readSignal(int signal) const {
  if (signal < 0 || signal >= kSignals) return 0;
  return in_.control->signals[signal].load(std::memory_order_acquire);
}

void ShmConnection::ring() const {
  char byte = 1;
  // A full socket buffer already guarantees a wake-up; a closed peer shows in progress().
  (void)send(doorbell_.get(), &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

// Writes into the peer's memory. The peer waits for `putting` to clear before it closes (and
// before its caller may reuse the memory), and this side checks that the peer is still open
// after raising it: with both sides' accesses sequentially consistent, either the peer sees the
// flag and waits, or this side sees the peer closed and writes nothing.
Status ShmConnection::writeToPeer(const char* src, uint64_t address, size_t bytes) {
  out_.control->putting.store(1, std::memory_order_seq_cst);
  if (in_.control->senderClosed.load(std::memory_order_seq_cst)) {
    out_.control->putting.store(0, std::memory_order_seq_cst);
    return peerClosedError("single-copy write", bytes);
  }
  size_t done = 0;
  while (done < bytes) {
    iovec local{const_cast<char*>(src) + done, bytes - done};
    iovec remote{reinterpret_cast<void*>(address + done), bytes - done};
    ssize_t n = process_vm_writev(peerPid_, &local, 1, &remote, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      out_.control->putting.store(0, std::memory_order_seq_cst);
      // ESRCH: the peer exited; EFAULT: its memory went away while it was exiting.
      const bool peerGone = n == 0 || err == ESRCH || err == EFAULT;
      return makeError(peerGone ? tuttiRemoteError : tuttiSystemError,
                       "shm: writing {} bytes to rank {} (pid {}) with process_vm_writev: {}",
                       bytes, peer_, peerPid_, n < 0 ? std::strerror(err) : "no bytes written");
    }
    done += static_cast<size_t>(n);
  }
  out_.control->putting.store(0, std::memory_order_seq_cst);
  return Status::ok();
}

Status ShmConnection::readFromPeer(Transfer* recv, uint64_t address, uint64_t bytes) {
  if (recv->done != 0 || bytes != recv->bytes) {
    return makeError(tuttiInternalError,
                     "shm: rank {} sent a single-copy message of {} bytes where this rank expects "
                     "{} bytes (the ranks disagree on the call: count, type or order)",
                     peer_, bytes, recv->bytes - recv->done);
  }
  while (recv->done < bytes) {
    iovec local{recv->data + recv->done, bytes - recv->done};
    iovec remote{reinterpret_cast<void*>(address + recv->done), bytes - recv->done};
    ssize_t n = process_vm_readv(peerPid_, &local, 1, &remote, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      // ESRCH: the peer exited; EFAULT: its memory went away while it was exiting.
      const bool peerGone = n == 0 || err == ESRCH || err == EFAULT;
      return makeError(peerGone ? tuttiRemoteError : tuttiSystemError,
                       "shm: reading {} bytes from rank {} (pid {}) with process_vm_readv: {}",
                       bytes, peer_, peerPid_, n < 0 ? std::strerror(err) : "no bytes read");
    }
    recv->done += static_cast<size_t>(n);
  }
  return Status::ok();
}

bool ShmConnection::ackReady() const {
  return !awaitingAck_.empty() && out_.control->rendezvousDone.load(std::memory_order_seq_cst) >=
                                      awaitingAck_.front().rendezvousSeq;
}

bool ShmConnection::sendReady() const {
  if (sends_.empty()) return false;
  const uint64_t head = out_.control->head.load(std::memory_order_relaxed);
  if (head - out_.control->tail.load(std::memory_order_seq_cst) >= slots_) return false;
  return true;
}

bool ShmConnection::recvReady() const {
  const uint64_t tail = in_.control->tail.load(std::memory_order_relaxed);
  return !recvs_.empty() && !recvs_.front().delivered &&
         in_.control->head.load(std::memory_order_seq_cst) > tail;
}

Status ShmConnection::progressSends(bool* moved) {
  bool movedOut = false;
  while (!sends_.empty()) {
    Transfer& send = sends_.front();
    const uint64_t head = out_.control->head.load(std::memory_order_relaxed);
    if (head - out_.control->tail.load(std::memory_order_acquire) >= slots_) break;  // full
    const uint64_t slot = head % slots_;
    size_t end = kPackedAlign;
    size_t count = 0;
    while (count < sends_.size() && count < kMaxPacked && packs(sends_[count], &end)) ++count;
    if (count >= 2) {
      char* base = out_.slots + slot * slotBytes_;
      PackedHeader header;
      out_.pieceBytes[slot] = kPackedBit | packQueued(base, count, &header);
      std::memcpy(base, &header, sizeof(header));
      out_.control->head.store(head + 1, std::memory_order_seq_cst);
      movedOut = true;
      continue;
    }
    if (!isEager(send.bytes)) {
      const RendezvousDescriptor descriptor{reinterpret_cast<uint64_t>(send.data), send.bytes};
      std::memcpy(out_.slots + slot * slotBytes_, &descriptor, sizeof(descriptor));
      out_.pieceBytes[slot] = kMarkerBit | send.bytes;
      out_.control->head.store(head + 1, std::memory_order_seq_cst);
      send.rendezvousSeq = ++rendezvousPosted_;
      awaitingAck_.push_back(send);
      sends_.pop_front();
      movedOut = true;
      continue;
    }
    const size_t piece = std::min(slotBytes_, send.bytes - send.done);
    // A message of 0 bytes still takes a slot (the receiver counts it); its data may be NULL.
    if (piece > 0) std::memcpy(out_.slots + slot * slotBytes_, send.data + send.done, piece);
    out_.pieceBytes[slot] = piece;
    out_.control->head.store(head + 1, std::memory_order_seq_cst);
    send.done += piece;
    movedOut = true;
    if (send.done == send.bytes) {
      send.request->done = true;
      sends_.pop_front();
    }
  }
  if (movedOut && out_.control->readerSleeping.load(std::memory_order_seq_cst)) ring();
  while (ackReady()) {
    awaitingAck_.front().request->done = true;
    awaitingAck_.pop_front();
    movedOut = true;
  }
  *moved |= movedOut;
  return Status::ok();
}

Status ShmConnection::progressRecvs(bool* moved) {
  bool movedIn = false;
  while (!recvs_.empty() && !recvs_.front().delivered) {
    Transfer& recv = recvs_.front();
    const uint64_t tail = in_.control->tail.load(std::memory_order_relaxed);
    if (in_.control->head.load(std::memory_order_acquire) == tail) break;  // empty
    const uint64_t slot = tail % slots_;
    const uint64_t piece = in_.pieceBytes[slot];
    if ((piece & kPackedBit) != 0) {
      char* base = in_.slots + slot * slotBytes_;
      PackedHeader header;
      std::memcpy(&header, base, sizeof(header));
      if (packedIndex_ == 0) packedOffset_ = kPackedAlign;
      const uint64_t bytes = packedIndex_ < std::min<uint64_t>(header.count, kMaxPacked)
                                 ? header.bytes[packedIndex_]
                                 : ~uint64_t{0};
      if (recv.done != 0 || bytes != recv.bytes || packedOffset_ + recv.bytes > slotBytes_) {
        return makeError(tuttiInternalError,
                         "shm: rank {} sent a message of {} bytes where this rank expects {} "
                         "bytes (the ranks disagree on the call: count, type or order)",
                         peer_, bytes, recv.bytes - recv.done);
      }
      movedIn = true;
      char* at = base + packedOffset_;
      if (recv.staged) {
        recv.request->staged = at;
        recv.request->done = true;
        recv.delivered = true;
        break;
      }
      if (bytes > 0) std::memcpy(recv.data, at, bytes);
      recv.done = bytes;
      consumePacked(header, bytes);
      recv.request->done = true;
      recvs_.pop_front();
      continue;
    }
    const bool marker = (piece & kMarkerBit) != 0;
    const uint64_t pieceBytes = piece & ~kMarkerBit;
    if (marker != !isEager(recv.bytes) || (marker && pieceBytes != recv.bytes) ||
        (!marker && pieceBytes != std::min(slotBytes_, recv.bytes - recv.done))) {
      return makeError(tuttiInternalError,
                       "shm: rank {} sent a {} of {} bytes where this rank expects {} bytes "
                       "(the ranks disagree on the call: count, type or order)",
                       peer_, marker ? "single-copy message" : "piece", pieceBytes,
                       marker ? recv.bytes : std::min(slotBytes_, recv.bytes - recv.done));
    }
    movedIn = true;
    if (recv.staged) {
      // Read where it lies; the slot stays the caller's until releaseRecv.
      recv.request->staged = in_.slots + slot * slotBytes_;
      recv.request->done = true;
      recv.delivered = true;
      break;
    }
    if (!marker) {
      if (pieceBytes > 0)
        std::memcpy(recv.data + recv.done, in_.slots + slot * slotBytes_, pieceBytes);
      recv.done += pieceBytes;
      in_.control->tail.store(tail + 1, std::memory_order_seq_cst);
    } else {
      RendezvousDescriptor descriptor;
      std::memcpy(&descriptor, in_.slots + slot * slotBytes_, sizeof(descriptor));
      TUTTI_RETURN_IF_ERROR(readFromPeer(&recv, descriptor.address, descriptor.bytes));
      // A sender that gave up (error, abort) closes before its caller may reuse the buffer: if it
      // is still open now, the buffer was intact for the whole read.
      if (in_.control->senderClosed.load(std::memory_order_seq_cst)) {
        return makeError(tuttiRemoteError,
                         "shm: rank {} closed the connection while its message was being read",
                         peer_);
      }
      in_.control->tail.store(tail + 1, std::memory_order_seq_cst);
      in_.control->rendezvousDone.fetch_add(1, std::memory_order_seq_cst);
    }
    if (recv.done == recv.bytes) {
      recv.request->done = true;
      recvs_.pop_front();
    }
  }
  if (movedIn && in_.control->writerSleeping.load(std::memory_order_seq_cst)) ring();
  *moved |= movedIn;
  return Status::ok();
}

Status ShmConnection::progress(bool* progressed) {
  if (closed_) {
    return makeError(tuttiRemoteError, "shm: connection to rank {} was shut down", peer_);
  }
  // Cleared only where set: a store dirties a line the peer reads after each of its writes.
  if (in_.control->readerSleeping.load(std::memory_order_relaxed) != 0) {
    in_.control->readerSleeping.store(0, std::memory_order_relaxed);
  }
  if (out_.control->writerSleeping.load(std::memory_order_relaxed) != 0) {
    out_.control->writerSleeping.store(0, std::memory_order_relaxed);
  }
  bool moved = false;
  TUTTI_RETURN_IF_ERROR(progressSends(&moved));
  TUTTI_RETURN_IF_ERROR(progressRecvs(&moved));

  // Drain the doorbell: its bytes only say "look again", and we just did. End of stream means
  // the peer closed the connection or exited; what it left in the FIFO is still good, so that is
  // an error only for work that can no longer complete.
  // A peer that shut down says so in the segment (no system call needed to see it); one that
  // died without a word is seen as the doorbell's end of stream once the engine blocks on it.
  char sink[64];
  while (doorbellPolled_ && !peerClosed_) {
    ssize_t n = recv(doorbell_.get(), sink, sizeof(sink), MSG_DONTWAIT);
    if (n > 0) continue;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) peerClosed_ = true;
    break;
  }
  doorbellPolled_ = false;
  if (in_.control->senderClosed.load(std::memory_order_acquire)) peerClosed_ = true;
  // The peer may have written its last piece after the loops above looked and then closed: look
  // at the FIFO again before calling the work lost.
  if (peerClosed_ && !moved && busy() && !recvReady() && !sendReady() && !ackReady()) {
    return makeError(tuttiRemoteError,
                     "shm: rank {} closed the connection (its process exited or aborted) with "
                     "work pending here: {} send(s), {} receive(s) of which the first has {} of "
                     "{} bytes, {} single-copy send(s) unread",
                     peer_, sends_.size(), recvs_.size(), recvs_.empty() ? 0 : recvs_[0].done,
                     recvs_.empty() ? 0 : recvs_[0].bytes, awaitingAck_.size());
  }
  if (moved) *progressed = true;
  return Status::ok();
}

bool ShmConnection::busy() const {
  return !sends_.empty() || !awaitingAck_.empty() ||
         std::any_of(recvs_.begin(), recvs_.end(),
                     [](const Transfer& recv) { return !recv.delivered; });
}

bool ShmConnection::armWait(std::vector<WaitSource>* sources) {
  // Announce sleep first, then look once more (the peer stores, then reads our flag): either we
  // see its progress here, or it sees our flag and rings. A single-copy read counts as the
  // reader's progress, so a sender waiting for one sleeps as a writer.
  if (!recvs_.empty()) in_.control->readerSleeping.store(1, std::memory_order_seq_cst);
  if (!sends_.empty() || !awaitingAck_.empty()) {
    out_.control->writerSleeping.store(1, std::memory_order_seq_cst);
  }
  sources->push_back(WaitSource{doorbell_.get(), POLLIN});
  doorbellPolled_ = true;
  return recvReady() || sendReady() || ackReady();
}

void ShmConnection::shutdown() {
  if (closed_.exchange(true)) return;
  out_.control->senderClosed.store(1, std::memory_order_seq_cst);
  // A put the peer started before it saw us closed finishes before our caller may reuse memory.
  const auto start = std::chrono::steady_clock::now();
  while (in_.control->putting.load(std::memory_order_seq_cst) != 0 &&
         std::chrono::steady_clock::now() - start < kPutDrainLimit) {
    sched_yield();
  }
  if (doorbell_.valid()) ::shutdown(doorbell_.get(), SHUT_RDWR);
}

}  // namespace tutti
