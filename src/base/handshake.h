// The one hello every connection Tutti opens starts with: the bootstrap's (to the root, around the
// ring), the tcp transport's data sockets and the shm transport's doorbells. It says which
// protocol version speaks, what the connection is for, which rank opens it, and proves with the
// communicator's secret that it belongs to this communicator. A receiver checks all of that
// before it trusts the connection, and gives a stranger at most kHelloTimeoutMs to say it.
#pragma once

#include <atomic>
#include <cstdint>

#include "base/deadline.h"
#include "base/socket.h"
#include "base/status.h"
#include "base/unique_id.h"

namespace tutti {

constexpr uint32_t kHelloMagic = 0x49545554;  // "TUTI" in a little-endian dump
// Bumped whenever a hello or what follows it on any connection changes.
constexpr uint16_t kHelloVersion = 3;  // 3: the watch's answers carry the rank awaited
// How long a listener keeps a connection it accepted that has not finished its hello. Listeners
// read hellos concurrently (base/hello_acceptor.h), so a stranger that says nothing costs the
// ranks that are legitimately connecting nothing; this only bounds what strangers hold.
constexpr int kHelloTimeoutMs = 5000;
// The most ranks a communicator may have. Every rank count read from the wire (the root's hello)
// is checked against it before it sizes anything.
constexpr int kMaxRanks = 1 << 20;

enum class HelloKind : uint16_t {
  kBootstrapRoot = 1,   // a rank meeting the bootstrap root
  kBootstrapRing = 2,   // a rank connecting to the next rank of the bootstrap ring
  kTcpSocket = 3,       // one of the tcp transport's sockets to a peer
  kShmDoorbell = 4,     // the shm transport's doorbell of a pair
  kBootstrapWatch = 5,  // a link of the bootstrap watch (core/peer_watch.h): heartbeats, failures
  kP2pWindow = 6,       // a rank asking a peer for its p2p window's descriptor (core/p2p_window.h)
};

struct Hello {
  uint32_t magic = kHelloMagic;
  uint16_t version = kHelloVersion;
  uint16_t kind = 0;  // HelloKind
  int32_t rank = -1;
  int32_t count = 0;  // root: the rank count; tcp: sockets per peer
  int32_t index = 0;  // tcp: which socket of the peer's this is
  int32_t pad = 0;
  uint8_t secret[kSecretBytes] = {0};
  WireAddr address{};  // root: where the rank listens for the bootstrap ring
};
static_assert(sizeof(Hello) == 24 + kSecretBytes + sizeof(WireAddr), "Hello is a wire format");

Hello makeHello(HelloKind kind, const uint8_t* secret, int rank);

Status sendHello(int fd, const Hello& hello, const Deadline& deadline,
                 const std::atomic<bool>* abortFlag = nullptr);

// Checks the first `bytes` bytes of a hello as they arrive (its magic, then its version), so that
// a stranger speaking another protocol is turned away before it sends a whole hello.
Status checkHelloPrefix(const void* data, size_t bytes);
// Checks a complete hello: magic, version, secret, kind. Errors: tuttiRemoteError saying which.
Status checkHello(const Hello& hello, HelloKind expected, const uint8_t* secret);

// Receives a hello within kHelloTimeoutMs (or `deadline`, if sooner) and checks its magic,
// version, kind and secret. Errors: tuttiTimeout when nothing complete arrived in time,
// tuttiRemoteError saying which check failed; the caller then drops the connection.
Status receiveHello(int fd, HelloKind expected, const uint8_t* secret, const Deadline& deadline,
                    Hello* out, const std::atomic<bool>* abortFlag = nullptr);

}  // namespace tutti
