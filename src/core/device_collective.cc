#include "core/device_collective.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <vector>

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

// Releases the piece's operation once the stream has staged its send data (Operation::after).
void markStaged(void* arg) {
  auto* staged = static_cast<std::shared_ptr<Operation>*>(arg);
  (*staged)->complete(Status::ok());
  delete staged;
}

// The pinned buffers of one call, given back to the pool by the stream's last host function.
struct Staging {
  std::vector<void*> buffers;
};

void returnStaging(void* arg) {
  auto* staging = static_cast<Staging*>(arg);
  for (void* buffer : staging->buffers) device::pinnedPool()->give(buffer);
  delete staging;
}

// One copy the stream makes, between device memory and pinned staging.
struct Copy {
  void* dst;
  const void* src;
  size_t bytes;
};

// One host operation of a device call: the copies that stage its input, the operation on the
// staging buffers, the copies that write its output back.
struct StagedStep {
  std::vector<Copy> in;
  CollectiveArgs args;
  std::vector<Copy> out;
  uint64_t sequence = 0;
};

// The copies of one piece between a device buffer of `blocks` blocks of `count` elements (1
// block, or one per rank) and its packed staging. A piece that is the whole call is one copy.
void addPieceCopies(std::vector<Copy>* copies, bool toDevice, const void* deviceBuffer,
                    void* staging, size_t blocks, size_t count, const PieceRange& piece,
                    size_t elemSize) {
  const bool whole = piece.count == count;
  const size_t bytes = (whole ? blocks : 1) * piece.count * elemSize;
  for (size_t b = 0; b < (whole ? std::min<size_t>(blocks, 1) : blocks); ++b) {
    char* device =
        static_cast<char*>(const_cast<void*>(deviceBuffer)) + (b * count + piece.first) * elemSize;
    char* packed = static_cast<char*>(staging) + b * bytes;
    copies->push_back(toDevice ? Copy{device, packed, bytes} : Copy{packed, device, bytes});
  }
}

Status queueCopies(Runtime* runtime, const std::vector<Copy>& copies, void* stream) {
  for (const Copy& copy : copies) {
    TUTTI_RETURN_IF_ERROR(runtime->copyAsync(copy.dst, copy.src, copy.bytes, stream));
  }
  return Status::ok();
}

// Queues the steps on the stream and issues their operations:
//   stream:   for each step: its input copies; host function "staged k"
//   progress: for each step: (after "staged k") its operation; then the stream flag rises to the
//             operation's sequence number
//   stream:   for each step: wait until flag >= its sequence; its output copies; then one host
//             function returning the staging buffers
// From the first queued copy on, the staging buffers belong to the stream: only a host function
// queued behind the copies may give them back, and only while no operation uses them. A failure
// after an operation was issued keeps them out of the pool (the communicator is broken then: its
// peers have started calls this rank does not finish).
Status runStagedSteps(tuttiComm* comm, std::vector<StagedStep>& steps,
                      std::unique_ptr<Staging> staging, void* stream) {
  Runtime* runtime = device::activeRuntime();
  bool issued = false;
  auto handBack = [&](Status status) {
    Staging* owned = staging.release();
    if (issued && !status.isOk()) return status;
    const Status queued = runtime->launchHostFunction(stream, returnStaging, owned);
    if (!queued.isOk()) delete owned;  // out of the pool: a queued copy may still use them
    return status.isOk() ? queued : status;
  };
  std::vector<std::shared_ptr<Operation>> staged;
  for (const StagedStep& step : steps) {
    Status status = queueCopies(runtime, step.in, stream);
    if (!status.isOk()) return handBack(status);
    staged.push_back(std::make_shared<Operation>(CollectiveArgs{}, 0));
    auto* arg = new std::shared_ptr<Operation>(staged.back());
    status = runtime->launchHostFunction(stream, markStaged, arg);
    if (!status.isOk()) {
      delete arg;
      return handBack(status);
    }
  }
  uint64_t* flag = comm->streamFlag;
  for (size_t k = 0; k < steps.size(); ++k) {
    std::shared_ptr<Operation> operation;
    const Status status = issueCollective(comm, steps[k].args, &operation, staged[k]);
    if (!status.isOk()) return handBack(status);
    issued = true;
    steps[k].sequence = operation->sequence();
    operation->onComplete([flag, sequence = steps[k].sequence](const Status&) {
      // Operations complete in sequence order, so the flag only rises.
      __atomic_store_n(flag, sequence, __ATOMIC_RELEASE);
    });
  }
  for (const StagedStep& step : steps) {
    Status status = runtime->waitFlag(stream, flag, step.sequence);
    if (status.isOk()) status = queueCopies(runtime, step.out, stream);
    if (!status.isOk()) return handBack(status);
  }
  return handBack(Status::ok());
}

}  // namespace

std::vector<PieceRange> devicePieces(size_t count, size_t elemSize, size_t chunkBytes) {
  const size_t byChunk = std::max<size_t>(1, chunkBytes / elemSize);
  const size_t byLimit = (count + kMaxDevicePieces - 1) / kMaxDevicePieces;
  const size_t pieceCount = std::max(byChunk, byLimit);
  std::vector<PieceRange> pieces;
  for (size_t first = 0; first < count; first += pieceCount) {
    pieces.push_back(PieceRange{first, std::min(pieceCount, count - first)});
  }
  return pieces;
}

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
  device::PinnedPool* pool = device::pinnedPool();
  DeviceScope scope(device::activeRuntime(), comm->device);
  const bool isRoot = !isRooted(args.collective) || comm->rank == args.root;
  const size_t elemSize = dataTypeSize(args.type);
  // Blocks of `count` elements in each buffer: 0 (unused), 1, or nranks.
  const size_t sendBlocks =
      sendBufferCount(args.collective, comm->nranks, args.count, isRoot) / args.count;
  const size_t recvBlocks =
      recvBufferCount(args.collective, comm->nranks, args.count, isRoot) / args.count;
  auto staging = std::make_unique<Staging>();
  std::vector<StagedStep> steps;
  for (const PieceRange& piece :
       devicePieces(args.count, elemSize, comm->params.deviceChunkBytes)) {
    StagedStep step;
    step.args = args;
    step.args.count = piece.count;
    void* send = nullptr;
    void* recv = nullptr;
    for (auto [blocks, buffer] :
         {std::make_pair(sendBlocks, &send), std::make_pair(recvBlocks, &recv)}) {
      if (blocks == 0) continue;
      const Status status = pool->take(blocks * piece.count * elemSize, buffer);
      if (!status.isOk()) {
        returnStaging(staging.release());  // nothing is queued yet
        return status;
      }
      staging->buffers.push_back(*buffer);
    }
    step.args.send = send;
    step.args.recv = recv;
    if (send != nullptr) {
      addPieceCopies(&step.in, /*toDevice=*/false, args.send, send, sendBlocks, args.count, piece,
                     elemSize);
    }
    if (recv != nullptr) {
      addPieceCopies(&step.out, /*toDevice=*/true, args.recv, recv, recvBlocks, args.count, piece,
                     elemSize);
    }
    steps.push_back(std::move(step));
  }
  return runStagedSteps(comm, steps, std::move(staging), stream);
}

Status issueDevicePeerCalls(tuttiComm* comm, const std::vector<PeerCall>& calls, void* stream) {
  DeviceScope scope(device::activeRuntime(), comm->device);
  // One operation: the group's sends staged into one pinned buffer, its receives into another,
  // each call's bytes after the previous one's.
  size_t sendBytes = 0;
  size_t recvBytes = 0;
  for (const PeerCall& call : calls) (call.send ? sendBytes : recvBytes) += call.bytes;
  auto staging = std::make_unique<Staging>();
  void* sendPack = nullptr;
  void* recvPack = nullptr;
  for (auto [bytes, buffer] :
       {std::make_pair(sendBytes, &sendPack), std::make_pair(recvBytes, &recvPack)}) {
    if (bytes == 0) continue;
    const Status status = device::pinnedPool()->take(bytes, buffer);
    if (!status.isOk()) {
      returnStaging(staging.release());
      return status;
    }
    staging->buffers.push_back(*buffer);
  }
  std::vector<StagedStep> steps(1);
  StagedStep& step = steps[0];
  auto stagedCalls = std::make_shared<std::vector<PeerCall>>();
  size_t sendOffset = 0;
  size_t recvOffset = 0;
  for (const PeerCall& call : calls) {
    PeerCall staged = call;
    if (call.send) {
      staged.buffer = static_cast<char*>(sendPack) + sendOffset;
      sendOffset += call.bytes;
      if (call.bytes > 0)
        step.in.push_back(Copy{const_cast<void*>(staged.buffer), call.buffer, call.bytes});
    } else {
      staged.buffer = static_cast<char*>(recvPack) + recvOffset;
      recvOffset += call.bytes;
      if (call.bytes > 0)
        step.out.push_back(Copy{const_cast<void*>(call.buffer), staged.buffer, call.bytes});
    }
    stagedCalls->push_back(staged);
  }
  step.args.collective = Collective::kSendRecv;
  step.args.peerCalls = std::move(stagedCalls);
  return runStagedSteps(comm, steps, std::move(staging), stream);
}

}  // namespace tutti
