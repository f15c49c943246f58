#include "device/device_runtime.h"

#include <stdlib.h>
#include <string.h>

#include <mutex>

#include "base/log.h"
#include "device/device_params.h"
#include "device/emulated/emulated_runtime.h"
#ifdef TUTTI_HAVE_CUDA
#include "device/cuda/cuda_runtime.h"
#endif

namespace tutti {
namespace device {

const std::vector<ParamInfo>& deviceParamTable() {
  static const std::vector<ParamInfo> table = {
      {"TUTTI_DEVICE", "",
       "device runtime: cuda, emulated (a GPU emulated on the host, for tests), none (host "
       "buffers only); unset: cuda when built and a device is present, else none"},
      {"TUTTI_EMULATED_DEVICES", "8", "devices the emulated runtime has, 1..64"},
  };
  return table;
}

namespace {

std::unique_ptr<Runtime> chooseRuntime() {
  registerParamTable(deviceParamTable());
  const char* choice = paramEnv("TUTTI_DEVICE");
  const std::string wanted = choice != nullptr ? choice : "";
  if (wanted == "none") return nullptr;
  if (wanted == "emulated") {
    int64_t devices = 8;
    const Status status = envInt("TUTTI_EMULATED_DEVICES", 8, 1, 64, &devices);
    if (!status.isOk()) {
      TUTTI_WARN(kLogEnv, "{}; using 8 emulated devices", status.message());
      devices = 8;
    }
    TUTTI_INFO(kLogInit, "device runtime: emulated ({} devices; not a GPU)", devices);
    return makeEmulatedRuntime(static_cast<int>(devices));
  }
  if (!wanted.empty() && wanted != "cuda") {
    TUTTI_WARN(kLogEnv, "TUTTI_DEVICE={} is not cuda, emulated or none: no device runtime", wanted);
    return nullptr;
  }
#ifdef TUTTI_HAVE_CUDA
  std::unique_ptr<Runtime> cuda = makeCudaRuntime();
  if (cuda != nullptr) {
    TUTTI_INFO(kLogInit, "device runtime: cuda ({} devices)", cuda->deviceCount());
    return cuda;
  }
  if (wanted == "cuda") TUTTI_WARN(kLogInit, "TUTTI_DEVICE=cuda: no usable CUDA device or driver");
#else
  if (wanted == "cuda") TUTTI_WARN(kLogInit, "TUTTI_DEVICE=cuda: this build has no CUDA backend");
#endif
  return nullptr;
}

}  // namespace

Runtime* activeRuntime() {
  static std::once_flag once;
  static Runtime* runtime = nullptr;  // never destroyed: streams may run work at exit
  std::call_once(once, [] { runtime = chooseRuntime().release(); });
  return runtime;
}

}  // namespace device
}  // namespace tutti
