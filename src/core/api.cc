// The C API: argument checks, conversion of internal Status to tuttiResult_t, and the
// last-error strings. Everything else is delegated.
#include <cstdint>
#include <cstring>
#include <string>

#include "base/handshake.h"
#include "base/log.h"
#include "base/net_iface.h"
#include "base/params.h"
#include "base/unique_id.h"
#include "core/api_result.h"
#include "core/bootstrap.h"
#include "core/comm.h"
#include "core/host_stream.h"
#include "core/launcher_env.h"
#include "exec/datatype.h"
#include "tutti/tutti.h"

namespace tutti {
namespace {

Status liveCommError(tuttiComm_t handle) {
  if (handle == nullptr) return makeError(tuttiInvalidArgument, "comm is NULL");
  return makeError(tuttiInvalidArgument,
                   "comm {} is not a live communicator (destroyed, aborted or never created)",
                   static_cast<const void*>(handle));
}

bool rangesOverlap(const void* a, size_t aBytes, const void* b, size_t bBytes) {
  auto x = reinterpret_cast<uintptr_t>(a);
  auto y = reinterpret_cast<uintptr_t>(b);
  return aBytes > 0 && bBytes > 0 && x < y + bBytes && y < x + aBytes;
}

Status checkCollective(tuttiComm* comm, Collective collective, const void* sendbuff, void* recvbuff,
                       size_t count, int type, int op, tuttiStream_t stream) {
  const char* name = collectiveName(collective);
  if (!isValidDataType(type)) {
    return makeError(tuttiInvalidArgument, "{}: datatype {} is not a tuttiDataType_t (0..{})", name,
                     type, tuttiNumTypes - 1);
  }
  if (collective != Collective::kAllGather && !isValidRedOp(op)) {
    return makeError(tuttiInvalidArgument, "{}: op {} is not a tuttiRedOp_t (0..{})", name, op,
                     tuttiNumOps - 1);
  }
  if (stream != nullptr && !isHostStream(stream)) {
    return makeError(tuttiInvalidUsage,
                     "{}: stream {} is not a live Tutti host stream: with host buffers the stream "
                     "is NULL (blocking) or a tuttiHostStream_t (queued); this build has no CUDA "
                     "streams yet",
                     name, stream);
  }
  const size_t elemSize = dataTypeSize(static_cast<tuttiDataType_t>(type));
  const size_t n = static_cast<size_t>(comm->nranks);
  if (count > SIZE_MAX / n / elemSize) {
    return makeError(tuttiInvalidArgument, "{}: count {} overflows the buffer size", name, count);
  }
  if (count == 0) return Status::ok();
  const char* countName = collective == Collective::kAllReduce   ? "count"
                          : collective == Collective::kAllGather ? "sendcount"
                                                                 : "recvcount";
  if (sendbuff == nullptr) {
    return makeError(tuttiInvalidArgument, "{}: sendbuff is NULL with {} = {}", name, countName,
                     count);
  }
  if (recvbuff == nullptr) {
    return makeError(tuttiInvalidArgument, "{}: recvbuff is NULL with {} = {}", name, countName,
                     count);
  }
  const size_t sendBytes = sendBufferCount(collective, comm->nranks, count) * elemSize;
  const size_t recvBytes = recvBufferCount(collective, comm->nranks, count) * elemSize;
  const char* send = static_cast<const char*>(sendbuff);
  const char* recv = static_cast<const char*>(recvbuff);
  const size_t rankOffset = static_cast<size_t>(comm->rank) * count * elemSize;
  bool inPlace = false;
  switch (collective) {
    case Collective::kAllReduce:
      inPlace = send == recv;
      break;
    case Collective::kAllGather:
      inPlace = send == recv + rankOffset;
      break;
    case Collective::kReduceScatter:
      inPlace = recv == send + rankOffset;
      break;
  }
  if (!inPlace && rangesOverlap(send, sendBytes, recv, recvBytes)) {
    return makeError(tuttiInvalidArgument,
                     "{}: sendbuff and recvbuff overlap without being NCCL's in-place layout",
                     name);
  }
  return Status::ok();
}

tuttiResult_t collective(Collective kind, const void* sendbuff, void* recvbuff, size_t count,
                         int type, int op, tuttiComm_t handle, tuttiStream_t stream) {
  // Hold the registry lock while taking the call lock, so abort cannot free comm in between.
  std::unique_lock<std::mutex> callLock;
  tuttiComm* comm = nullptr;
  bool live = withLiveComm(handle, [&](tuttiComm* c) {
    callLock = std::unique_lock<std::mutex>(c->callMutex);
    comm = c;
  });
  if (!live) return finish(liveCommError(handle));
  Status status = checkCollective(comm, kind, sendbuff, recvbuff, count, type, op, stream);
  if (!status.isOk()) return finish(status, handle);
  int sticky = comm->asyncError.load();
  if (sticky != tuttiSuccess) {
    std::string previous;
    {
      std::lock_guard<std::mutex> lock(comm->errorMutex);
      previous = comm->lastError;
    }
    return finish(Status(static_cast<tuttiResult_t>(sticky),
                         fmt::format("{}: communicator is in error since an earlier call ({}); "
                                     "destroy or abort it",
                                     collectiveName(kind), previous)),
                  handle);
  }
  const CollectiveArgs args{kind,
                            sendbuff,
                            recvbuff,
                            count,
                            static_cast<tuttiDataType_t>(type),
                            static_cast<tuttiRedOp_t>(op)};
  if (stream != nullptr) {
    // Queued behind the stream's last call (perhaps of another communicator); returns at once.
    status = static_cast<HostStream*>(stream)->enqueue(
        [&](const std::shared_ptr<Operation>& last, std::shared_ptr<Operation>* operation) {
          return issueCollective(comm, args, operation, last);
        });
    callLock.unlock();
    return finish(status, handle);
  }
  if (pendingOperations(comm) == 0) {
    status = runCollective(comm, args);
    callLock.unlock();
    return finish(status, handle);
  }
  // Asynchronous operations are still queued: this call runs after them, on the progress thread.
  std::shared_ptr<Operation> operation;
  status = issueCollective(comm, args, &operation);
  const int timeoutMs = comm->params.timeoutMs;
  callLock.unlock();
  // The operation ends by itself (each of its waits has the inactivity timeout); waiting in
  // slices keeps this wait bounded too.
  while (status.isOk()) {
    status = operation->wait(timeoutMs);
    if (status.code() != tuttiTimeout || operation->done()) break;
    status = Status::ok();
  }
  return finish(status, handle);
}

Status initRank(tuttiComm_t* comm, int nranks, const tuttiUniqueId& commId, int rank,
                tuttiConfig_t* config) {
  if (comm == nullptr) return makeError(tuttiInvalidArgument, "comm (the output pointer) is NULL");
  *comm = nullptr;
  if (nranks < 1 || nranks > kMaxRanks) {
    return makeError(tuttiInvalidArgument, "nranks = {} is outside [1, {}]", nranks, kMaxRanks);
  }
  if (rank < 0 || rank >= nranks) {
    return makeError(tuttiInvalidArgument, "rank = {} is outside [0, nranks = {})", rank, nranks);
  }
  UniqueIdContents id;
  TUTTI_RETURN_IF_ERROR(decodeUniqueId(commId, &id));
  return createComm(id, nranks, rank, config, comm);
}

}  // namespace
}  // namespace tutti

using namespace tutti;

TUTTI_PUBLIC tuttiResult_t tuttiGetVersion(int* version) {
  if (version == nullptr) return finish(makeError(tuttiInvalidArgument, "version is NULL"));
  *version = TUTTI_VERSION_CODE;
  return tuttiSuccess;
}

TUTTI_PUBLIC tuttiResult_t tuttiGetUniqueId(tuttiUniqueId* uniqueId) {
  if (uniqueId == nullptr) return finish(makeError(tuttiInvalidArgument, "uniqueId is NULL"));
  Params params;
  Status status = loadParams(nullptr, &params);
  if (!status.isOk()) return finish(status);
  NetIface iface;
  status = chooseInterface(params.socketIfname, params.socketFamily, &iface);
  if (!status.isOk()) return finish(status);
  UniqueIdContents contents;
  status = randomBytes(contents.secret, kSecretBytes);
  if (!status.isOk()) return finish(status);
  SockAddr bound;
  status = startBootstrapRoot(iface.addr, contents.secret, params.timeoutMs, 0, &bound);
  if (!status.isOk()) return finish(status);
  contents.root = toWire(bound);
  encodeUniqueId(contents, uniqueId);
  TUTTI_INFO(kLogInit | kLogBootstrap, "unique id: root {} on interface {}", bound.toString(),
             iface.name);
  return tuttiSuccess;
}

TUTTI_PUBLIC tuttiResult_t tuttiCommInitRank(tuttiComm_t* comm, int nranks, tuttiUniqueId commId,
                                             int rank) {
  return finish(initRank(comm, nranks, commId, rank, nullptr));
}

TUTTI_PUBLIC tuttiResult_t tuttiCommInitRankConfig(tuttiComm_t* comm, int nranks,
                                                   tuttiUniqueId commId, int rank,
                                                   tuttiConfig_t* config) {
  return finish(initRank(comm, nranks, commId, rank, config));
}

TUTTI_PUBLIC tuttiResult_t tuttiCommInitFromEnv(tuttiComm_t* comm) {
  if (comm == nullptr) {
    return finish(makeError(tuttiInvalidArgument, "comm (the output pointer) is NULL"));
  }
  *comm = nullptr;
  const char* commId = paramEnv("TUTTI_COMM_ID");
  if (commId == nullptr || *commId == '\0') {
    return finish(makeError(tuttiInvalidArgument,
                            "TUTTI_COMM_ID is not set: set it to host:port where rank 0 listens"));
  }
  LauncherRank launcher;
  bool found = false;
  Status status = rankFromLauncher(&launcher, &found);
  if (!status.isOk()) return finish(status);
  if (!found) {
    return finish(makeError(tuttiInvalidArgument,
                            "no rank and size in the environment: set TUTTI_RANK and "
                            "TUTTI_WORLD_SIZE, or start under mpirun, srun or torchrun"));
  }
  SockAddr rootAddr;
  status = parseHostPort(commId, &rootAddr).withContext("TUTTI_COMM_ID");
  if (!status.isOk()) return finish(status);
  if (rootAddr.port() == 0) {
    return finish(makeError(tuttiInvalidArgument, "TUTTI_COMM_ID='{}' needs a port", commId));
  }
  Params params;
  status = loadParams(nullptr, &params);
  if (!status.isOk()) return finish(status);
  UniqueIdContents id;
  secretFromString(commId, id.secret);
  id.root = toWire(rootAddr);
  if (launcher.rank == 0) {
    SockAddr bound;
    status = startBootstrapRoot(rootAddr, id.secret, params.timeoutMs, launcher.size, &bound);
    if (!status.isOk()) return finish(status.withContext("TUTTI_COMM_ID"));
  }
  TUTTI_INFO(kLogInit, "init from environment: rank {} of {} ({}), root {}", launcher.rank,
             launcher.size, launcher.source, rootAddr.toString());
  return finish(createComm(id, launcher.size, launcher.rank, nullptr, comm));
}

TUTTI_PUBLIC tuttiResult_t tuttiCommDestroy(tuttiComm_t handle) {
  tuttiComm* comm = unregisterComm(handle);
  if (comm == nullptr) return finish(liveCommError(handle));
  { std::lock_guard<std::mutex> wait(comm->callMutex); }  // a call in progress ends first
  delete comm;
  return tuttiSuccess;
}

TUTTI_PUBLIC tuttiResult_t tuttiCommAbort(tuttiComm_t handle) {
  tuttiComm* comm = unregisterComm(handle);
  if (comm == nullptr) return finish(liveCommError(handle));
  comm->aborted.store(true);
  closeConnections(comm);
  { std::lock_guard<std::mutex> wait(comm->callMutex); }  // the unblocked call returns first
  delete comm;
  return tuttiSuccess;
}

TUTTI_PUBLIC tuttiResult_t tuttiCommGetAsyncError(tuttiComm_t comm, tuttiResult_t* asyncError) {
  if (asyncError == nullptr) {
    return finish(makeError(tuttiInvalidArgument, "asyncError is NULL"));
  }
  bool live = withLiveComm(
      comm, [&](tuttiComm* c) { *asyncError = static_cast<tuttiResult_t>(c->asyncError.load()); });
  return live ? tuttiSuccess : finish(liveCommError(comm));
}

TUTTI_PUBLIC tuttiResult_t tuttiCommCount(const tuttiComm_t comm, int* count) {
  if (count == nullptr) return finish(makeError(tuttiInvalidArgument, "count is NULL"));
  bool live = withLiveComm(comm, [&](tuttiComm* c) { *count = c->nranks; });
  return live ? tuttiSuccess : finish(liveCommError(comm));
}

TUTTI_PUBLIC tuttiResult_t tuttiCommUserRank(const tuttiComm_t comm, int* rank) {
  if (rank == nullptr) return finish(makeError(tuttiInvalidArgument, "rank is NULL"));
  bool live = withLiveComm(comm, [&](tuttiComm* c) { *rank = c->rank; });
  return live ? tuttiSuccess : finish(liveCommError(comm));
}

TUTTI_PUBLIC const char* tuttiGetErrorString(tuttiResult_t result) {
  switch (result) {
    case tuttiSuccess:
      return "no error";
    case tuttiUnhandledCudaError:
      return "unhandled cuda error";
    case tuttiSystemError:
      return "unhandled system error";
    case tuttiInternalError:
      return "internal error";
    case tuttiInvalidArgument:
      return "invalid argument";
    case tuttiInvalidUsage:
      return "invalid usage";
    case tuttiRemoteError:
      return "remote process exited or there was a network error";
    case tuttiInProgress:
      return "operation in progress";
    case tuttiTimeout:
      return "timeout";
    default:
      return "unknown result code";
  }
}

TUTTI_PUBLIC const char* tuttiGetLastError(tuttiComm_t comm) {
  if (comm == nullptr) return threadLastError();
  const char* message = nullptr;
  withLiveComm(comm, [&](tuttiComm* c) {
    std::lock_guard<std::mutex> lock(c->errorMutex);
    message = c->lastError.c_str();
  });
  return message != nullptr ? message : threadLastError();
}

TUTTI_PUBLIC tuttiResult_t tuttiAllReduce(const void* sendbuff, void* recvbuff, size_t count,
                                          tuttiDataType_t datatype, tuttiRedOp_t op,
                                          tuttiComm_t comm, tuttiStream_t stream) {
  return collective(Collective::kAllReduce, sendbuff, recvbuff, count, datatype, op, comm, stream);
}

TUTTI_PUBLIC tuttiResult_t tuttiAllGather(const void* sendbuff, void* recvbuff, size_t sendcount,
                                          tuttiDataType_t datatype, tuttiComm_t comm,
                                          tuttiStream_t stream) {
  return collective(Collective::kAllGather, sendbuff, recvbuff, sendcount, datatype, tuttiSum, comm,
                    stream);
}

TUTTI_PUBLIC tuttiResult_t tuttiReduceScatter(const void* sendbuff, void* recvbuff,
                                              size_t recvcount, tuttiDataType_t datatype,
                                              tuttiRedOp_t op, tuttiComm_t comm,
                                              tuttiStream_t stream) {
  return collective(Collective::kReduceScatter, sendbuff, recvbuff, recvcount, datatype, op, comm,
                    stream);
}
