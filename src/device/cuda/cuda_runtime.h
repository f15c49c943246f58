// The CUDA backend of the device runtime: the CUDA runtime API (linked statically; it loads the
// driver at the first call) and the kernels of device/cuda/*.cu. Built when CMake found the
// toolkit; makeCudaRuntime returns nullptr when no device or driver is usable, and the process
// then runs the host path only.
#pragma once

#include <memory>

#include "device/device_runtime.h"

namespace tutti {
namespace device {

std::unique_ptr<Runtime> makeCudaRuntime();

}  // namespace device
}  // namespace tutti
