// Hostile connections, for the tests that check that Tutti's listeners serve the ranks whatever
// strangers do: each kind of stranger a port scanner, another job or a broken client makes, the
// listening sockets a set of processes hold (read from /proc), and a flooder process that keeps
// connecting strangers to all of them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/socket.h"

namespace tutti::test {

enum class StrangerKind {
  kSilent,          // connects and says nothing
  kGarbage,         // an HTTP request
  kTruncatedHello,  // the first half of a hello, then nothing
  kWrongSecret,     // a whole hello with another secret
  kWrongVersion,    // a whole hello of another protocol version
  kAbsurdCount,     // a whole hello claiming 2^31-1 ranks (with the right secret when known)
};
constexpr int kStrangerKinds = 6;
const char* strangerName(StrangerKind kind);

// A listening socket: TCP (IPv4 or IPv6) or an abstract Unix socket (the shm doorbells).
struct ListenerAddress {
  bool isUnix = false;
  SockAddr tcp;
  std::string unixName;  // abstract name, without the leading NUL
  std::string toString() const;
};

// Connects to the listener and behaves as kind: sends what that stranger sends and returns the
// connection, kept open. secret: the communicator's, for a stranger that knows it (kAbsurdCount),
// or nullptr. An invalid Fd when the listener is gone.
Fd connectStranger(const ListenerAddress& listener, StrangerKind kind, const uint8_t* secret);

// Every listening socket the processes hold, from /proc/<pid>/fd and /proc/net/{tcp,tcp6,unix}.
std::vector<ListenerAddress> listenersOf(const std::vector<pid_t>& pids);

// A forked process that, until stopped, connects strangers of every kind in turn to every
// listening socket of the watched processes: the parent (pid given) and its children other than
// the flooder. It keeps up to maxOpen connections open (fewer when its file descriptor limit is
// lower), closing the oldest: long enough that a listener waiting on one stranger at a time
// would wait seconds.
class Flooder {
 public:
  struct Counts {
    int64_t connections = 0;  // strangers connected
    int64_t listeners = 0;    // distinct listening sockets reached
    int64_t unixListeners = 0;
  };
  // secret: see connectStranger (may be nullptr).
  Flooder(pid_t watched, const uint8_t* secret, int maxOpen = 1000);
  ~Flooder();
  Flooder(const Flooder&) = delete;
  Flooder& operator=(const Flooder&) = delete;
  // Stops the flooder and returns what it did.
  Counts stop();

 private:
  pid_t pid_ = -1;
  int control_ = -1;  // socketpair end: a byte stops the flooder, which answers with its Counts
};

}  // namespace tutti::test
