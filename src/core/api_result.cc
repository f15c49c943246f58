#include "core/api_result.h"

#include <string>

#include "base/log.h"

namespace tutti {
namespace {

thread_local std::string tLastError;

}  // namespace

tuttiResult_t finish(const Status& status, tuttiComm_t comm) {
  if (status.isOk()) return tuttiSuccess;
  tLastError = status.message();
  if (comm != nullptr) {
    withLiveComm(comm, [&](tuttiComm* c) {
      std::lock_guard<std::mutex> lock(c->errorMutex);
      c->lastError = status.message();
    });
  }
  if (status.code() == tuttiInvalidArgument || status.code() == tuttiInvalidUsage) {
    TUTTI_WARN(kLogAll, "{}", status.message());
  }
  return status.code();
}

const char* threadLastError() { return tLastError.c_str(); }

}  // namespace tutti
