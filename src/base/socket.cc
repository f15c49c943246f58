#include "base/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tutti {
namespace {

// poll() slices: short enough that an abort is seen quickly.
constexpr int kPollSliceMs = 50;

Status waitFor(int fd, short events, const Deadline& deadline, const std::atomic<bool>* abortFlag,
               const char* what, const WaitCheck& check = nullptr) {
  while (true) {
    if (abortFlag != nullptr && abortFlag->load(std::memory_order_relaxed)) {
      return makeError(tuttiRemoteError, "{}: communicator aborted", what);
    }
    if (check) TUTTI_RETURN_IF_ERROR(check());
    if (deadline.expired()) return makeError(tuttiTimeout, "{}: timed out", what);
    pollfd pfd{fd, events, 0};
    int ready = ::poll(&pfd, 1, deadline.remainingMs(kPollSliceMs));
    if (ready > 0) return Status::ok();
    if (ready < 0 && errno != EINTR) return systemError(std::string(what) + ": poll", errno);
  }
}

}  // namespace

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

uint16_t SockAddr::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return 0;
}

void SockAddr::setPort(uint16_t port) {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(port);
}

bool SockAddr::isLoopback() const {
  if (family() == AF_INET) {
    return (ntohl(reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr.s_addr) >> 24) == 127;
  }
  if (family() == AF_INET6) {
    return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr);
  }
  return false;
}

std::string SockAddr::toString() const {
  char text[INET6_ADDRSTRLEN] = {0};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, text,
              sizeof(text));
    return fmt::format("{}:{}", text, port());
  }
  if (family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    if (in6->sin6_scope_id != 0) return fmt::format("[{}%{}]:{}", text, in6->sin6_scope_id, port());
    return fmt::format("[{}]:{}", text, port());
  }
  return "(no address)";
}

WireAddr toWire(const SockAddr& addr) {
  WireAddr wire{};
  wire.family = static_cast<uint16_t>(addr.family());
  wire.port = addr.port();
  if (addr.family() == AF_INET) {
    std::memcpy(wire.addr, &reinterpret_cast<const sockaddr_in*>(&addr.storage)->sin_addr, 4);
  } else if (addr.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr.storage);
    std::memcpy(wire.addr, &in6->sin6_addr, 16);
    wire.scopeId = in6->sin6_scope_id;
  }
  return wire;
}

Status fromWire(const WireAddr& wire, SockAddr* out) {
  *out = SockAddr{};
  if (wire.family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&out->storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(wire.port);
    std::memcpy(&in->sin_addr, wire.addr, 4);
    out->length = sizeof(sockaddr_in);
    return Status::ok();
  }
  if (wire.family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&out->storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(wire.port);
    in6->sin6_scope_id = wire.scopeId;
    std::memcpy(&in6->sin6_addr, wire.addr, 16);
    out->length = sizeof(sockaddr_in6);
    return Status::ok();
  }
  return makeError(tuttiInvalidArgument, "address family {} is neither IPv4 nor IPv6", wire.family);
}

Status parseHostPort(const std::string& text, SockAddr* out) {
  std::string host;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return makeError(tuttiInvalidArgument, "'{}' is not [ipv6]:port", text);
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return makeError(tuttiInvalidArgument, "'{}' is not host:port", text);
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  char* end = nullptr;
  long portNumber = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || portNumber < 0 || portNumber > 65535) {
    return makeError(tuttiInvalidArgument, "'{}': port '{}' is not a number in [0, 65535]", text,
                     port);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &result);
  if (rc != 0 || result == nullptr) {
    return makeError(tuttiInvalidArgument, "'{}': cannot resolve host '{}': {}", text, host,
                     gai_strerror(rc));
  }
  *out = SockAddr{};
  std::memcpy(&out->storage, result->ai_addr, result->ai_addrlen);
  out->length = result->ai_addrlen;
  freeaddrinfo(result);
  out->setPort(static_cast<uint16_t>(portNumber));
  return Status::ok();
}

Status setNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return systemError("fcntl(O_NONBLOCK)", errno);
  }
  return Status::ok();
}

Status setNoDelay(int fd) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
    return systemError("setsockopt(TCP_NODELAY)", errno);
  }
  return Status::ok();
}

Status setKeepAlive(int fd, int deadAfterMs) {
  if (deadAfterMs <= 0) return Status::ok();
  const int totalSec = std::max(2, (deadAfterMs + 999) / 1000);
  const int idleSec = totalSec / 2;
  const int intervalSec = 1;
  const int probes = std::max(1, totalSec - idleSec);
  const int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) < 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idleSec, sizeof(idleSec)) < 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intervalSec, sizeof(intervalSec)) < 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof(probes)) < 0) {
    return systemError("setsockopt(SO_KEEPALIVE)", errno);
  }
  return Status::ok();
}

bool isLostHost(int err) { return err == ETIMEDOUT || err == EHOSTUNREACH; }

Status lostHostError(const std::string& what, int err) {
  return makeError(tuttiRemoteError,
                   "{}: the peer's host stopped answering ({}: TCP keepalive or retransmission "
                   "gave up; the host is down or a link between is cut)",
                   what, std::strerror(err));
}

Status listenOn(const SockAddr& addr, Fd* out, SockAddr* actual) {
  Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return systemError("socket", errno);
  int one = 1;
  // A fixed port (TUTTI_COMM_ID) must be reusable right after a previous job exits.
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd.get(), addr.get(), addr.length) < 0) {
    return systemError(fmt::format("bind({})", addr.toString()), errno);
  }
  if (::listen(fd.get(), SOMAXCONN) < 0) return systemError("listen", errno);
  TUTTI_RETURN_IF_ERROR(setNonBlocking(fd.get()));
  SockAddr bound;
  bound.length = sizeof(bound.storage);
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound.storage), &bound.length) < 0) {
    return systemError("getsockname", errno);
  }
  if (actual != nullptr) *actual = bound;
  *out = std::move(fd);
  return Status::ok();
}

namespace {

Status connectRetrying(const SockAddr& addr, const Deadline& deadline, Fd* out,
                       const std::atomic<bool>* abortFlag, const WaitCheck& check,
                       bool refusedIsFinal, const SockAddr* from) {
  int backoffMs = 1;
  while (true) {
    Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid()) return systemError("socket", errno);
    if (from != nullptr && ::bind(fd.get(), from->get(), from->length) != 0) {
      return systemError(
          fmt::format("bind({}) to connect to {}", from->toString(), addr.toString()), errno);
    }
    int rc = ::connect(fd.get(), addr.get(), addr.length);
    int err = rc == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      TUTTI_RETURN_IF_ERROR(waitFor(fd.get(), POLLOUT, deadline, abortFlag, "connect", check));
      socklen_t len = sizeof(err);
      getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    }
    if (err == 0) {
      TUTTI_RETURN_IF_ERROR(setNoDelay(fd.get()));
      *out = std::move(fd);
      return Status::ok();
    }
    if (err == ECONNREFUSED && refusedIsFinal) {
      return makeError(tuttiRemoteError,
                       "connect({}): refused: nothing listens there any more (the process that "
                       "published it exited or gave up)",
                       addr.toString());
    }
    bool retry = err == ECONNREFUSED || err == ETIMEDOUT || err == ECONNRESET ||
                 err == EHOSTUNREACH || err == ENETUNREACH || err == EAGAIN;
    if (!retry) return systemError(fmt::format("connect({})", addr.toString()), err);
    if (deadline.expired()) {
      return makeError(tuttiTimeout, "connect({}): no listener before the timeout (last: {})",
                       addr.toString(), std::strerror(err));
    }
    if (abortFlag != nullptr && abortFlag->load()) {
      return makeError(tuttiRemoteError, "connect: communicator aborted");
    }
    if (check) TUTTI_RETURN_IF_ERROR(check());
    ::usleep(static_cast<useconds_t>(backoffMs) * 1000);
    backoffMs = backoffMs < 100 ? backoffMs * 2 : 100;
  }
}

}  // namespace

Status connectTo(const SockAddr& addr, const Deadline& deadline, Fd* out,
                 const std::atomic<bool>* abortFlag, const WaitCheck& check) {
  return connectRetrying(addr, deadline, out, abortFlag, check, false, nullptr);
}

Status connectToListening(const SockAddr& addr, const Deadline& deadline, Fd* out,
                          const std::atomic<bool>* abortFlag, const WaitCheck& check,
                          const SockAddr* from) {
  return connectRetrying(addr, deadline, out, abortFlag, check, true, from);
}

Status checkSilentLink(int fd, const std::string& peer) {
  pollfd pfd{fd, POLLRDHUP, 0};
  if (::poll(&pfd, 1, 0) <= 0 || (pfd.revents & (POLLERR | POLLHUP | POLLRDHUP)) == 0) {
    return Status::ok();
  }
  int err = 0;
  socklen_t length = sizeof(err);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &length);
  if (isLostHost(err)) return lostHostError("the link to " + peer, err);
  if (err != 0) {
    return makeError(tuttiRemoteError, "the link to {} failed: {}", peer, std::strerror(err));
  }
  return makeError(tuttiRemoteError, "{} closed its link (its process exited, or it gave up)",
                   peer);
}

Status acceptFrom(int listenFd, const Deadline& deadline, Fd* out,
                  const std::atomic<bool>* abortFlag) {
  while (true) {
    int fd = ::accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      *out = Fd(fd);
      sockaddr_storage local{};
      socklen_t length = sizeof(local);
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
      // TCP_NODELAY is for TCP; Unix sockets (the shm doorbells) have no Nagle to turn off.
      return local.ss_family == AF_UNIX ? Status::ok() : setNoDelay(fd);
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
      return systemError("accept", errno);
    }
    TUTTI_RETURN_IF_ERROR(waitFor(listenFd, POLLIN, deadline, abortFlag, "accept"));
  }
}

Status sendAll(int fd, const void* data, size_t bytes, const Deadline& deadline,
               const std::atomic<bool>* abortFlag) {
  return sendRecvAll(fd, data, bytes, -1, nullptr, 0, deadline, abortFlag);
}

Status recvAll(int fd, void* data, size_t bytes, const Deadline& deadline,
               const std::atomic<bool>* abortFlag) {
  return sendRecvAll(-1, nullptr, 0, fd, data, bytes, deadline, abortFlag);
}

Status sendRecvAll(int sendFd, const void* sendData, size_t sendBytes, int recvFd, void* recvData,
                   size_t recvBytes, const Deadline& deadline, const std::atomic<bool>* abortFlag) {
  const char* out = static_cast<const char*>(sendData);
  char* in = static_cast<char*>(recvData);
  size_t sent = 0;
  size_t received = 0;
  while (sent < sendBytes || received < recvBytes) {
    bool progressed = false;
    if (sent < sendBytes) {
      ssize_t n = ::send(sendFd, out + sent, sendBytes - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        progressed = true;
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        if (errno == EPIPE || errno == ECONNRESET) {
          return makeError(tuttiRemoteError, "send: peer closed the connection");
        }
        if (isLostHost(errno)) return lostHostError("send", errno);
        return systemError("send", errno);
      }
    }
    if (received < recvBytes) {
      ssize_t n = ::recv(recvFd, in + received, recvBytes - received, MSG_DONTWAIT);
      if (n > 0) {
        received += static_cast<size_t>(n);
        progressed = true;
      } else if (n == 0) {
        return makeError(tuttiRemoteError, "recv: peer closed the connection");
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        if (errno == ECONNRESET) return makeError(tuttiRemoteError, "recv: connection reset");
        if (isLostHost(errno)) return lostHostError("recv", errno);
        return systemError("recv", errno);
      }
    }
    if (progressed) continue;
    if (abortFlag != nullptr && abortFlag->load(std::memory_order_relaxed)) {
      return makeError(tuttiRemoteError, "communicator aborted");
    }
    if (deadline.expired()) {
      return makeError(tuttiTimeout,
                       "socket transfer timed out ({} of {} bytes sent, {} of {} "
                       "received)",
                       sent, sendBytes, received, recvBytes);
    }
    pollfd pfds[2];
    int count = 0;
    if (sent < sendBytes) pfds[count++] = pollfd{sendFd, POLLOUT, 0};
    if (received < recvBytes) pfds[count++] = pollfd{recvFd, POLLIN, 0};
    if (::poll(pfds, count, deadline.remainingMs(kPollSliceMs)) < 0 && errno != EINTR) {
      return systemError("poll", errno);
    }
  }
  return Status::ok();
}

}  // namespace tutti
