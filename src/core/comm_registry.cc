// The registry of live communicators. The C API checks every handle here before it touches a
// communicator, so a destroyed one is an error instead of a use after free. A handle is not the
// communicator's address: the allocator gives a freed address to the next communicator, and the
// old handle would then reach the new one. Each communicator gets a number this process never
// gives out again, and the handle carries that number.
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/comm.h"

namespace tutti {
namespace {

static_assert(sizeof(uintptr_t) == 8, "handles carry a 48-bit number under a 16-bit tag");
// High bits no user-space address has (non-canonical on x86-64 and AArch64): a handle that some
// code dereferences by mistake faults at once instead of reading another object.
constexpr uintptr_t kHandleTag = uintptr_t{0x7e57} << 48;
constexpr uintptr_t kNumberMask = (uintptr_t{1} << 48) - 1;

struct Registry {
  std::unordered_map<uintptr_t, tuttiComm*> live;  // by handle
  uintptr_t lastNumber = 0;
};

Registry& registry() {
  static Registry instance;
  return instance;
}

}  // namespace

std::mutex& registryMutex() {
  static std::mutex mutex;
  return mutex;
}

tuttiComm* resolveLocked(tuttiComm_t handle) {
  auto found = registry().live.find(reinterpret_cast<uintptr_t>(handle));
  return found == registry().live.end() ? nullptr : found->second;
}

tuttiComm_t registerComm(tuttiComm* comm) {
  std::lock_guard<std::mutex> lock(registryMutex());
  Registry& r = registry();
  // 2^48 communicators before the number wraps: a process creating one per microsecond would
  // run for nine years first.
  r.lastNumber = (r.lastNumber + 1) & kNumberMask;
  const uintptr_t handle = kHandleTag | r.lastNumber;
  r.live[handle] = comm;
  return reinterpret_cast<tuttiComm_t>(handle);
}

tuttiComm* unregisterComm(tuttiComm_t handle) {
  std::lock_guard<std::mutex> lock(registryMutex());
  tuttiComm* comm = resolveLocked(handle);
  if (comm != nullptr) registry().live.erase(reinterpret_cast<uintptr_t>(handle));
  return comm;
}

std::vector<tuttiComm_t> liveHandles() {
  std::lock_guard<std::mutex> lock(registryMutex());
  std::vector<tuttiComm_t> handles;
  for (const auto& entry : registry().live) {
    handles.push_back(reinterpret_cast<tuttiComm_t>(entry.first));
  }
  return handles;
}

tuttiComm* liveComm(tuttiComm_t handle) {
  std::lock_guard<std::mutex> lock(registryMutex());
  return resolveLocked(handle);
}

}  // namespace tutti
