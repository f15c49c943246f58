#include "core/api_result.h"

#include <exception>
#include <new>
#include <string>

#include "base/log.h"
#include "core/comm_failure.h"

namespace tutti {
namespace {

thread_local std::string tLastError;
// Said instead of tLastError when memory for the message ran out.
thread_local const char* tLastErrorInstead = nullptr;

}  // namespace

tuttiResult_t finish(const Status& status, tuttiComm_t comm) noexcept {
  if (status.isOk()) return tuttiSuccess;
  try {
    tLastError = status.message();
    tLastErrorInstead = nullptr;
  } catch (const std::bad_alloc&) {
    tLastErrorInstead = "out of memory (even for this call's error message)";
  }
  try {
    if (comm != nullptr) {
      withLiveComm(comm, [&](tuttiComm* c) {
        std::lock_guard<std::mutex> lock(c->errorMutex);
        c->lastErrorInstead = "out of memory (even for this call's error message)";
        c->lastError = status.message();
        c->lastErrorInstead = nullptr;
      });
    }
    if (status.code() == tuttiInvalidArgument || status.code() == tuttiInvalidUsage) {
      TUTTI_WARN(kLogAll, "{}", status.message());
    }
  } catch (const std::bad_alloc&) {
  }
  return status.code();
}

tuttiResult_t finishThrown(tuttiComm_t handle, const char* call) noexcept {
  Status status(tuttiInternalError, "exception");
  try {
    throw;
  } catch (const std::bad_alloc&) {
    status = Status(tuttiSystemError, "out of memory");  // short: no allocation
    bool failed = false;
    try {
      if (handle != nullptr) {
        withLiveComm(handle, [&](tuttiComm* comm) {
          failed = true;
          status = failOutOfMemory(comm, call);
        });
      }
      if (!failed) {
        status = makeError(tuttiSystemError,
                           "{}: out of memory (std::bad_alloc): the process's memory, or its "
                           "limit (ulimit -v, the cgroup's memory.max), is exhausted",
                           call);
      }
    } catch (const std::bad_alloc&) {
    }
  } catch (const std::exception& e) {
    try {
      status = makeError(tuttiInternalError, "{}: unexpected exception: {}", call, e.what());
    } catch (const std::bad_alloc&) {
    }
  } catch (...) {
    try {
      status = makeError(tuttiInternalError, "{}: unexpected exception", call);
    } catch (const std::bad_alloc&) {
    }
  }
  return finish(status, handle);
}

const char* threadLastError() {
  return tLastErrorInstead != nullptr ? tLastErrorInstead : tLastError.c_str();
}

}  // namespace tutti
