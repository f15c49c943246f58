#include "core/api_args.h"

#include <cstdint>

#include "core/host_stream.h"
#include "device/device_runtime.h"
#include "exec/datatype.h"

namespace tutti {
namespace {

bool rangesOverlap(const void* a, size_t aBytes, const void* b, size_t bBytes) {
  auto x = reinterpret_cast<uintptr_t>(a);
  auto y = reinterpret_cast<uintptr_t>(b);
  return aBytes > 0 && bBytes > 0 && x < y + bBytes && y < x + aBytes;
}

// The name of the count argument in the collective's signature, for messages.
const char* countName(Collective collective) {
  switch (collective) {
    case Collective::kAllGather:
      return "sendcount";
    case Collective::kReduceScatter:
      return "recvcount";
    default:
      return "count";
  }
}

}  // namespace

Status peerBufferOnDevice(const tuttiComm* comm, const char* name, const void* buffer, size_t count,
                          bool* onDevice) {
  *onDevice = false;
  device::PointerInfo info;
  device::Runtime* runtime = device::activeRuntime();
  if (count == 0 || runtime == nullptr || !runtime->classify(buffer, &info).isOk() ||
      info.kind != device::MemoryKind::kDevice) {
    return Status::ok();
  }
  if (info.device != comm->device) {
    return makeError(tuttiInvalidArgument,
                     "{}: the buffer is memory of device {}, but the communicator's device is {}",
                     name, info.device, comm->device);
  }
  *onDevice = true;
  return Status::ok();
}

Status liveCommError(tuttiComm_t handle) {
  if (handle == nullptr) return makeError(tuttiInvalidArgument, "comm is NULL");
  return makeError(tuttiInvalidArgument,
                   "comm {} is not a live communicator (destroyed, aborted or never created)",
                   static_cast<const void*>(handle));
}

Status checkCollective(tuttiComm* comm, const CollectiveArgs& args, tuttiStream_t stream) {
  const Collective collective = args.collective;
  const char* name = collectiveName(collective);
  const int type = static_cast<int>(args.type);
  const int op = static_cast<int>(args.op);
  const size_t count = args.count;
  if (!isValidDataType(type)) {
    return makeError(tuttiInvalidArgument, "{}: datatype {} is not a tuttiDataType_t (0..{})", name,
                     type, tuttiNumTypes - 1);
  }
  if (isReduction(collective) && !isValidRedOp(op)) {
    return makeError(tuttiInvalidArgument, "{}: op {} is not a tuttiRedOp_t (0..{})", name, op,
                     tuttiNumOps - 1);
  }
  if (isRooted(collective) && (args.root < 0 || args.root >= comm->nranks)) {
    return makeError(tuttiInvalidArgument,
                     "{}: root {} is outside [0, nranks = {}): it must name a rank of the "
                     "communicator",
                     name, args.root, comm->nranks);
  }
  const size_t elemSize = dataTypeSize(static_cast<tuttiDataType_t>(type));
  const size_t n = static_cast<size_t>(comm->nranks);
  if (count > SIZE_MAX / n / elemSize) {
    return makeError(tuttiInvalidArgument, "{}: count {} overflows the buffer size", name, count);
  }
  if (count == 0) return Status::ok();
  // A buffer the rank does not use (off the root) is ignored, NULL or not.
  const bool isRoot = !isRooted(collective) || comm->rank == args.root;
  const size_t sendBytes = sendBufferCount(collective, comm->nranks, count, isRoot) * elemSize;
  const size_t recvBytes = recvBufferCount(collective, comm->nranks, count, isRoot) * elemSize;
  const char* role = isRooted(collective) ? (isRoot ? " on the root" : " off the root") : "";
  if (sendBytes > 0 && args.send == nullptr) {
    return makeError(tuttiInvalidArgument, "{}: sendbuff is NULL{} with {} = {}", name, role,
                     countName(collective), count);
  }
  if (recvBytes > 0 && args.recv == nullptr) {
    return makeError(tuttiInvalidArgument, "{}: recvbuff is NULL{} with {} = {}", name, role,
                     countName(collective), count);
  }
  if (sendBytes == 0 || recvBytes == 0) return Status::ok();
  const char* send = static_cast<const char*>(args.send);
  const char* recv = static_cast<const char*>(args.recv);
  const size_t rankOffset = static_cast<size_t>(comm->rank) * count * elemSize;
  bool inPlace = false;
  switch (collective) {
    case Collective::kAllReduce:
    case Collective::kBroadcast:
    case Collective::kReduce:
    case Collective::kAllToAll:
      inPlace = send == recv;
      break;
    case Collective::kAllGather:
    case Collective::kGather:
      inPlace = send == recv + rankOffset;
      break;
    case Collective::kReduceScatter:
    case Collective::kScatter:
      inPlace = recv == send + rankOffset;
      break;
    case Collective::kSendRecv:
      break;  // tuttiSend and tuttiRecv are checked by checkPeerCall
  }
  if (!inPlace && rangesOverlap(send, sendBytes, recv, recvBytes)) {
    return makeError(tuttiInvalidArgument,
                     "{}: sendbuff and recvbuff overlap without being NCCL's in-place layout",
                     name);
  }
  return Status::ok();
}

bool isDeviceStream(tuttiStream_t stream) {
  device::Runtime* runtime = device::activeRuntime();
  return stream != nullptr && runtime != nullptr && !isHostStream(stream) &&
         runtime->isStream(stream);
}

Status checkStream(Collective collective, tuttiStream_t stream, bool onDevice) {
  const char* name = collectiveName(collective);
  if (onDevice) {
    if (stream != nullptr && isHostStream(stream)) {
      return makeError(tuttiInvalidArgument,
                       "{}: stream is a Tutti host stream, but the buffers are device memory: "
                       "pass a device stream ({} runtime)",
                       name, device::activeRuntime()->name());
    }
    if (!device::activeRuntime()->isStream(stream)) {
      return makeError(tuttiInvalidArgument, "{}: stream {} is not a live {} stream", name, stream,
                       device::activeRuntime()->name());
    }
    return Status::ok();
  }
  if (stream != nullptr && !isHostStream(stream)) {
    return makeError(tuttiInvalidUsage,
                     "{}: stream {} is not a live Tutti host stream: with host buffers the stream "
                     "is NULL (blocking) or a tuttiHostStream_t (queued); device streams take "
                     "device buffers",
                     name, stream);
  }
  return Status::ok();
}

Status checkPeerCall(const tuttiComm* comm, bool send, const void* buffer, size_t count, int type,
                     int peer, tuttiStream_t stream) {
  const char* name = send ? "send" : "recv";
  if (!isValidDataType(type)) {
    return makeError(tuttiInvalidArgument, "{}: datatype {} is not a tuttiDataType_t (0..{})", name,
                     type, tuttiNumTypes - 1);
  }
  if (peer < 0 || peer >= comm->nranks) {
    return makeError(tuttiInvalidArgument, "{}: peer {} is outside [0, nranks = {})", name, peer,
                     comm->nranks);
  }
  if (count > SIZE_MAX / dataTypeSize(static_cast<tuttiDataType_t>(type))) {
    return makeError(tuttiInvalidArgument, "{}: count {} overflows the buffer size", name, count);
  }
  if (count > 0 && buffer == nullptr) {
    return makeError(tuttiInvalidArgument, "{}: {} is NULL with count = {}", name,
                     send ? "sendbuff" : "recvbuff", count);
  }
  bool onDevice = false;
  TUTTI_RETURN_IF_ERROR(peerBufferOnDevice(comm, name, buffer, count, &onDevice));
  // A call with nothing to move goes where its stream says.
  return checkStream(Collective::kSendRecv, stream,
                     onDevice || (count == 0 && isDeviceStream(stream)));
}

}  // namespace tutti
