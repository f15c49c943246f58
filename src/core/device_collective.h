// Collectives on device buffers, on the caller's stream (NCCL's semantics: the call enqueues and
// returns; completion is the stream's).
//
// The path staged through page-locked host memory, which every transport can move. The call is
// cut into pieces (TUTTI_DEVICE_CHUNK_BYTES of each rank's block, at most 64 pieces), each the
// same collective over its elements of every block:
//   stream:   for each piece: copy its send data -> pinned staging; host function "staged k"
//   progress: for each piece: (waits for "staged k") the host collective on its staging buffers,
//             as any queued operation, on the communicator's progress thread; then raises the
//             stream flag to the operation's sequence number
//   stream:   for each piece: wait until flag >= its sequence; copy its staging -> receive
//             buffer; then one host function returning the staging buffers
// So the host runs piece k while the stream stages piece k + 1, and the stream writes piece k
// back while the host runs piece k + 1. The stream waits on a flag (a kernel on CUDA, a task on
// the emulated device), never in a host function, so that two communicators on two streams
// cannot deadlock on the one thread CUDA runs host functions on. A failed operation raises the
// flag too (the receive buffer is then undefined) and makes the communicator's error sticky:
// tuttiCommGetAsyncError reports it. Every rank cuts a call alike, so a call whose buffers are
// device memory on one rank and host memory on another is a mismatch once it spans two pieces.
#pragma once

#include <stddef.h>

#include <vector>

#include "base/status.h"
#include "core/comm.h"
#include "core/operation.h"
#include "device/device_runtime.h"

namespace tutti {

// Makes the communicator's device current for the calls in scope, and restores the caller's.
class DeviceScope {
 public:
  DeviceScope(device::Runtime* runtime, int device) : runtime_(runtime) {
    if (runtime_->currentDevice(&previous_, nullptr).isOk() && previous_ != device) {
      switched_ = runtime_->setDevice(device).isOk();
    }
  }
  ~DeviceScope() {
    if (switched_) (void)runtime_->setDevice(previous_);
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  device::Runtime* runtime_;
  int previous_ = 0;
  bool switched_ = false;
};

// At init: the communicator's device (the calling thread's current device; under a launcher that
// exported a local rank, LOCAL_RANK mod the device count when the program set none) and its stream
// flag. Without a device runtime, device stays -1.
Status chooseCommDevice(tuttiComm* comm);

// Whether the call's buffers are device memory: tuttiInvalidArgument when the buffers it uses mix
// host and device memory, or lie on another device than the communicator's.
Status classifyBuffers(const tuttiComm* comm, const CollectiveArgs& args, bool* onDevice);

// A device call is cut into pieces, each the same collective over elements [first, first + count)
// of every rank's block: pieces of chunkBytes / elemSize elements (at least 1), larger when that
// would make more than kMaxDevicePieces (so the per-piece cost, an operation, a stream wait and a
// copy per block, stays a small part of the call); the last piece takes the rest. A function of
// the call and the parameters only, so every rank cuts a call alike.
struct PieceRange {
  size_t first = 0;
  size_t count = 0;
};
constexpr size_t kMaxDevicePieces = 64;
std::vector<PieceRange> devicePieces(size_t count, size_t elemSize, size_t chunkBytes);

// Enqueues the collective on `stream` (a device stream of the active runtime; nullptr is the
// default stream). The caller holds callMutex and has checked the arguments.
Status issueDeviceCollective(tuttiComm* comm, const CollectiveArgs& args, void* stream);

// Enqueues one communicator's point-to-point calls of a group (checked, all on device buffers or
// of zero bytes) on `stream`: the sends staged into pinned memory, the exchange run as one
// operation on the progress thread, the receives written back; as issueDeviceCollective, unpieced.
Status issueDevicePeerCalls(tuttiComm* comm, const std::vector<PeerCall>& calls, void* stream);

}  // namespace tutti
