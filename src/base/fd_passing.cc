#include "base/fd_passing.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace tutti {
namespace {

// One control message carrying one descriptor, beside the one data byte that carries it.
struct DescriptorMessage {
  char byte = 0;
  iovec io{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr header{};

  DescriptorMessage() {
    header.msg_iov = &io;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof(control);
  }
};

}  // namespace

Status sendDescriptor(int socket, int fd) {
  DescriptorMessage message;
  cmsghdr* control = CMSG_FIRSTHDR(&message.header);
  control->cmsg_level = SOL_SOCKET;
  control->cmsg_type = SCM_RIGHTS;
  control->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(control), &fd, sizeof(int));
  ssize_t sent;
  do {
    sent = sendmsg(socket, &message.header, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent != 1) {
    return makeError(tuttiSystemError, "passing descriptor {} over socket {}: {}", fd, socket,
                     sent < 0 ? strerror(errno) : "nothing sent");
  }
  return Status::ok();
}

Status receiveDescriptor(int socket, int* fd) {
  *fd = -1;
  DescriptorMessage message;
  ssize_t received;
  do {
    received = recvmsg(socket, &message.header, MSG_CMSG_CLOEXEC);
  } while (received < 0 && errno == EINTR);
  if (received != 1) {
    return makeError(tuttiRemoteError, "receiving a descriptor over socket {}: {}", socket,
                     received < 0 ? strerror(errno) : "the peer closed the socket");
  }
  const cmsghdr* control = CMSG_FIRSTHDR(&message.header);
  if (control == nullptr || control->cmsg_level != SOL_SOCKET || control->cmsg_type != SCM_RIGHTS ||
      control->cmsg_len != CMSG_LEN(sizeof(int)) || (message.header.msg_flags & MSG_CTRUNC) != 0) {
    return makeError(tuttiRemoteError, "socket {}: the message carried no descriptor", socket);
  }
  memcpy(fd, CMSG_DATA(control), sizeof(int));
  return Status::ok();
}

}  // namespace tutti
