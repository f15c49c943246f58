#include "transports/shm/shm_connection.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tutti {
namespace {

size_t alignUp(size_t value, size_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

// The top bit of a slot's length marks a rendezvous descriptor instead of data.
constexpr uint64_t kRendezvousBit = uint64_t{1} << 63;

struct RendezvousDescriptor {
  uint64_t address;  // of the message in the sender's address space
  uint64_t bytes;
};

size_t fifoBytes(int slots, size_t slotBytes) {
  return alignUp(sizeof(ShmFifoControl), 64) + alignUp(slots * sizeof(uint64_t), 64) +
         static_cast<size_t>(slots) * slotBytes;
}

}  // namespace

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

ShmConnection::ShmConnection(int peer, void* segment, size_t segmentBytes, ShmFifo out, ShmFifo in,
                             int slots, size_t slotBytes, Fd doorbell, int peerPid,
                             size_t cmaMinBytes)
    : peer_(peer),
      segment_(segment),
      segmentLength_(segmentBytes),
      out_(out),
      in_(in),
      slots_(static_cast<uint64_t>(slots)),
      slotBytes_(slotBytes),
      doorbell_(std::move(doorbell)),
      peerPid_(peerPid),
      // A descriptor must fit in one slot.
      cmaMinBytes_(slotBytes >= sizeof(RendezvousDescriptor) ? cmaMinBytes : 0) {}

ShmConnection::~ShmConnection() {
  out_.control->senderClosed.store(1, std::memory_order_seq_cst);
  munmap(segment_, segmentLength_);
}

Status ShmConnection::postSend(const void* data, size_t bytes, TransferRequest* request) {
  // Nobody will read what goes to a peer that has closed, even when it would fit in the FIFO:
  // fail as a socket would, so that a rank whose peer gave up fails too instead of finishing
  // with a lost send. (Checked before the copy: a peer may legitimately read this message,
  // finish and close before this call returns.)
  if (peerClosed_ || in_.control->senderClosed.load(std::memory_order_acquire)) {
    return makeError(tuttiRemoteError,
                     "shm: rank {} closed the connection (its process exited or aborted) before a "
                     "send of {} bytes",
                     peer_, bytes);
  }
  request->done = false;
  sends_.push_back(Transfer{request, static_cast<char*>(const_cast<void*>(data)), bytes});
  bool progressed = false;
  return progress(&progressed);
}

char* ShmConnection::sendBuffer(size_t bytes) {
  if (closed_ || !sends_.empty() || bytes == 0 || bytes > slotBytes_ ||
      (cmaMinBytes_ > 0 && bytes >= cmaMinBytes_)) {
    return nullptr;
  }
  const uint64_t head = out_.control->head.load(std::memory_order_relaxed);
  if (head - out_.control->tail.load(std::memory_order_acquire) >= slots_) return nullptr;
  return out_.slots + (head % slots_) * slotBytes_;
}

Status ShmConnection::commitSend(size_t bytes, TransferRequest* request) {
  if (peerClosed_ || in_.control->senderClosed.load(std::memory_order_acquire)) {
    return makeError(tuttiRemoteError,
                     "shm: rank {} closed the connection (its process exited or aborted) before a "
                     "send of {} bytes",
                     peer_, bytes);
  }
  const uint64_t head = out_.control->head.load(std::memory_order_relaxed);
  out_.pieceBytes[head % slots_] = bytes;
  out_.control->head.store(head + 1, std::memory_order_seq_cst);
  if (out_.control->readerSleeping.load(std::memory_order_seq_cst)) ring();
  request->done = true;
  return Status::ok();
}

Status ShmConnection::postRecv(void* data, size_t bytes, TransferRequest* request) {
  request->done = false;
  recvs_.push_back(Transfer{request, static_cast<char*>(data), bytes});
  return Status::ok();
}

void ShmConnection::ring() const {
  char byte = 1;
  // A full socket buffer already guarantees a wake-up; a closed peer shows in progress().
  (void)send(doorbell_.get(), &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

bool ShmConnection::sendReady() const {
  uint64_t head = out_.control->head.load(std::memory_order_relaxed);
  return !sends_.empty() && head - out_.control->tail.load(std::memory_order_seq_cst) < slots_;
}

bool ShmConnection::ackReady() const {
  return !awaitingAck_.empty() && out_.control->rendezvousDone.load(std::memory_order_seq_cst) >=
                                      awaitingAck_.front().rendezvousSeq;
}

Status ShmConnection::readFromPeer(Transfer* recv, uint64_t address, uint64_t bytes) {
  if (recv->done != 0 || bytes != recv->bytes) {
    return makeError(tuttiInternalError,
                     "shm: rank {} sent a message of {} bytes where {} were expected (the ranks "
                     "disagree on the call: count, type or order)",
                     peer_, bytes, recv->bytes - recv->done);
  }
  while (recv->done < bytes) {
    iovec local{recv->data + recv->done, bytes - recv->done};
    iovec remote{reinterpret_cast<void*>(address + recv->done), bytes - recv->done};
    ssize_t n = process_vm_readv(peerPid_, &local, 1, &remote, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // ESRCH: the peer exited; EFAULT: its memory went away while it was exiting.
      const bool peerGone = n == 0 || errno == ESRCH || errno == EFAULT;
      return makeError(peerGone ? tuttiRemoteError : tuttiSystemError,
                       "shm: reading {} bytes from rank {} (pid {}) with process_vm_readv: {}",
                       bytes, peer_, peerPid_, n < 0 ? std::strerror(errno) : "no bytes read");
    }
    recv->done += static_cast<size_t>(n);
  }
  return Status::ok();
}

bool ShmConnection::recvReady() const {
  uint64_t tail = in_.control->tail.load(std::memory_order_relaxed);
  return !recvs_.empty() && in_.control->head.load(std::memory_order_seq_cst) > tail;
}

Status ShmConnection::progress(bool* progressed) {
  if (closed_) {
    return makeError(tuttiRemoteError, "shm: connection to rank {} was shut down", peer_);
  }
  in_.control->readerSleeping.store(0, std::memory_order_relaxed);
  out_.control->writerSleeping.store(0, std::memory_order_relaxed);
  bool movedOut = false;
  while (!sends_.empty()) {
    Transfer& send = sends_.front();
    uint64_t head = out_.control->head.load(std::memory_order_relaxed);
    if (head - out_.control->tail.load(std::memory_order_acquire) >= slots_) break;  // full
    uint64_t slot = head % slots_;
    if (cmaMinBytes_ > 0 && send.bytes >= cmaMinBytes_) {
      RendezvousDescriptor descriptor{reinterpret_cast<uint64_t>(send.data), send.bytes};
      std::memcpy(out_.slots + slot * slotBytes_, &descriptor, sizeof(descriptor));
      out_.pieceBytes[slot] = kRendezvousBit | send.bytes;
      out_.control->head.store(head + 1, std::memory_order_seq_cst);
      send.rendezvousSeq = ++rendezvousPosted_;
      awaitingAck_.push_back(send);
      sends_.pop_front();
      movedOut = true;
      continue;
    }
    size_t piece = std::min(slotBytes_, send.bytes - send.done);
    std::memcpy(out_.slots + slot * slotBytes_, send.data + send.done, piece);
    out_.pieceBytes[slot] = piece;
    out_.control->head.store(head + 1, std::memory_order_seq_cst);
    send.done += piece;
    send.started = true;
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

  bool movedIn = false;
  while (!recvs_.empty()) {
    Transfer& recv = recvs_.front();
    uint64_t tail = in_.control->tail.load(std::memory_order_relaxed);
    if (in_.control->head.load(std::memory_order_acquire) == tail) break;  // empty
    uint64_t slot = tail % slots_;
    if (in_.pieceBytes[slot] & kRendezvousBit) {
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
      movedIn = true;
      recv.request->done = true;
      recvs_.pop_front();
      continue;
    }
    size_t expected = std::min(slotBytes_, recv.bytes - recv.done);
    if (in_.pieceBytes[slot] != expected) {
      return makeError(tuttiInternalError,
                       "shm: rank {} sent a piece of {} bytes where {} were expected (the ranks "
                       "disagree on the call: count, type or order)",
                       peer_, in_.pieceBytes[slot], expected);
    }
    std::memcpy(recv.data + recv.done, in_.slots + slot * slotBytes_, expected);
    in_.control->tail.store(tail + 1, std::memory_order_seq_cst);
    recv.done += expected;
    movedIn = true;
    if (recv.done == recv.bytes) {
      recv.request->done = true;
      recvs_.pop_front();
    }
  }
  if (movedIn && in_.control->writerSleeping.load(std::memory_order_seq_cst)) ring();

  // Drain the doorbell: its bytes only say "look again", and we just did. End of stream means
  // the peer closed the connection or exited; what it left in the FIFO is still good, so that is
  // an error only for work that can no longer complete.
  // A peer that shut down says so in the segment (no system call needed to see it); one that
  // died without a word is seen as the doorbell's end of stream once the executor blocks on it.
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
  if (peerClosed_ && !movedIn && !movedOut &&
      (!sends_.empty() || !recvs_.empty() || !awaitingAck_.empty()) && !recvReady() &&
      !sendReady() && !ackReady()) {
    return makeError(tuttiRemoteError,
                     "shm: rank {} closed the connection (its process exited or aborted) with "
                     "work pending here: {} send(s), {} receive(s) of which the first has {} of "
                     "{} bytes, {} single-copy send(s) unread",
                     peer_, sends_.size(), recvs_.size(), recvs_.empty() ? 0 : recvs_[0].done,
                     recvs_.empty() ? 0 : recvs_[0].bytes, awaitingAck_.size());
  }
  if (movedIn || movedOut) *progressed = true;
  return Status::ok();
}

bool ShmConnection::addPollFds(std::vector<pollfd>* fds) const {
  if (sends_.empty() && recvs_.empty() && awaitingAck_.empty()) return false;
  // Announce sleep first, then look once more (the peer stores, then reads our flag): either we
  // see its progress here, or it sees our flag and rings. A rendezvous read counts as the
  // reader's progress, so a sender waiting for one sleeps as a writer.
  if (!recvs_.empty()) in_.control->readerSleeping.store(1, std::memory_order_seq_cst);
  if (!sends_.empty() || !awaitingAck_.empty()) {
    out_.control->writerSleeping.store(1, std::memory_order_seq_cst);
  }
  fds->push_back(pollfd{doorbell_.get(), POLLIN, 0});
  doorbellPolled_ = true;
  return recvReady() || sendReady() || ackReady();
}

void ShmConnection::shutdown() {
  if (closed_) return;
  closed_ = true;
  out_.control->senderClosed.store(1, std::memory_order_seq_cst);
  if (doorbell_.valid()) ::shutdown(doorbell_.get(), SHUT_RDWR);
}

}  // namespace tutti
