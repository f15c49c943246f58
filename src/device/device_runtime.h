// The device runtime: everything device-specific that the rest of Tutti uses, behind one
// interface with two backends.
//   cuda      (device/cuda/) the CUDA runtime, linked statically; it loads the driver when first
//             used, so a machine without a GPU or driver still runs the host path.
//   emulated  (device/emulated/) TUTTI_DEVICE=emulated: device memory is shared memory (exported
//             as file descriptors), streams are ordered queues served by a thread each, kernels
//             run on the host from the same source as the CUDA kernels. For testing, on machines
//             without a GPU; never a measurement of a GPU.
// activeRuntime() picks one per process, once: TUTTI_DEVICE=emulated|cuda|none, else CUDA when
// it was built and sees a device, else none (host buffers only).
//
// Streams are the backend's own handles (a cudaStream_t, or an emulated stream); nullptr is the
// current device's default stream. Work queued on one stream runs in the order queued.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "device/p2p_launch.h"
#include "device/reduce_launch.h"

namespace tutti {
namespace device {

enum class MemoryKind {
  kHost,     // pageable host memory, or memory the runtime does not know
  kPinned,   // page-locked host memory the device can reach
  kDevice,   // memory of one device
  kManaged,  // unified memory (treated as host memory by collectives)
};
const char* memoryKindName(MemoryKind kind);

struct PointerInfo {
  MemoryKind kind = MemoryKind::kHost;
  int device = -1;  // the owning device for kDevice, else -1
};

// Device memory made mappable by another process of this host (the p2p path's buffers).
struct ExportedMemory {
  int fd = -1;        // emulated: a descriptor of the allocation's shared-memory file, owned
                      // by the holder (pass it with SCM_RIGHTS; close it when done)
  size_t bytes = 0;   // of the whole allocation
  size_t offset = 0;  // of the exported pointer within it
  int device = -1;    // the exporter's device
  unsigned char handle[64] = {};  // CUDA: the cudaIpcMemHandle_t of the allocation
};

using Stream = void*;
using HostFunction = void (*)(void* arg);

class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual const char* name() const = 0;  // "cuda" or "emulated"
  virtual int deviceCount() = 0;
  // The calling thread's current device, and whether it was set by the program (cudaSetDevice,
  // tuttiEmuSetDevice) rather than left at its default: launchers pick LOCAL_RANK's device when
  // it was not.
  virtual Status currentDevice(int* device, bool* wasSet) = 0;
  virtual Status setDevice(int device) = 0;
  virtual Status classify(const void* pointer, PointerInfo* info) = 0;

  // Device memory on the current device, and page-locked host memory that the device can read
  // and write (the staging buffers and stream flags).
  virtual Status allocDevice(void** pointer, size_t bytes) = 0;
  virtual Status freeDevice(void* pointer) = 0;
  virtual Status allocPinned(void** pointer, size_t bytes) = 0;
  virtual Status freePinned(void* pointer) = 0;

  virtual Status streamCreate(Stream* stream) = 0;
  virtual Status streamDestroy(Stream stream) = 0;
  // Waits until the stream's queued work completed, at most timeoutMs (< 0: until then).
  virtual Status streamSynchronize(Stream stream, int timeoutMs) = 0;
  // Whether `stream` is a stream this backend can queue on (the emulated backend checks its
  // registry; CUDA cannot tell and accepts any handle, as NCCL does).
  virtual bool isStream(Stream stream) = 0;

  // Export: what another process needs to map the allocation holding `pointer` (CUDA: the
  // pointer must be the start of a cudaMalloc allocation). Import: maps it here; *pointer is the
  // exported pointer's address in this process, classified as device memory of the exporter's
  // device. closeImported unmaps it.
  virtual Status exportMemory(const void* pointer, ExportedMemory* out) = 0;
  virtual Status importMemory(const ExportedMemory& exported, void** pointer) = 0;
  virtual Status closeImported(void* pointer) = 0;

  // Queued on the stream: a copy in any direction (host, pinned or device memory at both ends).
  virtual Status copyAsync(void* dst, const void* src, size_t bytes, Stream stream) = 0;
  // Queued: fn(arg) on a host thread once the work before it completed. fn must not wait for
  // other streams' work or call the runtime (cudaLaunchHostFunc's rule).
  virtual Status launchHostFunction(Stream stream, HostFunction fn, void* arg) = 0;
  // Queued: holds the stream until *flag >= value. flag lives in allocPinned memory; the host
  // raises it with a release store. The stream must not wait on a host function for this: a
  // backend serves host functions of several streams on one thread, and one waiting would stall
  // the rest (two communicators on two streams would deadlock).
  virtual Status waitFlag(Stream stream, const uint64_t* flag, uint64_t value) = 0;
  // Queued: the reduction kernel on device memory (device/reduce_launch.h).
  virtual Status launchReduce(const ReduceLaunch& launch, Stream stream) = 0;
  // Queued: the p2p path's N-input reduction and its barrier (device/p2p_launch.h), on device
  // memory of the current device and peers' memory imported here. Errors are the launch's
  // (tuttiInvalidArgument for counts out of range); a barrier's timeout is reported through its
  // error word, never here.
  virtual Status launchReduceMany(const ReduceManyLaunch& launch, Stream stream) = 0;
  virtual Status launchBarrier(const BarrierLaunch& launch, Stream stream) = 0;
};

// The process's runtime, or nullptr when there is no device (host buffers only). Thread-safe;
// chosen at the first call.
Runtime* activeRuntime();

}  // namespace device
}  // namespace tutti
