#include "transports/tcp/tcp_connection.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "transports/tcp/crc32c.h"

namespace tutti {

TcpConnection::TcpConnection(int peer, std::vector<Fd> sockets, size_t minStripeBytes,
                             bool checksum, std::shared_ptr<MemoryDomain> domain,
                             std::vector<std::string> links)
    : peer_(peer),
      domain_(std::move(domain)),
      minStripeBytes_(minStripeBytes),
      checksumBytes_(checksum ? sizeof(uint32_t) : 0) {
  sockets_.resize(sockets.size());
  for (size_t i = 0; i < sockets.size(); ++i) {
    sockets_[i].fd = std::move(sockets[i]);
    if (i < links.size()) sockets_[i].link = std::move(links[i]);
  }
}

std::string TcpConnection::where(const Socket& socket) const {
  return socket.link.empty() ? fmt::format("rank {}", peer_)
                             : fmt::format("rank {} over {}", peer_, socket.link);
}

int TcpConnection::partCount(size_t bytes, int nsocks, size_t minStripeBytes) {
  size_t parts = bytes / minStripeBytes;
  return static_cast<int>(std::clamp<size_t>(parts, 1, static_cast<size_t>(nsocks)));
}

void TcpConnection::enqueue(bool isSend, char* data, size_t bytes, uint32_t seq,
                            TransferRequest* request) {
  const int nsocks = static_cast<int>(sockets_.size());
  const int parts = partCount(bytes, nsocks, minStripeBytes_);
  request->done = false;
  request->pendingParts = parts;
  // Rotating the first socket spreads messages below the stripe size over all sockets too. A
  // message below kSpreadBytes costs its segment, not bandwidth: it goes on the socket the next
  // larger one takes, so that it can share a segment with it (a call's descriptor and first
  // data). Both ends see the same sizes in the same order, so they choose alike.
  uint32_t& rotation = isSend ? sendRotation_ : recvRotation_;
  const int first = static_cast<int>(rotation % static_cast<uint32_t>(nsocks));
  if (bytes >= kSpreadBytes) ++rotation;
  size_t offset = 0;
  for (int p = 0; p < parts; ++p) {
    size_t length = bytes / parts + (static_cast<size_t>(p) < bytes % parts ? 1 : 0);
    Part part{request,
              data + offset,
              length,
              p,
              parts,
              0,
              PartHeader{seq, static_cast<uint32_t>(length)},
              PartHeader{0, 0}};
    // The sender's data is ready when posted: its checksum is taken now, so that the header,
    // payload and checksum leave in one system call.
    if (isSend && checksumBytes_ > 0) part.crc = crc32c(part.data, part.bytes);
    Socket& socket = sockets_[(first + p) % nsocks];
    (isSend ? socket.sends : socket.recvs).push_back(part);
    offset += length;
  }
}

Status TcpConnection::queueSend(const Slice& slice, TransferRequest* request) {
  const size_t bytes = slice.bytes;
  if (bytes > std::numeric_limits<uint32_t>::max()) {
    return makeError(tuttiInternalError, "tcp: message of {} bytes exceeds the 4 GiB part limit",
                     bytes);
  }
  enqueue(true, slice.data(), bytes, sendSeq_++, request);
  return Status::ok();
}

Status TcpConnection::postSend(const Slice& slice, TransferRequest* request) {
  TUTTI_RETURN_IF_ERROR(queueSend(slice, request));
  bool progressed = false;
  return progress(&progressed);  // start moving at once: latency of small messages
}

Status TcpConnection::postRecv(const Slice& slice, TransferRequest* request) {
  const size_t bytes = slice.bytes;
  if (bytes > std::numeric_limits<uint32_t>::max()) {
    return makeError(tuttiInternalError, "tcp: message of {} bytes exceeds the 4 GiB part limit",
                     bytes);
  }
  enqueue(false, slice.data(), bytes, recvSeq_++, request);
  return Status::ok();
}

// The bytes of a frame not yet moved: the rest of its header (sent from, or received into,
// *header), of its payload, and of its checksum (*crc), so that one system call moves them all.
int TcpConnection::remainingIovec(Part& part, PartHeader* header, uint32_t* crc, iovec* iov) const {
  const iovec segments[3] = {
      {header, sizeof(PartHeader)}, {part.data, part.bytes}, {crc, checksumBytes_}};
  size_t skip = part.done;
  int count = 0;
  for (const iovec& segment : segments) {
    if (skip >= segment.iov_len) {
      skip -= segment.iov_len;
      continue;
    }
    iov[count++] = {static_cast<char*>(segment.iov_base) + skip, segment.iov_len - skip};
    skip = 0;
  }
  return count;
}

size_t TcpConnection::frameBytes(const Part& part) const {
  return sizeof(PartHeader) + part.bytes + checksumBytes_;
}

Status TcpConnection::verify(const Part& part) const {
  if (checksumBytes_ == 0 || part.crc == part.wireCrc) return Status::ok();
  return makeError(tuttiSystemError,
                   "tcp: frame from rank {} corrupted on the way: message #{} part {} of {} ({} "
                   "bytes) arrived with CRC32C {:08x}, its payload has {:08x} (TUTTI_CHECKSUM=1)",
                   peer_, part.header.seq, part.index + 1, part.parts, part.bytes, part.wireCrc,
                   part.crc);
}

Status TcpConnection::progressSends(Socket& socket, bool* progressed) {
  while (!socket.sends.empty()) {
    iovec iov[3 * kFramesPerSend];
    int count = 0;
    size_t frames = 0;
    for (Part& part : socket.sends) {
      if (frames == kFramesPerSend) break;
      count += remainingIovec(part, &part.header, &part.crc, iov + count);
      ++frames;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    ssize_t n = ::sendmsg(socket.fd.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Status::ok();
      if (errno == EPIPE || errno == ECONNRESET) {
        return makeError(tuttiRemoteError, "tcp: {} closed the connection (send)", where(socket));
      }
      if (isLostHost(errno))
        return lostHostError(fmt::format("tcp: send to {}", where(socket)), errno);
      return systemError(fmt::format("tcp: send to {}", where(socket)), errno);
    }
    *progressed = true;
    // Hand the bytes moved to the frames in order; a frame left short means the socket is full.
    size_t moved = static_cast<size_t>(n);
    while (moved > 0) {
      Part& part = socket.sends.front();
      const size_t taken = std::min(moved, frameBytes(part) - part.done);
      part.done += taken;
      moved -= taken;
      if (part.done < frameBytes(part)) return Status::ok();
      TransferRequest* request = part.request;
      socket.sends.pop_front();
      if (--request->pendingParts == 0) request->done = true;
    }
  }
  return Status::ok();
}

// Credits `moved` bytes, already in place, to the frames at the front of socket.recvs in order.
// Each frame's header is checked as soon as it is complete. *drained: a frame was left short.
Status TcpConnection::creditRecvs(Socket& socket, size_t moved, bool* drained) {
  constexpr size_t kHeader = sizeof(PartHeader);
  *drained = false;
  while (moved > 0) {
    Part& part = socket.recvs.front();
    const size_t before = part.done;
    part.done += std::min(moved, frameBytes(part) - part.done);
    moved -= part.done - before;
    if (before < kHeader && part.done >= kHeader &&
        (part.wire.seq != part.header.seq || part.wire.bytes != part.header.bytes)) {
      return makeError(tuttiInternalError,
                       "tcp: rank {} sent message #{} part of {} bytes where message #{} part "
                       "of {} bytes was expected (the ranks disagree on the call: count, type "
                       "or order)",
                       peer_, part.wire.seq, part.wire.bytes, part.header.seq, part.header.bytes);
    }
    if (checksumBytes_ > 0) {
      // The payload bytes this call brought.
      const size_t from = std::clamp(before, kHeader, kHeader + part.bytes) - kHeader;
      const size_t to = std::clamp(part.done, kHeader, kHeader + part.bytes) - kHeader;
      part.crc = crc32cExtend(part.crc, part.data + from, to - from);
    }
    if (part.done < frameBytes(part)) {
      *drained = true;
      return Status::ok();
    }
    TUTTI_RETURN_IF_ERROR(verify(part));
    TransferRequest* request = part.request;
    socket.recvs.pop_front();
    if (--request->pendingParts == 0) request->done = true;
  }
  return Status::ok();
}

// Fills the posted receives of this socket in order: first from the bytes read ahead, then with
// one system call for up to kFramesPerSend frames and kReadAheadBytes beyond them (the frames
// that follow: a call's data after its descriptor, the next call's first message).
Status TcpConnection::progressRecvs(Socket& socket, bool* progressed) {
  for (;;) {
    while (!socket.recvs.empty() && socket.aheadBegin < socket.aheadEnd) {
      iovec iov[3];
      Part& part = socket.recvs.front();
      const int count = remainingIovec(part, &part.wire, &part.wireCrc, iov);
      size_t copied = 0;
      for (int i = 0; i < count && socket.aheadBegin < socket.aheadEnd; ++i) {
        const size_t take = std::min(iov[i].iov_len, socket.aheadEnd - socket.aheadBegin);
        std::memcpy(iov[i].iov_base, socket.ahead.get() + socket.aheadBegin, take);
        socket.aheadBegin += take;
        copied += take;
      }
      *progressed = true;
      bool drained = false;
      TUTTI_RETURN_IF_ERROR(creditRecvs(socket, copied, &drained));
    }
    if (socket.recvs.empty()) return Status::ok();
    socket.aheadBegin = socket.aheadEnd = 0;  // all handed on: a frame is still waiting

    iovec iov[3 * kFramesPerSend + 1];
    int count = 0;
    size_t frames = 0;
    size_t wanted = 0;
    for (Part& part : socket.recvs) {
      if (frames == kFramesPerSend) break;
      const int added = remainingIovec(part, &part.wire, &part.wireCrc, iov + count);
      for (int i = count; i < count + added; ++i) wanted += iov[i].iov_len;
      count += added;
      ++frames;
    }
    if (!socket.ahead) socket.ahead = std::make_unique<char[]>(kReadAheadBytes);
    iov[count++] = {socket.ahead.get(), kReadAheadBytes};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    ssize_t n = ::recvmsg(socket.fd.get(), &msg, MSG_DONTWAIT);
    if (n == 0) {
      return makeError(tuttiRemoteError,
                       "tcp: {} closed the connection (its process exited or aborted)",
                       where(socket));
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Status::ok();
      if (errno == ECONNRESET) {
        return makeError(tuttiRemoteError, "tcp: connection to {} reset", where(socket));
      }
      if (isLostHost(errno)) {
        return lostHostError(fmt::format("tcp: recv from {}", where(socket)), errno);
      }
      return systemError(fmt::format("tcp: recv from {}", where(socket)), errno);
    }
    *progressed = true;
    const size_t got = static_cast<size_t>(n);
    if (got > wanted) socket.aheadEnd = got - wanted;  // the frames wanted are whole
    bool drained = false;
    TUTTI_RETURN_IF_ERROR(creditRecvs(socket, std::min(got, wanted), &drained));
    if (drained) return Status::ok();  // the socket had no more
  }
}

Status TcpConnection::progress(bool* progressed) {
  if (!failure_.isOk()) return failure_;
  for (Socket& socket : sockets_) {
    Status status = progressSends(socket, progressed);
    if (status.isOk()) status = progressRecvs(socket, progressed);
    if (!status.isOk()) {
      failure_ = status;
      return status;
    }
  }
  return Status::ok();
}

bool TcpConnection::busy() const {
  return std::any_of(sockets_.begin(), sockets_.end(), [](const Socket& socket) {
    return !socket.sends.empty() || !socket.recvs.empty();
  });
}

std::string TcpConnection::describePending() const {
  std::string busy;
  std::string idle;
  auto left = [this](const std::deque<Part>& parts) {
    size_t bytes = 0;
    for (const Part& part : parts) bytes += frameBytes(part) - part.done;
    return bytes;
  };
  for (size_t i = 0; i < sockets_.size(); ++i) {
    const Socket& socket = sockets_[i];
    const std::string name =
        socket.link.empty() ? fmt::format("{}", i) : fmt::format("{} over {}", i, socket.link);
    if (socket.sends.empty() && socket.recvs.empty()) {
      idle += (idle.empty() ? "" : ", ") + name;
      continue;
    }
    std::string what;
    if (!socket.sends.empty()) {
      what = fmt::format("{} part(s) to send ({} bytes left)", socket.sends.size(),
                         left(socket.sends));
    }
    if (!socket.recvs.empty()) {
      what += fmt::format("{}{} part(s) to receive ({} bytes left)", what.empty() ? "" : ", ",
                          socket.recvs.size(), left(socket.recvs));
    }
    busy += fmt::format("{}socket {}: {}", busy.empty() ? "" : "; ", name, what);
  }
  if (busy.empty()) return "";
  return idle.empty() ? busy : fmt::format("{}; idle: socket {}", busy, idle);
}

bool TcpConnection::armWait(std::vector<WaitSource>* sources) {
  for (const Socket& socket : sockets_) {
    // Bytes read ahead for a receive posted since: no need to wait on the socket.
    if (!socket.recvs.empty() && socket.aheadBegin < socket.aheadEnd) return true;
  }
  for (const Socket& socket : sockets_) {
    short events = 0;
    if (!socket.sends.empty()) events |= POLLOUT;
    if (!socket.recvs.empty()) events |= POLLIN;
    if (events != 0) sources->push_back(WaitSource{socket.fd.get(), events});
  }
  return false;  // the kernel's socket state is what poll() reports
}

void TcpConnection::shutdown() {
  for (Socket& socket : sockets_) {
    if (socket.fd.valid()) ::shutdown(socket.fd.get(), SHUT_RDWR);
  }
}

}  // namespace tutti
