// The C API of one-sided calls (tuttiPutSignal, tuttiWaitSignal; tutti.h): argument checks and
// results; the puts and waits themselves are core/one_sided.
#include <fmt/format.h>

#include <cstdint>
#include <mutex>
#include <string>

#include "core/api_args.h"
#include "core/api_lock.h"
#include "core/api_result.h"
#include "core/comm.h"
#include "core/one_sided.h"
#include "device/device_runtime.h"
#include "exec/datatype.h"

using namespace tutti;

namespace {

// What both calls check: no stream, not in a group.
Status checkBlockingCall(const char* call, tuttiStream_t stream) {
  if (stream != nullptr) {
    return makeError(tuttiInvalidArgument,
                     "{}: stream {} is not NULL: one-sided calls block on the calling thread "
                     "(queued one-sided calls on host or device streams are not supported yet)",
                     call, stream);
  }
  if (callerGroupDepth() > 0) {
    return makeError(tuttiInvalidUsage,
                     "{}: called between tuttiGroupStart and tuttiGroupEnd; one-sided calls "
                     "cannot be grouped yet: call them outside the group",
                     call);
  }
  return Status::ok();
}

Status checkPeerSignal(const tuttiComm* comm, const char* call, const char* prefix, int peer,
                       int sigIdx, int ctx) {
  if (peer < 0 || peer >= comm->nranks) {
    return makeError(tuttiInvalidArgument,
                     "{}: {}peer {} is not a rank of the communicator [0, {})", call, prefix, peer,
                     comm->nranks);
  }
  if (sigIdx < 0 || sigIdx >= TUTTI_NUM_SIGNALS) {
    return makeError(tuttiInvalidArgument, "{}: {}sigIdx {} is not in [0, TUTTI_NUM_SIGNALS = {})",
                     call, prefix, sigIdx, TUTTI_NUM_SIGNALS);
  }
  if (ctx != 0) {
    return makeError(tuttiInvalidArgument,
                     "{}: {}ctx {} is not 0 (Tutti has one one-sided context)", call, prefix, ctx);
  }
  return Status::ok();
}

Status checkPut(const tuttiComm* comm, const void* localbuff, size_t count,
                tuttiDataType_t datatype, int peer, tuttiWindow_t peerWin, size_t peerWinOffset,
                int sigIdx, int ctx, unsigned int flags, size_t* bytes) {
  const char* call = "tuttiPutSignal";
  if (!isValidDataType(static_cast<int>(datatype))) {
    return makeError(tuttiInvalidArgument, "{}: datatype {} is not a tuttiDataType_t (0..{})", call,
                     static_cast<int>(datatype), tuttiNumTypes - 1);
  }
  TUTTI_RETURN_IF_ERROR(checkPeerSignal(comm, call, "", peer, sigIdx, ctx));
  if (flags != 0) {
    return makeError(tuttiInvalidArgument, "{}: flags {:#x} is not 0", call, flags);
  }
  const size_t elementBytes = dataTypeSize(datatype);
  if (count > SIZE_MAX / elementBytes) {
    return makeError(tuttiInvalidArgument, "{}: count {} of {}-byte elements overflows size_t",
                     call, count, elementBytes);
  }
  *bytes = count * elementBytes;
  if (localbuff == nullptr && count > 0) {
    return makeError(tuttiInvalidArgument, "{}: localbuff is NULL with count {}", call, count);
  }
  if (count > 0) {
    bool onDevice = false;
    TUTTI_RETURN_IF_ERROR(peerBufferOnDevice(comm, call, localbuff, count, &onDevice));
    if (onDevice) {
      return makeError(tuttiInvalidArgument,
                       "{}: localbuff ({}) is device memory; one-sided calls move host memory "
                       "only (device windows: not supported yet)",
                       call, localbuff);
    }
  }
  if (peerWin == nullptr || !comm->windows.contains(peerWin)) {
    return makeError(tuttiInvalidArgument,
                     "{}: peerWin {} is not a registered window of this communicator (NULL, "
                     "deregistered, or another communicator's)",
                     call, static_cast<const void*>(peerWin));
  }
  if (!peerWin->host) {
    return makeError(tuttiInvalidArgument,
                     "{}: peerWin (window #{}) is a device window; puts go into host windows "
                     "only (device windows: not supported yet)",
                     call, peerWin->id);
  }
  if (peerWinOffset > peerWin->bytes || *bytes > peerWin->bytes - peerWinOffset) {
    return makeError(tuttiInvalidArgument,
                     "{}: peerWinOffset {} plus {} bytes ({} elements) runs past the end of "
                     "window #{} ({} bytes)",
                     call, peerWinOffset, *bytes, count, peerWin->id, peerWin->bytes);
  }
  return Status::ok();
}

Status checkWait(const tuttiComm* comm, int nDesc, const tuttiWaitSignalDesc_t* signalDescs) {
  const char* call = "tuttiWaitSignal";
  if (nDesc < 0) return makeError(tuttiInvalidArgument, "{}: nDesc {} is negative", call, nDesc);
  if (signalDescs == nullptr && nDesc > 0) {
    return makeError(tuttiInvalidArgument, "{}: signalDescs is NULL with nDesc {}", call, nDesc);
  }
  for (int d = 0; d < nDesc; ++d) {
    const tuttiWaitSignalDesc_t& desc = signalDescs[d];
    const std::string prefix = fmt::format("signalDescs[{}].", d);
    if (desc.opCnt < 0) {
      return makeError(tuttiInvalidArgument, "{}: {}opCnt {} is negative", call, prefix,
                       desc.opCnt);
    }
    TUTTI_RETURN_IF_ERROR(
        checkPeerSignal(comm, call, prefix.c_str(), desc.peer, desc.sigIdx, desc.ctx));
  }
  return Status::ok();
}

}  // namespace

TUTTI_PUBLIC tuttiResult_t tuttiPutSignal(const void* localbuff, size_t count,
                                          tuttiDataType_t datatype, int peer, tuttiWindow_t peerWin,
                                          size_t peerWinOffset, int sigIdx, int ctx,
                                          unsigned int flags, tuttiComm_t handle,
                                          tuttiStream_t stream) {
  return guarded(handle, "tuttiPutSignal", [&]() -> tuttiResult_t {
    Status status = checkBlockingCall("tuttiPutSignal", stream);
    if (!status.isOk()) return finish(status, handle);
    std::unique_lock<std::mutex> callLock;
    tuttiComm* comm = nullptr;
    status = lockIdleComm(handle, "tuttiPutSignal", &callLock, &comm);
    if (comm == nullptr) return finish(status);
    size_t bytes = 0;
    if (status.isOk()) {
      status = checkPut(comm, localbuff, count, datatype, peer, peerWin, peerWinOffset, sigIdx, ctx,
                        flags, &bytes);
    }
    if (status.isOk()) status = stickyStatus(comm, "tuttiPutSignal");
    if (status.isOk()) {
      status = putSignal(comm, localbuff, bytes, peer, peerWin, peerWinOffset, sigIdx);
    }
    callLock.unlock();
    return finish(status, handle);
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiWaitSignal(int nDesc, const tuttiWaitSignalDesc_t* signalDescs,
                                           tuttiComm_t handle, tuttiStream_t stream) {
  return guarded(handle, "tuttiWaitSignal", [&]() -> tuttiResult_t {
    Status status = checkBlockingCall("tuttiWaitSignal", stream);
    if (!status.isOk()) return finish(status, handle);
    std::unique_lock<std::mutex> callLock;
    tuttiComm* comm = nullptr;
    status = lockIdleComm(handle, "tuttiWaitSignal", &callLock, &comm);
    if (comm == nullptr) return finish(status);
    if (status.isOk()) status = checkWait(comm, nDesc, signalDescs);
    if (status.isOk()) status = stickyStatus(comm, "tuttiWaitSignal");
    if (status.isOk() && nDesc > 0) status = waitSignals(comm, signalDescs, nDesc);
    callLock.unlock();
    return finish(status, handle);
  });
}
