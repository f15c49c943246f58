// The emulated device (TUTTI_DEVICE=emulated): a device runtime without a GPU, for tests and for
// users testing their GPU-integration code on machines without one
// (include/tutti/tutti_emulated.h).
//
// - Devices: TUTTI_EMULATED_DEVICES of them (default 8); each thread has a current one (0 until
//   set), as with cudaSetDevice.
// - Device memory: a shared-memory file (memfd) per allocation, mapped here; its descriptor is
//   what another process would map (the p2p path exports it). A registry of the mapped ranges
//   classifies pointers, so device pointers are told from host ones as CUDA's are.
// - Streams: an ordered queue each, served by a thread of its own, so work queued on a stream runs
//   in order and asynchronously to the caller, and one stream held by a flag wait does not hold
//   another. Each device has a default stream (the nullptr stream).
// - Kernels: the device kernels' shared source (device/host_kernels.h), run on the stream's thread.
//
// Nothing here is a measurement of a GPU: it is as slow or fast as the host.
#pragma once

#include <memory>

#include "device/device_runtime.h"

namespace tutti {
namespace device {

std::unique_ptr<Runtime> makeEmulatedRuntime(int deviceCount);

}  // namespace device
}  // namespace tutti
