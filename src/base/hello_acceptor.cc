#include "base/hello_acceptor.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/log.h"

namespace tutti {
namespace {

// poll() slices: short enough that an abort is seen quickly.
constexpr int kPollSliceMs = 50;
// Refusals logged at WARN per listener; the rest at INFO, so that a flood does not flood the log.
constexpr int kWarnedRefusals = 3;

}  // namespace

HelloAcceptor::HelloAcceptor(int listenFd, HelloKind kind, const uint8_t* secret, std::string owner,
                             RejectFn onReject)
    : listenFd_(listenFd), kind_(kind), owner_(std::move(owner)), onReject_(std::move(onReject)) {
  std::memcpy(secret_, secret, kSecretBytes);
}

HelloAcceptor::~HelloAcceptor() {
  if (turnedAway_ > 0) {
    TUTTI_INFO(kLogNet | kLogBootstrap, "{}: turned away {} connection(s) in all", owner_,
               turnedAway_);
  }
}

Status HelloAcceptor::next(const Deadline& deadline, Fd* conn, Hello* hello,
                           const std::atomic<bool>* abortFlag, const WaitCheck& check) {
  while (ready_.empty()) {
    if (abortFlag != nullptr && abortFlag->load(std::memory_order_relaxed)) {
      return makeError(tuttiRemoteError, "{}: communicator aborted", owner_);
    }
    if (check) TUTTI_RETURN_IF_ERROR(check());
    if (deadline.expired()) {
      return makeError(tuttiTimeout, "{}: timed out waiting for connections ({} turned away)",
                       owner_, turnedAway_);
    }
    for (Pending& pending : pending_) {
      if (pending.deadline.expired()) {
        refuse(&pending,
               makeError(tuttiTimeout, "a connection said no hello within {} ms", kHelloTimeoutMs));
      }
    }
    sweep();
    std::vector<pollfd> fds;
    fds.reserve(pending_.size() + 1);
    fds.push_back(pollfd{listenFd_, POLLIN, 0});
    for (const Pending& pending : pending_) fds.push_back(pollfd{pending.fd.get(), POLLIN, 0});
    int ready = ::poll(fds.data(), fds.size(), deadline.remainingMs(kPollSliceMs));
    if (ready < 0 && errno != EINTR) return systemError(owner_ + ": poll", errno);
    if (ready <= 0) continue;
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents != 0) readHello(&pending_[i - 1]);
    }
    sweep();
    if (fds[0].revents != 0) TUTTI_RETURN_IF_ERROR(acceptWaiting());
  }
  *conn = std::move(ready_.front().first);
  *hello = ready_.front().second;
  ready_.pop_front();
  return Status::ok();
}

void HelloAcceptor::reject(Fd conn, const Status& why) {
  Pending pending;
  pending.fd = std::move(conn);
  refuse(&pending, why);
}

Status HelloAcceptor::acceptWaiting() {
  while (true) {
    int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      const int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR || err == ECONNABORTED) {
        return Status::ok();
      }
      if ((err == EMFILE || err == ENFILE) && !pending_.empty()) {
        // Out of descriptors: the connection waiting longest (a stranger, most likely) goes.
        refuse(&pending_.front(),
               makeError(tuttiSystemError, "dropped to free a file descriptor for a newer one"));
        sweep();
        continue;
      }
      // The connection stays in the backlog: it would wake every poll, so this is an error.
      return systemError(owner_ + ": accept", err);
    }
    if (pending_.size() >= kMaxPendingHellos) {
      refuse(&pending_.front(),
             makeError(tuttiRemoteError, "more than {} connections waited for their hello",
                       kMaxPendingHellos));
      sweep();
    }
    Pending pending;
    pending.fd = Fd(fd);
    pending_.push_back(std::move(pending));
    // Ranks send their hello right after connecting; it is often there already.
    readHello(&pending_.back());
    sweep();
  }
}

void HelloAcceptor::readHello(Pending* pending) {
  auto* bytes = reinterpret_cast<char*>(&pending->hello);
  while (pending->received < sizeof(Hello)) {
    ssize_t n = ::recv(pending->fd.get(), bytes + pending->received,
                       sizeof(Hello) - pending->received, MSG_DONTWAIT);
    if (n > 0) {
      pending->received += static_cast<size_t>(n);
      Status prefix = checkHelloPrefix(bytes, pending->received);
      if (!prefix.isOk()) return refuse(pending, prefix);
      continue;
    }
    if (n == 0) {
      return refuse(pending, makeError(tuttiRemoteError,
                                       "a connection closed after {} of the {} bytes of a hello",
                                       pending->received, sizeof(Hello)));
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    return refuse(pending, systemError("reading a hello", errno));
  }
  Status checked = checkHello(pending->hello, kind_, secret_);
  if (!checked.isOk()) return refuse(pending, checked);
  sockaddr_storage local{};
  socklen_t length = sizeof(local);
  getsockname(pending->fd.get(), reinterpret_cast<sockaddr*>(&local), &length);
  // TCP_NODELAY is for TCP; Unix sockets (the shm doorbells) have no Nagle to turn off.
  if (local.ss_family != AF_UNIX) {
    Status nodelay = setNoDelay(pending->fd.get());
    if (!nodelay.isOk()) return refuse(pending, nodelay);
  }
  ready_.emplace_back(std::move(pending->fd), pending->hello);
  pending->done = true;
}

void HelloAcceptor::refuse(Pending* pending, const Status& why) {
  ++turnedAway_;
  // Wrong secrets and versions are another job's or a mixed build's: worth a warning, a few times.
  if (warned_ < kWarnedRefusals && why.code() != tuttiTimeout) {
    ++warned_;
    TUTTI_WARN(kLogNet | kLogBootstrap, "{}: turned a connection away: {}", owner_, why.message());
  } else {
    TUTTI_INFO(kLogNet | kLogBootstrap, "{}: turned a connection away: {}", owner_, why.message());
  }
  if (onReject_ && pending->fd.valid()) onReject_(pending->fd.get(), why);
  pending->fd.reset();
  pending->done = true;
}

void HelloAcceptor::sweep() {
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                [](const Pending& pending) { return pending.done; }),
                 pending_.end());
}

}  // namespace tutti
