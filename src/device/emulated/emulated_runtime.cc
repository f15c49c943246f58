#include "device/emulated/emulated_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "device/emulated/emulated_stream.h"
#include "device/host_kernels.h"

namespace tutti {
namespace device {
namespace {

thread_local int tCurrentDevice = 0;
thread_local bool tDeviceSet = false;

constexpr int kImported = -2;  // Allocation::fd of a mapping imported from another process

struct Allocation {
  size_t bytes = 0;
  MemoryKind kind = MemoryKind::kDevice;
  int device = -1;
  int fd = -1;  // the shared-memory file of device memory; -1 pinned memory; kImported
};

class EmulatedRuntime final : public Runtime {
 public:
  explicit EmulatedRuntime(int deviceCount)
      : deviceCount_(deviceCount), defaultStreams_(static_cast<size_t>(deviceCount), nullptr) {}

  const char* name() const override { return "emulated"; }
  int deviceCount() override { return deviceCount_; }

  Status currentDevice(int* device, bool* wasSet) override {
    *device = tCurrentDevice;
    if (wasSet != nullptr) *wasSet = tDeviceSet;
    return Status::ok();
  }

  Status setDevice(int device) override {
    if (device < 0 || device >= deviceCount_) {
      return makeError(tuttiInvalidArgument,
                       "emulated device {} does not exist: there are {} (TUTTI_EMULATED_DEVICES)",
                       device, deviceCount_);
    }
    tCurrentDevice = device;
    tDeviceSet = true;
    return Status::ok();
  }

  Status classify(const void* pointer, PointerInfo* info) override {
    *info = PointerInfo{};
    const uintptr_t p = reinterpret_cast<uintptr_t>(pointer);
    std::shared_lock<std::shared_mutex> lock(allocationsMutex_);
    auto it = allocations_.upper_bound(p);
    if (it == allocations_.begin()) return Status::ok();
    --it;
    if (p - it->first >= it->second.bytes) return Status::ok();
    info->kind = it->second.kind;
    info->device = it->second.kind == MemoryKind::kDevice ? it->second.device : -1;
    return Status::ok();
  }

  Status allocDevice(void** pointer, size_t bytes) override {
    *pointer = nullptr;
    // A zero-byte allocation still gets an address of its own, as cudaMalloc's callers expect.
    const size_t mapped = bytes == 0 ? 1 : bytes;
    const int fd = memfd_create("tutti-emulated-device", MFD_CLOEXEC);
    if (fd < 0) {
      return makeError(tuttiSystemError, "emulated device: memfd_create failed: {}",
                       strerror(errno));
    }
    // Reserve the pages now so that running out is this error, not a SIGBUS at first touch.
    const int rc = ftruncate(fd, static_cast<off_t>(mapped)) == 0
                       ? posix_fallocate(fd, 0, static_cast<off_t>(mapped))
                       : errno;
    if (rc != 0) {
      close(fd);
      return makeError(tuttiSystemError, "emulated device: cannot reserve {} bytes: {}", bytes,
                       strerror(rc));
    }
    void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      close(fd);
      return makeError(tuttiSystemError, "emulated device: mmap of {} bytes failed: {}", bytes,
                       strerror(err));
    }
    Allocation allocation{mapped, MemoryKind::kDevice, tCurrentDevice, fd};
    {
      std::unique_lock<std::shared_mutex> lock(allocationsMutex_);
      allocations_[reinterpret_cast<uintptr_t>(p)] = allocation;
    }
    *pointer = p;
    return Status::ok();
  }

  Status freeDevice(void* pointer) override { return release(pointer, MemoryKind::kDevice); }

  Status allocPinned(void** pointer, size_t bytes) override {
    *pointer = nullptr;
    const size_t mapped = bytes == 0 ? 1 : bytes;
    void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      return makeError(tuttiSystemError, "emulated device: pinned allocation of {} bytes: {}",
                       bytes, strerror(errno));
    }
    std::unique_lock<std::shared_mutex> lock(allocationsMutex_);
    allocations_[reinterpret_cast<uintptr_t>(p)] = Allocation{mapped, MemoryKind::kPinned, -1, -1};
    *pointer = p;
    return Status::ok();
  }

  Status freePinned(void* pointer) override { return release(pointer, MemoryKind::kPinned); }

  Status exportMemory(const void* pointer, ExportedMemory* out) override {
    *out = ExportedMemory{};
    const uintptr_t p = reinterpret_cast<uintptr_t>(pointer);
    std::shared_lock<std::shared_mutex> lock(allocationsMutex_);
    auto it = allocations_.upper_bound(p);
    if (it != allocations_.begin()) --it;
    if (it == allocations_.end() || p < it->first || p - it->first >= it->second.bytes ||
        it->second.kind != MemoryKind::kDevice || it->second.fd < 0) {
      return makeError(tuttiInvalidArgument,
                       "{} is not emulated device memory allocated here: only that exports",
                       pointer);
    }
    const int fd = fcntl(it->second.fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
      return makeError(tuttiSystemError, "emulated device: exporting {}: dup failed: {}", pointer,
                       strerror(errno));
    }
    out->fd = fd;
    out->bytes = it->second.bytes;
    out->offset = p - it->first;
    out->device = it->second.device;
    return Status::ok();
  }

  Status importMemory(const ExportedMemory& exported, void** pointer) override {
    *pointer = nullptr;
    if (exported.fd < 0 || exported.bytes == 0 || exported.offset >= exported.bytes) {
      return makeError(tuttiInvalidArgument,
                       "emulated device: import of a handle without a descriptor or with offset "
                       "{} outside its {} bytes",
                       exported.offset, exported.bytes);
    }
    void* p = mmap(nullptr, exported.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, exported.fd, 0);
    if (p == MAP_FAILED) {
      return makeError(tuttiSystemError, "emulated device: mapping an imported {} bytes: {}",
                       exported.bytes, strerror(errno));
    }
    std::unique_lock<std::shared_mutex> lock(allocationsMutex_);
    // Imported: device memory of the exporter's device, unmapped by closeImported (fd -2).
    allocations_[reinterpret_cast<uintptr_t>(p)] =
        Allocation{exported.bytes, MemoryKind::kDevice, exported.device, kImported};
    *pointer = static_cast<char*>(p) + exported.offset;
    return Status::ok();
  }

  Status closeImported(void* pointer) override {
    const uintptr_t p = reinterpret_cast<uintptr_t>(pointer);
    size_t bytes = 0;
    uintptr_t base = 0;
    {
      std::unique_lock<std::shared_mutex> lock(allocationsMutex_);
      auto it = allocations_.upper_bound(p);
      if (it != allocations_.begin()) --it;
      if (it == allocations_.end() || p < it->first || p - it->first >= it->second.bytes ||
          it->second.fd != kImported) {
        return makeError(tuttiInvalidArgument, "{} is not imported emulated device memory",
                         pointer);
      }
      base = it->first;
      bytes = it->second.bytes;
      allocations_.erase(it);
    }
    munmap(reinterpret_cast<void*>(base), bytes);
    return Status::ok();
  }

  Status streamCreate(Stream* stream) override {
    auto* s = new EmulatedStream(tCurrentDevice);
    std::lock_guard<std::mutex> lock(streamsMutex_);
    streams_.insert(s);
    *stream = s;
    return Status::ok();
  }

  Status streamDestroy(Stream stream) override {
    {
      std::lock_guard<std::mutex> lock(streamsMutex_);
      if (streams_.erase(static_cast<EmulatedStream*>(stream)) == 0) {
        return makeError(tuttiInvalidArgument, "{} is not a live emulated stream", stream);
      }
    }
    static_cast<EmulatedStream*>(stream)->retire();
    return Status::ok();
  }

  Status streamSynchronize(Stream stream, int timeoutMs) override {
    EmulatedStream* s = nullptr;
    TUTTI_RETURN_IF_ERROR(resolve(stream, &s));
    return s->synchronize(timeoutMs);
  }

  bool isStream(Stream stream) override {
    if (stream == nullptr) return true;
    std::lock_guard<std::mutex> lock(streamsMutex_);
    return streams_.count(static_cast<EmulatedStream*>(stream)) != 0;
  }

  Status copyAsync(void* dst, const void* src, size_t bytes, Stream stream) override {
    return enqueue(stream, [dst, src, bytes] {
      if (bytes > 0) memcpy(dst, src, bytes);
    });
  }

  Status launchHostFunction(Stream stream, HostFunction fn, void* arg) override {
    return enqueue(stream, [fn, arg] { fn(arg); });
  }

  Status waitFlag(Stream stream, const uint64_t* flag, uint64_t value) override {
    return enqueue(stream, [flag, value] {
      // Spin briefly, then sleep in growing steps: ranks share few cores in tests.
      int idle = 0;
      while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) < value) {
        if (++idle < 64) continue;
        std::this_thread::sleep_for(std::chrono::microseconds(idle < 1000 ? 20 : 200));
      }
    });
  }

  Status launchReduce(const ReduceLaunch& launch, Stream stream) override {
    return enqueue(stream, [launch] { hostReduce(launch); });
  }

  Status launchReduceMany(const ReduceManyLaunch& launch, Stream stream) override {
    if (launch.inputCount < 1 || launch.inputCount > kMaxP2pRanks) {
      return makeError(tuttiInvalidArgument, "emulated device: a reduction of {} inputs (1..{})",
                       launch.inputCount, kMaxP2pRanks);
    }
    if (launch.count == 0) return Status::ok();
    return enqueue(stream, [launch] { hostReduceMany(launch); });
  }

  Status launchBarrier(const BarrierLaunch& launch, Stream stream) override {
    if (launch.ranks < 1 || launch.ranks > kMaxP2pRanks || launch.error == nullptr ||
        launch.timeoutMs <= 0) {
      return makeError(tuttiInvalidArgument,
                       "emulated device: a barrier of {} ranks (1..{}), error word {}, timeout {} "
                       "ms",
                       launch.ranks, kMaxP2pRanks, static_cast<const void*>(launch.error),
                       launch.timeoutMs);
    }
    return enqueue(stream, [launch] { hostBarrier(launch); });
  }

 private:
  Status resolve(Stream stream, EmulatedStream** out) {
    std::lock_guard<std::mutex> lock(streamsMutex_);
    if (stream == nullptr) {
      // Created at first use (not with the runtime) so that a process forked before then gets
      // threads of its own. They live as long as the process: work may be queued at exit.
      if (tCurrentDevice >= deviceCount_) {  // set under another runtime (tests make several)
        return makeError(tuttiInvalidArgument,
                         "the current device {} is not one of the {} emulated", tCurrentDevice,
                         deviceCount_);
      }
      EmulatedStream*& s = defaultStreams_[static_cast<size_t>(tCurrentDevice)];
      if (s == nullptr) s = new EmulatedStream(tCurrentDevice);
      *out = s;
      return Status::ok();
    }
    auto* s = static_cast<EmulatedStream*>(stream);
    if (streams_.count(s) == 0) {
      return makeError(tuttiInvalidArgument, "{} is not a live emulated stream", stream);
    }
    *out = s;
    return Status::ok();
  }

  template <typename Task>
  Status enqueue(Stream stream, Task&& task) {
    EmulatedStream* s = nullptr;
    TUTTI_RETURN_IF_ERROR(resolve(stream, &s));
    s->enqueue(std::forward<Task>(task));
    return Status::ok();
  }

  Status release(void* pointer, MemoryKind kind) {
    if (pointer == nullptr) return Status::ok();
    Allocation allocation;
    {
      std::unique_lock<std::shared_mutex> lock(allocationsMutex_);
      auto it = allocations_.find(reinterpret_cast<uintptr_t>(pointer));
      if (it == allocations_.end() || it->second.kind != kind || it->second.fd == kImported) {
        return makeError(tuttiInvalidArgument, "{} is not the start of emulated {} memory", pointer,
                         memoryKindName(kind));
      }
      allocation = it->second;
      allocations_.erase(it);
    }
    munmap(pointer, allocation.bytes);
    if (allocation.fd >= 0) close(allocation.fd);
    return Status::ok();
  }

  const int deviceCount_;
  std::vector<EmulatedStream*> defaultStreams_;  // per device; under streamsMutex_
  std::shared_mutex allocationsMutex_;
  std::map<uintptr_t, Allocation> allocations_;  // by start address
  std::mutex streamsMutex_;
  std::unordered_set<EmulatedStream*> streams_;  // created and not destroyed
};

}  // namespace

std::unique_ptr<Runtime> makeEmulatedRuntime(int deviceCount) {
  return std::make_unique<EmulatedRuntime>(deviceCount);
}

}  // namespace device
}  // namespace tutti
