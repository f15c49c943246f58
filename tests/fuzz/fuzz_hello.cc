// The bytes a stranger sends a Tutti listener: written to an abstract Unix socket that a
// HelloAcceptor serves (base/hello_acceptor.h), split into two writes at a point the input
// chooses so that the acceptor sees partial hellos. It must hand on only a hello with the secret
// and kind it expects, turn everything else away, and never crash or read past a hello.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/hello_acceptor.h"

namespace {

using namespace tutti;

// The secret the committed corpus's valid hellos carry: bytes 0, 1, 2, ... 31.
const uint8_t* fuzzSecret() {
  static uint8_t secret[kSecretBytes];
  for (size_t i = 0; i < kSecretBytes; ++i) secret[i] = static_cast<uint8_t>(i);
  return secret;
}

sockaddr_un listenerAddress(socklen_t* length) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string name = "tutti-fuzz-hello-" + std::to_string(getpid());
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  *length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return addr;
}

int listener() {
  static int fd = [] {
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    socklen_t length = 0;
    sockaddr_un addr = listenerAddress(&length);
    if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&addr), length) != 0 ||
        ::listen(s, 16) != 0) {
      std::abort();
    }
    return s;
  }();
  return fd;
}

// A connection an earlier input left unaccepted would be taken for this input's: close them all.
void drainBacklog(int listenFd) {
  while (true) {
    int fd = ::accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    ::close(fd);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 4096) return 0;
  const int listenFd = listener();
  drainBacklog(listenFd);
  Fd client(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  socklen_t length = 0;
  sockaddr_un addr = listenerAddress(&length);
  if (::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), length) != 0) std::abort();
  // The first byte chooses where the bytes are split (and whether the sender then closes).
  const size_t split = data[0] % size;
  const bool closes = (data[0] & 0x80) != 0;
  ++data;
  --size;
  const size_t first = split < size ? split : size;
  (void)!::send(client.get(), data, first, MSG_NOSIGNAL);
  HelloAcceptor acceptor(listenFd, HelloKind::kTcpSocket, fuzzSecret(), "fuzz");
  Fd conn;
  Hello hello;
  Status status = acceptor.next(Deadline::afterMs(1), &conn, &hello);
  if (status.isOk()) {
    // Handed on after part of the bytes: they must have held a whole valid hello.
    if (first < sizeof(Hello) || !checkHello(hello, HelloKind::kTcpSocket, fuzzSecret()).isOk()) {
      std::abort();
    }
    return 0;
  }
  (void)!::send(client.get(), data + first, size - first, MSG_NOSIGNAL);
  if (closes) client.reset();
  status = acceptor.next(Deadline::afterMs(1), &conn, &hello);
  if (status.isOk() &&
      (size < sizeof(Hello) || !checkHello(hello, HelloKind::kTcpSocket, fuzzSecret()).isOk())) {
    std::abort();
  }
  if (!status.isOk() && status.code() != tuttiTimeout) std::abort();
  return 0;
}
