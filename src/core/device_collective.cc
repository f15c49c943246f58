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

// A piece with its staging and its operation's sequence number.
struct Piece : PieceRange {
  void* send = nullptr;  // pinned staging: the piece of each of the buffer's blocks, packed
  void* recv = nullptr;
  uint64_t sequence = 0;
};

// Copies one piece between a device buffer of `blocks` blocks of `count` elements (1 block, or
// one per rank) and its packed staging, on the stream. A piece that is the whole call is one copy.
Status copyPiece(Runtime* runtime, bool toDevice, void* deviceBuffer, void* staging, size_t blocks,
                 size_t count, const Piece& piece, size_t elemSize, void* stream) {
  if (blocks == 0) return Status::ok();
  char* device = static_cast<char*>(deviceBuffer);
  char* packed = static_cast<char*>(staging);
  if (piece.count == count) {
    const size_t bytes = blocks * count * elemSize;
    return toDevice ? runtime->copyAsync(device, packed, bytes, stream)
                    : runtime->copyAsync(packed, device, bytes, stream);
  }
  const size_t bytes = piece.count * elemSize;
  for (size_t b = 0; b < blocks; ++b) {
    char* block = device + (b * count + piece.first) * elemSize;
    char* slot = packed + b * bytes;
    TUTTI_RETURN_IF_ERROR(toDevice ? runtime->copyAsync(block, slot, bytes, stream)
                                   : runtime->copyAsync(slot, block, bytes, stream));
  }
  return Status::ok();
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
  Runtime* runtime = device::activeRuntime();
  device::PinnedPool* pool = device::pinnedPool();
  DeviceScope scope(runtime, comm->device);
  const bool isRoot = !isRooted(args.collective) || comm->rank == args.root;
  const size_t elemSize = dataTypeSize(args.type);
  // Blocks of `count` elements in each buffer: 0 (unused), 1, or nranks.
  const size_t sendBlocks =
      sendBufferCount(args.collective, comm->nranks, args.count, isRoot) / args.count;
  const size_t recvBlocks =
      recvBufferCount(args.collective, comm->nranks, args.count, isRoot) / args.count;
  std::vector<Piece> pieces;
  for (const PieceRange& range :
       devicePieces(args.count, elemSize, comm->params.deviceChunkBytes)) {
    pieces.push_back(Piece{range});
  }

  auto staging = std::make_unique<Staging>();
  for (Piece& piece : pieces) {
    for (auto [blocks, buffer] :
         {std::make_pair(sendBlocks, &piece.send), std::make_pair(recvBlocks, &piece.recv)}) {
      if (blocks == 0) continue;
      const Status status = pool->take(blocks * piece.count * elemSize, buffer);
      if (!status.isOk()) {
        returnStaging(staging.release());  // nothing is queued yet
        return status;
      }
      staging->buffers.push_back(*buffer);
    }
  }
  // From the first queued copy on, the staging buffers belong to the stream: only a host
  // function queued behind the copies may give them back, and only while no operation uses them.
  // A failure after an operation was issued keeps them out of the pool (the communicator is
  // broken then: its peers have started calls this rank does not finish).
  bool issued = false;
  auto finish = [&](Status status) {
    Staging* owned = staging.release();
    if (issued && !status.isOk()) return status;
    const Status queued = runtime->launchHostFunction(stream, returnStaging, owned);
    if (!queued.isOk()) delete owned;  // out of the pool: a queued copy may still use them
    return status.isOk() ? queued : status;
  };

  // The stream stages every piece's send data; each piece's operation waits for its own.
  std::vector<std::shared_ptr<Operation>> staged;
  for (const Piece& piece : pieces) {
    Status status = copyPiece(runtime, /*toDevice=*/false, const_cast<void*>(args.send), piece.send,
                              sendBlocks, args.count, piece, elemSize, stream);
    if (!status.isOk()) return finish(status);
    staged.push_back(std::make_shared<Operation>(CollectiveArgs{}, 0));
    auto* arg = new std::shared_ptr<Operation>(staged.back());
    status = runtime->launchHostFunction(stream, markStaged, arg);
    if (!status.isOk()) {
      delete arg;
      return finish(status);
    }
  }
  uint64_t* flag = comm->streamFlag;
  for (size_t k = 0; k < pieces.size(); ++k) {
    CollectiveArgs hostArgs = args;
    hostArgs.count = pieces[k].count;
    hostArgs.send = pieces[k].send;
    hostArgs.recv = pieces[k].recv;
    std::shared_ptr<Operation> operation;
    const Status status = issueCollective(comm, hostArgs, &operation, staged[k]);
    if (!status.isOk()) return finish(status);
    issued = true;
    pieces[k].sequence = operation->sequence();
    operation->onComplete([flag, sequence = pieces[k].sequence](const Status&) {
      // Operations complete in sequence order, so the flag only rises.
      __atomic_store_n(flag, sequence, __ATOMIC_RELEASE);
    });
  }
  // Piece by piece: wait for its operation, then write it back.
  for (const Piece& piece : pieces) {
    Status status = runtime->waitFlag(stream, flag, piece.sequence);
    if (status.isOk()) {
      status = copyPiece(runtime, /*toDevice=*/true, args.recv, piece.recv, recvBlocks, args.count,
                         piece, elemSize, stream);
    }
    if (!status.isOk()) return finish(status);
  }
  return finish(Status::ok());
}

}  // namespace tutti
