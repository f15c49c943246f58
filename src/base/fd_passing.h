#pragma once

#include "base/status.h"

namespace tutti {

// Passes an open file descriptor to the process at the other end of a connected Unix-domain
// socket (SCM_RIGHTS, unix(7)): how exported device memory reaches the ranks that map it.
// The receiver gets a new descriptor of the same open file; each side closes its own.
// Both calls block until the one-byte carrier moved; callers bound them with the socket's timeouts.
Status sendDescriptor(int socket, int fd);
Status receiveDescriptor(int socket, int* fd);

}  // namespace tutti
