#include "core/device_collective.h"

#include <fmt/format.h>
#include <stdlib.h>

#include "algo/plan.h"
#include "base/log.h"
#include "device/device_runtime.h"
#include "device/pinned_pool.h"
#include "exec/datatype.h"

namespace tutti {
namespace {

using device::PointerInfo;
using device::Runtime;

// A launcher's local rank: torchrun and Slurm's, or Open MPI's.
int launcherLocalRank() {
  for (const char* name : {"LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"}) {
    const char* value = getenv(name);
    if (value == nullptr || *value == '\0') continue;
    char* end = nullptr;
    const long rank = strtol(value, &end, 10);
    if (*end == '\0' && rank >= 0 && rank < (1 << 20)) return static_cast<int>(rank);
  }
  return -1;
}

// Makes the communicator's device current for the calls in scope, and restores the caller's.
class DeviceScope {
 public:
  DeviceScope(Runtime* runtime, int device) : runtime_(runtime) {
    if (runtime_->currentDevice(&previous_, nullptr).isOk() && previous_ != device) {
      switched_ = runtime_->setDevice(device).isOk();
    }
  }
  ~DeviceScope() {
    if (switched_) (void)runtime_->setDevice(previous_);
  }

 private:
  Runtime* runtime_;
  int previous_ = 0;
  bool switched_ = false;
};

// What a stream's host functions need: the operation to release once the send buffer is staged,
// and the staging buffers to give back once the receive buffer is written.
void markStaged(void* arg) {
  auto* staged = static_cast<std::shared_ptr<Operation>*>(arg);
  (*staged)->complete(Status::ok());
  delete staged;
}

struct Staging {
  void* send = nullptr;
  void* recv = nullptr;
};

void returnStaging(void* arg) {
  auto* staging = static_cast<Staging*>(arg);
  device::pinnedPool()->give(staging->send);
  device::pinnedPool()->give(staging->recv);
  delete staging;
}

}  // namespace

Status chooseCommDevice(tuttiComm* comm) {
  Runtime* runtime = device::activeRuntime();
  if (runtime == nullptr) return Status::ok();
  int current = 0;
  bool wasSet = false;
  TUTTI_RETURN_IF_ERROR(runtime->currentDevice(&current, &wasSet));
  const int count = runtime->deviceCount();
  const int localRank = launcherLocalRank();
  comm->device = (!wasSet && localRank >= 0 && count > 0) ? localRank % count : current;
  TUTTI_RETURN_IF_ERROR(device::pinnedPool()->takeFlag(&comm->streamFlag));
  TUTTI_INFO(kLogInit, "rank {}: device {} of {} ({} runtime{})", comm->rank, comm->device, count,
             runtime->name(),
             (!wasSet && localRank >= 0) ? ", chosen by the launcher's local rank" : "");
  return Status::ok();
}

Status classifyBuffers(const tuttiComm* comm, const CollectiveArgs& args, bool* onDevice) {
  *onDevice = false;
  Runtime* runtime = device::activeRuntime();
  if (runtime == nullptr || args.count == 0) return Status::ok();
  const bool isRoot = !isRooted(args.collective) || comm->rank == args.root;
  const bool usesSend = sendBufferCount(args.collective, comm->nranks, args.count, isRoot) > 0;
  const bool usesRecv = recvBufferCount(args.collective, comm->nranks, args.count, isRoot) > 0;
  PointerInfo send, recv;
  if (usesSend) TUTTI_RETURN_IF_ERROR(runtime->classify(args.send, &send));
  if (usesRecv) TUTTI_RETURN_IF_ERROR(runtime->classify(args.recv, &recv));
  const bool sendOnDevice = usesSend && send.kind == device::MemoryKind::kDevice;
  const bool recvOnDevice = usesRecv && recv.kind == device::MemoryKind::kDevice;
  const char* name = collectiveName(args.collective);
  if (usesSend && usesRecv && sendOnDevice != recvOnDevice) {
    return makeError(tuttiInvalidArgument,
                     "{}: sendbuff is {} memory and recvbuff is {} memory: a call's buffers are "
                     "all device memory or all host memory",
                     name, device::memoryKindName(send.kind), device::memoryKindName(recv.kind));
  }
  for (const auto& [used, info, which] : {std::make_tuple(sendOnDevice, send, "sendbuff"),
                                          std::make_tuple(recvOnDevice, recv, "recvbuff")}) {
    if (used && info.device != comm->device) {
      return makeError(tuttiInvalidArgument,
                       "{}: {} is memory of device {}, but the communicator's device is {} (the "
                       "current device when it was created)",
                       name, which, info.device, comm->device);
    }
  }
  *onDevice = sendOnDevice || recvOnDevice;
  return Status::ok();
}

Status issueDeviceCollective(tuttiComm* comm, const CollectiveArgs& args, void* stream) {
  Runtime* runtime = device::activeRuntime();
  device::PinnedPool* pool = device::pinnedPool();
  DeviceScope scope(runtime, comm->device);
  const bool isRoot = !isRooted(args.collective) || comm->rank == args.root;
  const size_t elemSize = dataTypeSize(args.type);
  const size_t sendBytes =
      sendBufferCount(args.collective, comm->nranks, args.count, isRoot) * elemSize;
  const size_t recvBytes =
      recvBufferCount(args.collective, comm->nranks, args.count, isRoot) * elemSize;

  auto staging = std::make_unique<Staging>();
  if (sendBytes > 0) TUTTI_RETURN_IF_ERROR(pool->take(sendBytes, &staging->send));
  if (recvBytes > 0) {
    const Status status = pool->take(recvBytes, &staging->recv);
    if (!status.isOk()) {
      pool->give(staging->send);
      return status;
    }
  }
  CollectiveArgs hostArgs = args;
  hostArgs.send = staging->send;
  hostArgs.recv = staging->recv;

  // Until the stream has staged the send buffer, the operation waits (Operation::after).
  auto staged = std::make_shared<Operation>(CollectiveArgs{}, 0);
  Status status = runtime->copyAsync(staging->send, args.send, sendBytes, stream);
  if (status.isOk()) {
    auto* arg = new std::shared_ptr<Operation>(staged);
    status = runtime->launchHostFunction(stream, markStaged, arg);
    if (!status.isOk()) delete arg;
  }
  if (!status.isOk()) {
    returnStaging(staging.release());
    return status;
  }
  std::shared_ptr<Operation> operation;
  // From here the staging buffers belong to the stream: returnStaging gives them back.
  status = issueCollective(comm, hostArgs, &operation, staged);
  if (!status.isOk()) return status;
  const uint64_t sequence = operation->sequence();
  uint64_t* flag = comm->streamFlag;
  operation->onComplete([flag, sequence](const Status&) {
    // Operations complete in sequence order, so the flag only rises.
    __atomic_store_n(flag, sequence, __ATOMIC_RELEASE);
  });
  TUTTI_RETURN_IF_ERROR(runtime->waitFlag(stream, flag, sequence));
  TUTTI_RETURN_IF_ERROR(runtime->copyAsync(args.recv, staging->recv, recvBytes, stream));
  Staging* owned = staging.release();
  status = runtime->launchHostFunction(stream, returnStaging, owned);
  if (!status.isOk()) delete owned;  // the buffers stay out of the pool: the stream may use them
  return status;
}

}  // namespace tutti
