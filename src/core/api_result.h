// How every C API call ends: an internal Status becomes a tuttiResult_t, and a failure's message
// is kept for tuttiGetLastError (the calling thread's, and the communicator's when it is live).
#pragma once

#include "base/status.h"
#include "core/comm.h"
#include "tutti/tutti.h"

#define TUTTI_PUBLIC extern "C" __attribute__((visibility("default")))

namespace tutti {

// Allocates nothing it cannot do without: where memory for the message runs out, the code is
// still returned, and tuttiGetLastError says so.
tuttiResult_t finish(const Status& status, tuttiComm_t comm = nullptr) noexcept;

// The end of a C API call that threw (called in a catch block): no exception crosses the C API.
// Memory that ran out is tuttiSystemError "out of memory" and, where comm is live, the
// communicator's failure on every rank (core/comm_failure.h, failOutOfMemory); any other
// exception is tuttiInternalError naming the call and what() it said.
tuttiResult_t finishThrown(tuttiComm_t comm, const char* call) noexcept;

// Runs a C API call's body, which returns its result through finish().
template <typename Body>
tuttiResult_t guarded(tuttiComm_t comm, const char* call, Body&& body) noexcept {
  try {
    return body();
  } catch (...) {
    return finishThrown(comm, call);
  }
}

// The message of the calling thread's last failed call ("" when none).
const char* threadLastError();

}  // namespace tutti
