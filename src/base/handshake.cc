#include "base/handshake.h"

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

Status receiveHello(int fd, HelloKind expected, const uint8_t* secret, const Deadline& deadline,
                    Hello* out, const std::atomic<bool>* abortFlag) {
  const Deadline helloDeadline = Deadline::afterMs(deadline.remainingMs(kHelloTimeoutMs));
  TUTTI_RETURN_IF_ERROR(recvAll(fd, out, sizeof(*out), helloDeadline, abortFlag)
                            .withContext("waiting for a connection's hello"));
  if (out->magic != kHelloMagic) {
    return makeError(tuttiRemoteError, "a connection that is not Tutti's (magic {:#x})",
                     out->magic);
  }
  if (out->version != kHelloVersion) {
    return makeError(tuttiRemoteError,
                     "a peer speaking protocol version {} where this library speaks {} (mixed "
                     "Tutti builds in one job?)",
                     out->version, kHelloVersion);
  }
  if (!secretsEqual(out->secret, secret)) {
    return makeError(tuttiRemoteError, "a connection with a wrong secret (another job's?)");
  }
  if (out->kind != static_cast<uint16_t>(expected)) {
    return makeError(tuttiRemoteError, "a hello of kind {} where kind {} was expected", out->kind,
                     static_cast<int>(expected));
  }
  return Status::ok();
}

}  // namespace tutti
