// One emulated stream: an ordered queue of host tasks served by a thread of its own, so that
// queued work runs in order, asynchronously to whoever queued it, and a task that waits (a flag
// wait) holds this stream only.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "base/status.h"

namespace tutti {
namespace device {

class EmulatedStream {
 public:
  explicit EmulatedStream(int device);
  // Joins the thread after the queued tasks ran (retire() is how a stream is destroyed without
  // waiting).
  ~EmulatedStream();

  int device() const { return device_; }
  void enqueue(std::function<void()> task);
  // Waits until every task queued before the call ran, at most timeoutMs (< 0: until then).
  Status synchronize(int timeoutMs);
  // Lets the queued tasks finish, then frees the stream on its own thread; the caller must not
  // use it afterwards (cudaStreamDestroy's semantics: destroy does not wait for the work).
  void retire();

 private:
  void serve();

  const int device_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> tasks_;
  uint64_t queued_ = 0;  // tasks ever queued
  uint64_t ran_ = 0;     // tasks that ran
  bool retired_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace device
}  // namespace tutti
