#include "topo/cuda_probe.h"

#include <fmt/format.h>

#include <memory>

#include "base/dynamic_library.h"
#include "topo/builder.h"

namespace tutti::topo {
namespace {

// The parts of cuda.h used here. These driver functions keep their names and signatures across
// CUDA releases (cuda.h maps none of them to a versioned _v2 entry point); CUdevice is an int
// ordinal.
using CUresult = int;
using CUdevice = int;
constexpr CUresult kCudaSuccess = 0;          // CUDA_SUCCESS
constexpr CUresult kCudaErrorNoDevice = 100;  // CUDA_ERROR_NO_DEVICE
constexpr int kComputeCapabilityMajor = 75;   // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
constexpr int kComputeCapabilityMinor = 76;   // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR
// cuDeviceGetPCIBusId wants room for 13 characters with the terminator ("0000:1B:00.0"); NVML's
// bus id buffers take 32, and so does this one.
constexpr int kBusIdChars = 32;

struct CudaApi {
  CUresult (*init)(unsigned int flags);
  CUresult (*getCount)(int* count);
  CUresult (*get)(CUdevice* device, int ordinal);
  CUresult (*getPciBusId)(char* busId, int length, CUdevice device);
  CUresult (*getAttribute)(int* value, int attribute, CUdevice device);
  CUresult (*getErrorName)(CUresult result, const char** name);  // for messages; may be absent
};

// The driver library with its functions resolved into *api; nullptr, with *why set, when it
// does not load or lacks a function. Kept loaded: once cuInit has run the driver keeps
// process-wide state that it is not made to tear down.
std::unique_ptr<DynamicLibrary> loadDriver(CudaApi* api, std::string* why) {
  auto library = DynamicLibrary::open("libcuda.so.1", DynamicLibrary::Lifetime::kKeepLoaded, why);
  if (!library) return library;
  const bool complete = library->resolve("cuInit", &api->init, why) &&
                        library->resolve("cuDeviceGetCount", &api->getCount, why) &&
                        library->resolve("cuDeviceGet", &api->get, why) &&
                        library->resolve("cuDeviceGetPCIBusId", &api->getPciBusId, why) &&
                        library->resolve("cuDeviceGetAttribute", &api->getAttribute, why);
  if (!complete) return nullptr;
  std::string optional;  // only for messages: its absence is no failure
  library->resolve("cuGetErrorName", &api->getErrorName, &optional);
  return library;
}

std::string describe(const CudaApi& api, CUresult result) {
  const char* name = nullptr;
  if (api.getErrorName != nullptr && api.getErrorName(result, &name) == kCudaSuccess &&
      name != nullptr) {
    return fmt::format("{} ({})", name, result);
  }
  return fmt::format("error {}", result);
}

}  // namespace

bool queryCudaGpus(std::vector<CudaGpu>* gpus, std::string* why) {
  gpus->clear();
  CudaApi api{};
  std::unique_ptr<DynamicLibrary> library = loadDriver(&api, why);
  if (!library) return false;
  CUresult result = api.init(0);
  if (result == kCudaErrorNoDevice) return true;
  if (result != kCudaSuccess) {
    *why = fmt::format("cuInit failed: {}", describe(api, result));
    return false;
  }
  int count = 0;
  result = api.getCount(&count);
  if (result != kCudaSuccess) {
    *why = fmt::format("cuDeviceGetCount failed: {}", describe(api, result));
    return false;
  }
  for (int ordinal = 0; ordinal < count; ++ordinal) {
    CUdevice device = 0;
    char busId[kBusIdChars] = {};
    if (api.get(&device, ordinal) != kCudaSuccess ||
        api.getPciBusId(busId, kBusIdChars, device) != kCudaSuccess) {
      continue;
    }
    CudaGpu gpu;
    gpu.index = ordinal;
    gpu.busId = normalizeBusId(busId);
    int major = 0, minor = 0;
    if (api.getAttribute(&major, kComputeCapabilityMajor, device) == kCudaSuccess &&
        api.getAttribute(&minor, kComputeCapabilityMinor, device) == kCudaSuccess) {
      gpu.sm = major * 10 + minor;
    }
    gpus->push_back(std::move(gpu));
  }
  return true;
}

}  // namespace tutti::topo
