// How a C API entry point takes a communicator: resolved from its handle (core/comm.h's registry)
// with its call lock held, so that abort and destroy cannot free it meanwhile.
#pragma once

#include <mutex>

#include "base/status.h"
#include "tutti/tutti.h"

struct tuttiComm;

namespace tutti {

// The live communicator of handle with its call lock taken, or nullptr. The registry lock is
// held while the call lock is taken, so that abort cannot free the communicator in between.
tuttiComm* lockLiveComm(tuttiComm_t handle, std::unique_lock<std::mutex>* callLock);

// lockLiveComm for calls that use the connections on the calling thread outside the operation
// queue (one-sided calls, host window registration): waits, with the lock released, until the
// communicator's queued operations have run (at most TUTTI_TIMEOUT_MS). *comm is nullptr when
// the handle is not live (the status says so); else the lock is held, and the status is
// tuttiTimeout when operations were still queued at the deadline.
Status lockIdleComm(tuttiComm_t handle, const char* what, std::unique_lock<std::mutex>* callLock,
                    tuttiComm** comm);

}  // namespace tutti
