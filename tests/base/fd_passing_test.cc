#include "base/fd_passing.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tutti {
namespace {

// The received descriptor is a new one for the same open file: what one end writes through the
// original, the other reads through its copy.
TEST(FdPassingTest, ReceivedDescriptorSharesTheOpenFile) {
  int sockets[2], pipeEnds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sockets), 0);
  ASSERT_EQ(pipe(pipeEnds), 0);
  ASSERT_TRUE(sendDescriptor(sockets[0], pipeEnds[1]).isOk());
  int received = -1;
  ASSERT_TRUE(receiveDescriptor(sockets[1], &received).isOk());
  ASSERT_GE(received, 0);
  EXPECT_NE(received, pipeEnds[1]);
  ASSERT_EQ(write(received, "ok", 2), 2);
  char text[2] = {};
  ASSERT_EQ(read(pipeEnds[0], text, 2), 2);
  EXPECT_EQ(std::string(text, 2), "ok");
  for (int fd : {sockets[0], sockets[1], pipeEnds[0], pipeEnds[1], received}) close(fd);
}

// A plain byte without a descriptor, a closed peer and a non-socket are errors, never a
// descriptor number taken from garbage.
TEST(FdPassingTest, MissingDescriptorIsAnError) {
  int sockets[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sockets), 0);
  ASSERT_EQ(write(sockets[0], "x", 1), 1);
  int received = 7;
  EXPECT_EQ(receiveDescriptor(sockets[1], &received).code(), tuttiRemoteError);
  EXPECT_EQ(received, -1);
  close(sockets[0]);
  EXPECT_EQ(receiveDescriptor(sockets[1], &received).code(), tuttiRemoteError);
  close(sockets[1]);
  int pipeEnds[2];
  ASSERT_EQ(pipe(pipeEnds), 0);
  EXPECT_EQ(sendDescriptor(pipeEnds[1], pipeEnds[0]).code(), tuttiSystemError);
  close(pipeEnds[0]);
  close(pipeEnds[1]);
}

}  // namespace
}  // namespace tutti
