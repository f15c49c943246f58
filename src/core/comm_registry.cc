// The registry of live communicators: the C API checks a handle here before it touches it, so
// that a destroyed communicator is an error instead of a use after free.
#include <mutex>
#include <unordered_set>

#include "core/comm.h"

namespace tutti {
namespace {

std::unordered_set<const tuttiComm*>& registry() {
  static std::unordered_set<const tuttiComm*> live;
  return live;
}

}  // namespace

std::mutex& registryMutex() {
  static std::mutex mutex;
  return mutex;
}

bool isLiveLocked(const tuttiComm* comm) { return registry().count(comm) != 0; }

void registerComm(tuttiComm* comm) {
  std::lock_guard<std::mutex> lock(registryMutex());
  registry().insert(comm);
}

bool unregisterComm(tuttiComm* comm) {
  std::lock_guard<std::mutex> lock(registryMutex());
  return registry().erase(comm) != 0;
}

}  // namespace tutti
