// A connection to rank 1 that never delivers anything: sends complete at once, receives never,
// progress() reports movement only when told to, and waits block on a pipe nobody writes to.
// For tests of how the progress engine and the executor wait.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <vector>

#include "base/socket.h"
#include "transports/transport.h"

namespace tutti {

class StillConnection : public Connection {
 public:
  StillConnection() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    readEnd_ = Fd(fds[0]);
    writeEnd_ = Fd(fds[1]);
  }
  int peer() const override { return 1; }
  MemoryDomain& memoryDomain() override { return domain_; }
  Status postSend(const Slice&, TransferRequest* request) override {
    request->done = true;
    return Status::ok();
  }
  Status postRecv(const Slice&, TransferRequest*) override { return Status::ok(); }
  Status progress(bool* progressed) override {
    if (movesOnNextProgress) {
      movesOnNextProgress = false;
      *progressed = true;
    }
    return Status::ok();
  }
  bool busy() const override { return true; }
  bool armWait(std::vector<WaitSource>* sources) override {
    ++armCalls;
    sources->push_back(WaitSource{readEnd_.get(), POLLIN});
    return false;
  }
  void shutdown() override {}

  int armCalls = 0;
  bool movesOnNextProgress = false;

 private:
  MemoryDomain domain_;
  Fd readEnd_;
  Fd writeEnd_;
};

}  // namespace tutti
