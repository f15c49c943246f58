// The C API of device memory (tuttiMemAlloc, tuttiMemFree in tutti.h) and of the emulated device
// (tutti_emulated.h): argument checks and results over the active device runtime.
#include "core/api_result.h"
#include "device/device_runtime.h"
#include "tutti/tutti_emulated.h"

using namespace tutti;

namespace {

Status noRuntime(const char* call) {
  return makeError(tuttiInvalidUsage,
                   "{}: no device runtime (no usable CUDA device or driver, and TUTTI_DEVICE is "
                   "not emulated)",
                   call);
}

// The emulated runtime, or the error that says it is not active.
device::Runtime* emulated(const char* call, Status* error) {
  device::Runtime* runtime = device::activeRuntime();
  if (runtime != nullptr && std::string(runtime->name()) == "emulated") return runtime;
  *error = makeError(tuttiInvalidUsage,
                     "{}: the emulated device is not active (set TUTTI_DEVICE=emulated before the "
                     "first Tutti call; the active runtime is {})",
                     call, runtime != nullptr ? runtime->name() : "none");
  return nullptr;
}

Status nullOutput(const char* call, const char* what) {
  return makeError(tuttiInvalidArgument, "{}: {} is NULL", call, what);
}

}  // namespace

TUTTI_PUBLIC tuttiResult_t tuttiMemAlloc(void** ptr, size_t size) {
  return guarded(nullptr, "tuttiMemAlloc", [&]() -> tuttiResult_t {
    if (ptr == nullptr) return finish(nullOutput("tuttiMemAlloc", "ptr"));
    *ptr = nullptr;
    device::Runtime* runtime = device::activeRuntime();
    if (runtime == nullptr) return finish(noRuntime("tuttiMemAlloc"));
    return finish(runtime->allocDevice(ptr, size));
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiMemFree(void* ptr) {
  return guarded(nullptr, "tuttiMemFree", [&]() -> tuttiResult_t {
    if (ptr == nullptr) return tuttiSuccess;
    device::Runtime* runtime = device::activeRuntime();
    if (runtime == nullptr) return finish(noRuntime("tuttiMemFree"));
    return finish(runtime->freeDevice(ptr));
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiEmuIsActive(int* active) {
  return guarded(nullptr, "tuttiEmuIsActive", [&]() -> tuttiResult_t {
    if (active == nullptr) return finish(nullOutput("tuttiEmuIsActive", "active"));
    Status ignored;
    *active = emulated("tuttiEmuIsActive", &ignored) != nullptr ? 1 : 0;
    return tuttiSuccess;
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiEmuGetDeviceCount(int* count) {
  return guarded(nullptr, "tuttiEmuGetDeviceCount", [&]() -> tuttiResult_t {
    Status error;
    device::Runtime* runtime = emulated("tuttiEmuGetDeviceCount", &error);
    if (runtime == nullptr) return finish(error);
    if (count == nullptr) return finish(nullOutput("tuttiEmuGetDeviceCount", "count"));
    *count = runtime->deviceCount();
    return tuttiSuccess;
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiEmuGetDevice(int* device) {
  return guarded(nullptr, "tuttiEmuGetDevice", [&]() -> tuttiResult_t {
    Status error;
    device::Runtime* runtime = emulated("tuttiEmuGetDevice", &error);
    if (runtime == nullptr) return finish(error);
    if (device == nullptr) return finish(nullOutput("tuttiEmuGetDevice", "device"));
    return finish(runtime->currentDevice(device, nullptr));
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiEmuSetDevice(int device) {
  return guarded(nullptr, "tuttiEmuSetDevice", [&]() -> tuttiResult_t {
    Status error;
    device::Runtime* runtime = emulated("tuttiEmuSetDevice", &error);
    if (runtime == nullptr) return finish(error);
    return finish(runtime->setDevice(device));
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiEmuStreamCreate(tuttiEmuStream_t* stream) {
  return guarded(nullptr, "tuttiEmuStreamCreate", [&]() -> tuttiResult_t {
    Status error;
    device::Runtime* runtime = emulated("tuttiEmuStreamCreate", &error);
    if (runtime == nullptr) return finish(error);
    if (stream == nullptr) return finish(nullOutput("tuttiEmuStreamCreate", "stream"));
    device::Stream created = nullptr;
    Status status = runtime->streamCreate(&created);
    *stream = static_cast<tuttiEmuStream_t>(created);
    return finish(status);
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiEmuStreamSynchronize(tuttiEmuStream_t stream, int timeoutMs) {
  return guarded(nullptr, "tuttiEmuStreamSynchronize", [&]() -> tuttiResult_t {
    Status error;
    device::Runtime* runtime = emulated("tuttiEmuStreamSynchronize", &error);
    if (runtime == nullptr) return finish(error);
    return finish(runtime->streamSynchronize(stream, timeoutMs));
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiEmuStreamDestroy(tuttiEmuStream_t stream) {
  return guarded(nullptr, "tuttiEmuStreamDestroy", [&]() -> tuttiResult_t {
    Status error;
    device::Runtime* runtime = emulated("tuttiEmuStreamDestroy", &error);
    if (runtime == nullptr) return finish(error);
    if (stream == nullptr) return finish(nullOutput("tuttiEmuStreamDestroy", "stream"));
    return finish(runtime->streamDestroy(stream));
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiEmuMemcpyAsync(void* dst, const void* src, size_t bytes,
                                               tuttiEmuStream_t stream) {
  return guarded(nullptr, "tuttiEmuMemcpyAsync", [&]() -> tuttiResult_t {
    Status error;
    device::Runtime* runtime = emulated("tuttiEmuMemcpyAsync", &error);
    if (runtime == nullptr) return finish(error);
    if (bytes > 0 && (dst == nullptr || src == nullptr)) {
      return finish(nullOutput("tuttiEmuMemcpyAsync", dst == nullptr ? "dst" : "src"));
    }
    return finish(runtime->copyAsync(dst, src, bytes, stream));
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiEmuMemcpy(void* dst, const void* src, size_t bytes,
                                          tuttiEmuStream_t stream) {
  return guarded(nullptr, "tuttiEmuMemcpy", [&]() -> tuttiResult_t {
    const tuttiResult_t queued = tuttiEmuMemcpyAsync(dst, src, bytes, stream);
    if (queued != tuttiSuccess) return queued;
    Params params;
    (void)loadParams(nullptr, &params);  // TUTTI_TIMEOUT_MS; a bad value keeps the default
    return finish(device::activeRuntime()->streamSynchronize(stream, params.timeoutMs));
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiEmuLaunchHostFunc(tuttiEmuStream_t stream, void (*fn)(void*),
                                                  void* userData) {
  Status error;
  device::Runtime* runtime = emulated("tuttiEmuLaunchHostFunc", &error);
  if (runtime == nullptr) return finish(error);
  if (fn == nullptr) return finish(nullOutput("tuttiEmuLaunchHostFunc", "fn"));
  return finish(runtime->launchHostFunction(stream, fn, userData));
}
