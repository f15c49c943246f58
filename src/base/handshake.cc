#include "base/handshake.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace tutti {

Hello makeHello(HelloKind kind, const uint8_t* secret, int rank) {
  Hello hello;
  hello.kind = static_cast<uint16_t>(kind);
  hello.rank = rank;
  std::memcpy(hello.secret, secret, kSecretBytes);
  return hello;
}

Status sendHello(int fd, const Hello& hello, const Deadline& deadline,
                 const std::atomic<bool>* abortFlag) {
  return sendAll(fd, &hello, sizeof(hello), deadline, abortFlag);
}

Status checkHelloPrefix(const void* data, size_t bytes) {
  Hello hello;
  std::memcpy(&hello, data, std::min(bytes, sizeof(hello)));
  if (bytes >= sizeof(hello.magic) && hello.magic != kHelloMagic) {
    return makeError(tuttiRemoteError, "a connection that is not Tutti's (magic {:#x})",
                     hello.magic);
  }
  if (bytes >= offsetof(Hello, version) + sizeof(hello.version) && hello.version != kHelloVersion) {
    return makeError(tuttiRemoteError,
                     "a peer speaking protocol version {} where this library speaks {} (mixed "
                     "Tutti builds in one job?)",
                     hello.version, kHelloVersion);
  }
  return Status::ok();
}

Status checkHello(const Hello& hello, HelloKind expected, const uint8_t* secret) {
  TUTTI_RETURN_IF_ERROR(checkHelloPrefix(&hello, sizeof(hello)));
  if (!secretsEqual(hello.secret, secret)) {
    return makeError(tuttiRemoteError, "a connection with a wrong secret (another job's?)");
  }
  if (hello.kind != static_cast<uint16_t>(expected)) {
    return makeError(tuttiRemoteError, "a hello of kind {} where kind {} was expected", hello.kind,
                     static_cast<int>(expected));
  }
  return Status::ok();
}

Status receiveHello(int fd, HelloKind expected, const uint8_t* secret, const Deadline& deadline,
                    Hello* out, const std::atomic<bool>* abortFlag) {
  const Deadline helloDeadline = Deadline::afterMs(deadline.remainingMs(kHelloTimeoutMs));
  TUTTI_RETURN_IF_ERROR(recvAll(fd, out, sizeof(*out), helloDeadline, abortFlag)
                            .withContext("waiting for a connection's hello"));
  return checkHello(*out, expected, secret);
}

}  // namespace tutti
