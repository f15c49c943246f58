// Serving a listening socket that strangers can reach. Every listener Tutti opens (the bootstrap
// root, the bootstrap ring, the tcp transport's, the shm doorbells') accepts whoever connects and
// must hand on only the connections that prove they belong to this communicator. A stranger may
// connect and say nothing, send garbage or half a hello, or flood the port; none of that may block
// or delay a rank that connects at the same time.
//
// So the acceptor accepts every pending connection at once and reads all their hellos side by
// side (non-blocking, one poll()), each with its own deadline of kHelloTimeoutMs. A connection
// whose bytes are not a hello is dropped as soon as they show it (the magic, then the version);
// one that says nothing is dropped at its deadline; when more than kMaxPendingHellos are waiting,
// the one waiting longest is dropped. Nothing a stranger sends sizes an allocation.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/deadline.h"
#include "base/handshake.h"
#include "base/socket.h"
#include "base/status.h"

namespace tutti {

// Connections waiting for their hello at once; more and the oldest is dropped. Ranks send their
// hello as soon as they connect, so only strangers wait long.
constexpr size_t kMaxPendingHellos = 256;

class HelloAcceptor {
 public:
  // Told why a connection is turned away (the bootstrap root answers it, so that a rank with a
  // wrong secret learns why); called before the connection is closed.
  using RejectFn = std::function<void(int fd, const Status& why)>;

  // listenFd: a non-blocking listening socket, owned by the caller. owner names the listener in
  // logs ("bootstrap root", "tcp: rank 3").
  HelloAcceptor(int listenFd, HelloKind kind, const uint8_t* secret, std::string owner,
                RejectFn onReject = nullptr);
  ~HelloAcceptor();
  HelloAcceptor(const HelloAcceptor&) = delete;
  HelloAcceptor& operator=(const HelloAcceptor&) = delete;

  // The next connection whose hello passed checkHello (magic, version, secret, kind), in the
  // order their hellos completed. Errors: tuttiTimeout at the deadline (saying how many
  // connections were turned away), tuttiRemoteError on abort, check's error (asked once a poll
  // slice), tuttiSystemError when accepting fails for another reason than a stranger (file
  // descriptors exhausted: naming ulimit -n).
  Status next(const Deadline& deadline, Fd* conn, Hello* hello,
              const std::atomic<bool>* abortFlag = nullptr, const WaitCheck& check = nullptr);

  // Turns away a connection next() returned, for a reason only the caller knows (a rank that
  // does not fit, a duplicate); counted and logged like the acceptor's own refusals.
  void reject(Fd conn, const Status& why);

  // Connections turned away so far (not Tutti's, wrong secret or version, silent, evicted).
  int turnedAway() const { return turnedAway_; }

 private:
  struct Pending {
    Fd fd;
    Hello hello;
    size_t received = 0;
    Deadline deadline = Deadline::afterMs(kHelloTimeoutMs);
    bool done = false;  // handed on or turned away; swept after each round
  };

  // Accepts every connection waiting in the backlog.
  Status acceptWaiting();
  // Reads what a pending connection sent; marks it done when its hello is complete or refused.
  void readHello(Pending* pending);
  void refuse(Pending* pending, const Status& why);
  void sweep();

  int listenFd_;
  HelloKind kind_;
  uint8_t secret_[kSecretBytes];
  std::string owner_;
  RejectFn onReject_;
  std::deque<Pending> pending_;  // oldest first
  std::deque<std::pair<Fd, Hello>> ready_;
  int turnedAway_ = 0;
  int warned_ = 0;
};

}  // namespace tutti
