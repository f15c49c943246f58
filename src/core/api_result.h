// How every C API call ends: an internal Status becomes a tuttiResult_t, and a failure's message
// is kept for tuttiGetLastError (the calling thread's, and the communicator's when it is live).
#pragma once

#include "base/status.h"
#include "core/comm.h"
#include "tutti/tutti.h"

#define TUTTI_PUBLIC extern "C" __attribute__((visibility("default")))

namespace tutti {

tuttiResult_t finish(const Status& status, tuttiComm_t comm = nullptr);

// The message of the calling thread's last failed call ("" when none).
const char* threadLastError();

}  // namespace tutti
