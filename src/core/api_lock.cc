#include "core/api_lock.h"

#include <chrono>
#include <thread>

#include "core/api_args.h"
#include "core/comm.h"

namespace tutti {

tuttiComm* lockLiveComm(tuttiComm_t handle, std::unique_lock<std::mutex>* callLock) {
  tuttiComm* comm = nullptr;
  withLiveComm(handle, [&](tuttiComm* c) {
    *callLock = std::unique_lock<std::mutex>(c->callMutex);
    comm = c;
  });
  return comm;
}

Status lockIdleComm(tuttiComm_t handle, const char* what, std::unique_lock<std::mutex>* callLock,
                    tuttiComm** comm) {
  using Clock = std::chrono::steady_clock;
  Clock::time_point deadline{};
  for (;;) {
    *comm = lockLiveComm(handle, callLock);
    if (*comm == nullptr) return liveCommError(handle);
    if (pendingOperations(*comm) == 0) return Status::ok();
    const int timeoutMs = (*comm)->params.timeoutMs;
    if (deadline == Clock::time_point{}) {
      deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
    } else if (Clock::now() >= deadline) {
      return makeError(tuttiTimeout,
                       "{}: the communicator's queued host-stream calls did not finish within {} "
                       "ms (TUTTI_TIMEOUT_MS)",
                       what, timeoutMs);
    }
    callLock->unlock();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

}  // namespace tutti
