// Sockets: RAII descriptors, IPv4/IPv6 addresses and their compact encoding, and the blocking
// helpers (each bounded by a Deadline) that bootstrap and connection setup use. The data path
// of the TCP transport works on non-blocking sockets in transports/tcp/.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "base/deadline.h"
#include "base/status.h"

namespace tutti {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.release();
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset();

 private:
  int fd_ = -1;
};

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  uint16_t port() const;
  void setPort(uint16_t port);
  bool isLoopback() const;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  std::string toString() const;  // "1.2.3.4:5" or "[fe80::1%2]:5"
};

// Compact, fixed-size wire form of an address (fits the unique id and bootstrap messages).
struct WireAddr {
  uint16_t family;
  uint16_t port;  // host byte order
  uint32_t scopeId;
  uint8_t addr[16];
};
static_assert(sizeof(WireAddr) == 24, "WireAddr is part of the wire format");
WireAddr toWire(const SockAddr& addr);
Status fromWire(const WireAddr& wire, SockAddr* out);

// "host:port", "[v6]:port" or "v6addr" with a port after the last colon; host may be a name.
Status parseHostPort(const std::string& text, SockAddr* out);

// A listening socket bound to addr (port 0: any free port); actual gets the bound address.
Status listenOn(const SockAddr& addr, Fd* out, SockAddr* actual);
// Asked once a poll slice (50 ms) by a wait that its caller may end early for a reason only the
// caller knows (a transport's setup: are the ranks the setup channel links to still there?). A
// status other than ok ends the wait with that status.
using WaitCheck = std::function<Status()>;

// Connects, retrying refused connections until the deadline (the peer may not listen yet).
// Errors: tuttiTimeout at the deadline, tuttiRemoteError on abort, check's error, and
// tuttiSystemError for a failure that retrying cannot mend.
Status connectTo(const SockAddr& addr, const Deadline& deadline, Fd* out,
                 const std::atomic<bool>* abortFlag = nullptr, const WaitCheck& check = nullptr);
// connectTo for an address its owner published after it was listening there (the bootstrap
// ring's and the tcp transport's): a refused connection means that listener is gone (its process
// exited or gave up its init), so it is tuttiRemoteError at once instead of a retry. (A full
// backlog drops a SYN, which TCP retries; it does not refuse.) from: the local address to
// connect from (a rail's interface; port 0), or nullptr for the kernel's choice.
Status connectToListening(const SockAddr& addr, const Deadline& deadline, Fd* out,
                          const std::atomic<bool>* abortFlag = nullptr,
                          const WaitCheck& check = nullptr, const SockAddr* from = nullptr);
// Non-blocking: whether the peer of a connected socket that it never sends on has closed it, or
// the connection failed (keepalive, reset): tuttiRemoteError naming `peer`, else ok.
Status checkSilentLink(int fd, const std::string& peer);
Status acceptFrom(int listenFd, const Deadline& deadline, Fd* out,
                  const std::atomic<bool>* abortFlag = nullptr);

Status setNonBlocking(int fd);
Status setNoDelay(int fd);
// TCP keepalive, so that a connection whose peer's host stopped answering (down, or its link
// cut: nothing closes the socket) fails with ETIMEDOUT about deadAfterMs after the last segment
// heard, instead of waiting out a deadline. Probes start after half that time and go every
// second; the kernel counts in whole seconds, so the time is rounded up to at least 2 s.
// deadAfterMs <= 0 leaves the socket as it is. A live host's kernel answers the probes whether
// or not its process runs, so a stopped or busy peer is never taken for a lost host (the
// communicator's heartbeat finds those). Probes go only while everything sent was acknowledged:
// a peer that stops acknowledging data is found by TCP's retransmission limit instead. Errors:
// tuttiSystemError when setsockopt fails.
Status setKeepAlive(int fd, int deadAfterMs);
// Whether a send or receive failed because the peer's host stopped answering (keepalive or
// retransmission gave up: ETIMEDOUT; or the route to it is gone: EHOSTUNREACH).
bool isLostHost(int err);
// tuttiRemoteError for such a failure of `what`, saying so.
Status lostHostError(const std::string& what, int err);

// Blocking transfers over a non-blocking socket, bounded by the deadline. End of stream is
// tuttiRemoteError.
Status sendAll(int fd, const void* data, size_t bytes, const Deadline& deadline,
               const std::atomic<bool>* abortFlag = nullptr);
Status recvAll(int fd, void* data, size_t bytes, const Deadline& deadline,
               const std::atomic<bool>* abortFlag = nullptr);
// Sends on one socket while receiving on another (possibly the same), so that two ranks that
// both send first cannot deadlock on full socket buffers.
Status sendRecvAll(int sendFd, const void* sendData, size_t sendBytes, int recvFd, void* recvData,
                   size_t recvBytes, const Deadline& deadline,
                   const std::atomic<bool>* abortFlag = nullptr);

}  // namespace tutti
