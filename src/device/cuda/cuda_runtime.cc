#include "device/cuda/cuda_runtime.h"

#include <cuda_runtime_api.h>

#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "device/cuda/cuda_kernels.h"

namespace tutti {
namespace device {
namespace {

Status cudaError(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return Status::ok();
  // Clear the thread's sticky last error so later calls do not report it again.
  (void)cudaGetLastError();
  return makeError(tuttiSystemError, "CUDA {} failed: {} ({})", what, cudaGetErrorString(err),
                   cudaGetErrorName(err));
}

Status cudaError(int err, const char* what) {
  return cudaError(static_cast<cudaError_t>(err), what);
}

// cuMemGetAddressRange (CUDA 3.2's _v2 ABI: CUdeviceptr is an unsigned long long), looked up
// through the runtime so that the driver API needs no link; nullptr where the driver lacks it.
using AddressRange = int (*)(unsigned long long* base, size_t* bytes, unsigned long long pointer);
AddressRange addressRange() {
  static const AddressRange function = [] {
    void* entry = nullptr;
    cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
#if CUDART_VERSION >= 12050
    const cudaError_t err = cudaGetDriverEntryPointByVersion("cuMemGetAddressRange", &entry, 12000,
                                                             cudaEnableDefault, &found);
#else
    const cudaError_t err =
        cudaGetDriverEntryPoint("cuMemGetAddressRange", &entry, cudaEnableDefault, &found);
#endif
    if (err != cudaSuccess || found != cudaDriverEntryPointSuccess) {
      (void)cudaGetLastError();
      return AddressRange{nullptr};
    }
    return reinterpret_cast<AddressRange>(entry);
  }();
  return function;
}

class CudaRuntime final : public Runtime {
 public:
  explicit CudaRuntime(int deviceCount)
      : deviceCount_(deviceCount), smCounts_(static_cast<size_t>(deviceCount), 0) {}

  const char* name() const override { return "cuda"; }
  int deviceCount() override { return deviceCount_; }

  Status currentDevice(int* device, bool* wasSet) override {
    TUTTI_RETURN_IF_ERROR(cudaError(cudaGetDevice(device), "cudaGetDevice"));
    // The runtime does not say whether the program chose device 0 or left it; a launcher's
    // LOCAL_RANK decides only then.
    if (wasSet != nullptr) *wasSet = *device != 0;
    return Status::ok();
  }

  Status setDevice(int device) override {
    return cudaError(cudaSetDevice(device), "cudaSetDevice");
  }

  Status classify(const void* pointer, PointerInfo* info) override {
    *info = PointerInfo{};
    cudaPointerAttributes attributes{};
    const cudaError_t err = cudaPointerGetAttributes(&attributes, pointer);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();  // not a pointer CUDA knows: host memory
      return Status::ok();
    }
    switch (attributes.type) {
      case cudaMemoryTypeDevice:
        info->kind = MemoryKind::kDevice;
        info->device = attributes.device;
        break;
      case cudaMemoryTypeManaged:
        info->kind = MemoryKind::kManaged;
        break;
      case cudaMemoryTypeHost:
        info->kind = MemoryKind::kPinned;
        break;
      default:
        break;
    }
    return Status::ok();
  }

  Status allocDevice(void** pointer, size_t bytes) override {
    return cudaError(cudaMalloc(pointer, bytes), "cudaMalloc");
  }
  Status freeDevice(void* pointer) override { return cudaError(cudaFree(pointer), "cudaFree"); }
  Status allocPinned(void** pointer, size_t bytes) override {
    return cudaError(cudaHostAlloc(pointer, bytes, cudaHostAllocPortable | cudaHostAllocMapped),
                     "cudaHostAlloc");
  }
  Status freePinned(void* pointer) override {
    return cudaError(cudaFreeHost(pointer), "cudaFreeHost");
  }

  Status exportMemory(const void* pointer, ExportedMemory* out) override {
    *out = ExportedMemory{};
    static_assert(sizeof(cudaIpcMemHandle_t) <= sizeof(out->handle), "IPC handle size");
    // CUDA IPC exports whole allocations: find the one holding the pointer (the driver's
    // cuMemGetAddressRange), so that peers add the pointer's offset to what they map.
    AddressRange range = addressRange();
    unsigned long long start = 0;
    size_t bytes = 0;
    if (range == nullptr ||
        range(&start, &bytes, reinterpret_cast<unsigned long long>(pointer)) != 0) {
      return makeError(tuttiSystemError,
                       "CUDA IPC: cannot find the allocation holding {} (the driver's "
                       "cuMemGetAddressRange is {}): it is not exported",
                       pointer, range == nullptr ? "not available" : "failing for it");
    }
    const char* base = reinterpret_cast<const char*>(start);
    out->bytes = bytes;
    out->offset = static_cast<size_t>(static_cast<const char*>(pointer) - base);
    cudaIpcMemHandle_t handle;
    TUTTI_RETURN_IF_ERROR(cudaError(cudaIpcGetMemHandle(&handle, const_cast<char*>(base)),
                                    "cudaIpcGetMemHandle (the pointer must lie in a cudaMalloc "
                                    "allocation)"));
    memcpy(out->handle, &handle, sizeof(handle));
    PointerInfo info;
    TUTTI_RETURN_IF_ERROR(classify(pointer, &info));
    out->device = info.device;
    return Status::ok();
  }
  Status importMemory(const ExportedMemory& exported, void** pointer) override {
    cudaIpcMemHandle_t handle;
    memcpy(&handle, exported.handle, sizeof(handle));
    void* base = nullptr;
    TUTTI_RETURN_IF_ERROR(
        cudaError(cudaIpcOpenMemHandle(&base, handle, cudaIpcMemLazyEnablePeerAccess),
                  "cudaIpcOpenMemHandle"));
    *pointer = static_cast<char*>(base) + exported.offset;
    std::lock_guard<std::mutex> lock(mutex_);
    // closeImported closes what cudaIpcOpenMemHandle returned (once per open: CUDA counts the
    // opens of one allocation in a process).
    imported_.emplace(*pointer, base);
    return Status::ok();
  }
  Status closeImported(void* pointer) override {
    void* base = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = imported_.find(pointer);
      if (it == imported_.end()) {
        return makeError(tuttiInvalidArgument, "{} is not memory imported here", pointer);
      }
      base = it->second;
      imported_.erase(it);
    }
    return cudaError(cudaIpcCloseMemHandle(base), "cudaIpcCloseMemHandle");
  }

  Status streamCreate(Stream* stream) override {
    cudaStream_t s = nullptr;
    TUTTI_RETURN_IF_ERROR(
        cudaError(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate"));
    *stream = s;
    return Status::ok();
  }
  Status streamDestroy(Stream stream) override {
    return cudaError(cudaStreamDestroy(static_cast<cudaStream_t>(stream)), "cudaStreamDestroy");
  }
  Status streamSynchronize(Stream stream, int timeoutMs) override {
    const auto start = std::chrono::steady_clock::now();
    for (int idle = 0;; ++idle) {
      const cudaError_t err = cudaStreamQuery(static_cast<cudaStream_t>(stream));
      if (err == cudaSuccess) return Status::ok();
      if (err != cudaErrorNotReady) return cudaError(err, "cudaStreamQuery");
      if (timeoutMs >= 0 &&
          std::chrono::steady_clock::now() - start > std::chrono::milliseconds(timeoutMs)) {
        return makeError(tuttiTimeout, "CUDA stream {} still busy after {} ms", stream, timeoutMs);
      }
      if (idle > 64) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  bool isStream(Stream) override { return true; }

  Status copyAsync(void* dst, const void* src, size_t bytes, Stream stream) override {
    if (bytes == 0) return Status::ok();
    return cudaError(
        cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, static_cast<cudaStream_t>(stream)),
        "cudaMemcpyAsync");
  }
  Status launchHostFunction(Stream stream, HostFunction fn, void* arg) override {
    return cudaError(cudaLaunchHostFunc(static_cast<cudaStream_t>(stream), fn, arg),
                     "cudaLaunchHostFunc");
  }
  Status waitFlag(Stream stream, const uint64_t* flag, uint64_t value) override {
    return cudaError(launchWaitFlagKernel(flag, value, stream), "the flag-wait kernel launch");
  }
  Status launchReduce(const ReduceLaunch& launch, Stream stream) override {
    int sms = 0;
    TUTTI_RETURN_IF_ERROR(smCount(&sms));
    return cudaError(launchReduceKernel(launch, stream, sms), "the reduction kernel launch");
  }
  Status launchReduceMany(const ReduceManyLaunch& launch, Stream stream) override {
    if (launch.inputCount < 1 || launch.inputCount > kMaxP2pRanks) {
      return makeError(tuttiInvalidArgument, "CUDA: a reduction of {} inputs (1..{})",
                       launch.inputCount, kMaxP2pRanks);
    }
    int sms = 0;
    TUTTI_RETURN_IF_ERROR(smCount(&sms));
    return cudaError(launchReduceManyKernel(launch, stream, sms),
                     "the p2p reduction kernel launch");
  }
  Status launchBarrier(const BarrierLaunch& launch, Stream stream) override {
    if (launch.ranks < 1 || launch.ranks > kMaxP2pRanks || launch.error == nullptr ||
        launch.timeoutMs <= 0) {
      return makeError(tuttiInvalidArgument, "CUDA: a barrier of {} ranks (1..{}), timeout {} ms",
                       launch.ranks, kMaxP2pRanks, launch.timeoutMs);
    }
    return cudaError(launchBarrierKernel(launch, stream), "the p2p barrier kernel launch");
  }

 private:
  // The current device's multiprocessors, asked once per device.
  Status smCount(int* sms) {
    int device = 0;
    TUTTI_RETURN_IF_ERROR(cudaError(cudaGetDevice(&device), "cudaGetDevice"));
    std::lock_guard<std::mutex> lock(mutex_);
    int& cached = smCounts_[static_cast<size_t>(device)];
    if (cached == 0) {
      TUTTI_RETURN_IF_ERROR(cudaError(deviceSmCount(device, &cached), "deviceSmCount"));
    }
    *sms = cached;
    return Status::ok();
  }

  const int deviceCount_;
  std::mutex mutex_;
  std::vector<int> smCounts_;             // per device, 0 until asked
  std::multimap<void*, void*> imported_;  // importMemory's pointers -> their mappings' starts
};

}  // namespace

std::unique_ptr<Runtime> makeCudaRuntime() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count <= 0) {
    (void)cudaGetLastError();
    return nullptr;
  }
  return std::make_unique<CudaRuntime>(count);
}

}  // namespace device
}  // namespace tutti
