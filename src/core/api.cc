// The C API: each entry point takes the communicator's call lock, checks its arguments
// (core/api_args.h), runs the call or queues it, and converts the internal Status to a
// tuttiResult_t with its last-error string. Everything else is delegated.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/handshake.h"
#include "base/log.h"
#include "base/net_iface.h"
#include "base/params.h"
#include "base/unique_id.h"
#include "core/api_args.h"
#include "core/api_lock.h"
#include "core/api_result.h"
#include "core/bootstrap.h"
#include "core/comm.h"
#include "core/comm_failure.h"
#include "core/comm_shrink.h"
#include "core/device_collective.h"
#include "core/flight_dump.h"
#include "core/host_stream.h"
#include "core/launcher_env.h"
#include "core/one_sided.h"
#include "core/p2p_collective.h"
#include "core/p2p_registration.h"
#include "core/slurm_rendezvous.h"
#include "device/device_runtime.h"
#include "exec/datatype.h"
#include "tutti/tutti.h"

namespace tutti {
namespace {

// A blocking call while asynchronous operations are still queued: it runs after them, on the
// progress thread, and this thread waits for it (callLock released, so that the thread can run).
Status runBehindQueued(tuttiComm* comm, const CollectiveArgs& args,
                       std::unique_lock<std::mutex> callLock) {
  std::shared_ptr<Operation> operation;
  Status status = issueCollective(comm, args, &operation);
  const int timeoutMs = comm->params.timeoutMs;
  callLock.unlock();
  // The operation ends by itself (each of its waits has the inactivity timeout); waiting in
  // slices keeps this wait bounded too.
  while (status.isOk()) {
    status = operation->wait(timeoutMs);
    if (status.code() != tuttiTimeout || operation->done()) break;
    status = Status::ok();
  }
  return status;
}

tuttiResult_t collective(const CollectiveArgs& args, tuttiComm_t handle, tuttiStream_t stream) {
  const Collective kind = args.collective;
  std::unique_lock<std::mutex> callLock;
  tuttiComm* comm = lockLiveComm(handle, &callLock);
  if (comm == nullptr) return finish(liveCommError(handle));
  // finish() records the error through the registry: the call lock goes first, or a thread
  // waiting in lockLiveComm (registry held, waiting for this call lock) deadlocks with this one
  // (ThreadSanitizer's lock-order inversion, docs/reliability.md).
  auto fail = [&](const Status& failure) {
    callLock.unlock();
    return finish(failure, handle);
  };
  Status status = checkCollective(comm, args, stream);
  if (!status.isOk()) return fail(status);
  bool onDevice = false;
  status = classifyBuffers(comm, args, &onDevice);
  if (!status.isOk()) return fail(status);
  if (args.count == 0 && isDeviceStream(stream)) {
    // No buffer to tell the memory by: a device stream says it is a device call, and a call with
    // nothing to move is a no-op on the stream (NCCL's behaviour).
    callLock.unlock();
    return finish(stickyStatus(comm, collectiveName(kind)), handle);
  }
  status = checkStream(args.collective, stream, onDevice);
  if (!status.isOk()) return fail(status);
  status = stickyStatus(comm, collectiveName(kind));
  if (!status.isOk()) return fail(status);
  if (onDevice) {
    bool issued = false;
    status = issueP2pCollective(comm, args, stream, &issued);
    if (status.isOk() && !issued) status = issueDeviceCollective(comm, args, stream);
    callLock.unlock();
    return finish(status, handle);
  }
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
  return finish(runBehindQueued(comm, args, std::move(callLock)), handle);
}

// A point-to-point call as a group records it: its communicator (by handle, core/comm.h) and
// its stream (NULL or a host stream).
struct RecordedCall {
  tuttiComm_t comm;
  PeerCall call;
  tuttiStream_t stream;
};

// The calling thread's group: tuttiGroupStart nesting depth, and the point-to-point calls
// recorded since the outermost tuttiGroupStart, in issue order.
struct Group {
  int depth = 0;
  std::vector<RecordedCall> calls;
};
thread_local Group tGroup;

// Runs one communicator's calls of a group under its call lock: here when nothing is queued on
// the communicator, else behind the queued operations; on a host stream, queued.
Status runGroupOn(tuttiComm_t handle, std::vector<PeerCall> calls, tuttiStream_t stream) {
  std::unique_lock<std::mutex> callLock;
  tuttiComm* comm = lockLiveComm(handle, &callLock);
  if (comm == nullptr) return liveCommError(handle);
  TUTTI_RETURN_IF_ERROR(stickyStatus(comm, "sendrecv"));
  // Device buffers (checked per call) or a device stream make it a device group; NULL is also
  // the default device stream, so its calls must agree.
  size_t onDevice = 0;
  size_t moving = 0;
  for (const PeerCall& call : calls) {
    bool device = false;
    TUTTI_RETURN_IF_ERROR(peerBufferOnDevice(comm, "sendrecv", call.buffer, call.bytes, &device));
    onDevice += device ? 1 : 0;
    moving += call.bytes > 0 ? 1 : 0;
  }
  if (onDevice > 0 && onDevice < moving) {
    return makeError(tuttiInvalidUsage,
                     "tuttiGroupEnd: {} of the group's {} calls on communicator {} move device "
                     "memory and the others host memory: one communicator's calls in a group are "
                     "all device calls or all host calls",
                     onDevice, moving, static_cast<const void*>(handle));
  }
  if (onDevice > 0 || isDeviceStream(stream)) {
    TUTTI_RETURN_IF_ERROR(checkPeerCalls(comm, calls));
    return issueDevicePeerCalls(comm, calls, stream);
  }
  if (stream == nullptr && pendingOperations(comm) == 0) return runPeerCalls(comm, calls);
  // Refused now, not when the queued group runs.
  TUTTI_RETURN_IF_ERROR(checkPeerCalls(comm, calls));
  CollectiveArgs args;
  args.collective = Collective::kSendRecv;
  args.peerCalls = std::make_shared<const std::vector<PeerCall>>(std::move(calls));
  if (stream == nullptr) return runBehindQueued(comm, args, std::move(callLock));
  if (!isHostStream(stream)) {
    return makeError(tuttiInvalidUsage,
                     "sendrecv: stream {} was destroyed between the call and tuttiGroupEnd",
                     stream);
  }
  return static_cast<HostStream*>(stream)->enqueue(
      [&](const std::shared_ptr<Operation>& last, std::shared_ptr<Operation>* operation) {
        return issueCollective(comm, args, operation, last);
      });
}

tuttiResult_t peerCall(bool send, const void* buffer, size_t count, tuttiDataType_t type, int peer,
                       tuttiComm_t comm, tuttiStream_t stream) {
  Status status = Status::ok();
  bool live = withLiveComm(comm, [&](tuttiComm* c) {
    status = checkPeerCall(c, send, buffer, count, static_cast<int>(type), peer, stream);
  });
  if (!live) return finish(liveCommError(comm));
  if (!status.isOk()) return finish(status, comm);
  const PeerCall call{send, buffer, count * dataTypeSize(type), peer};
  if (tGroup.depth > 0) {
    tGroup.calls.push_back({comm, call, stream});
    return tuttiSuccess;
  }
  return finish(runGroupOn(comm, {call}, stream), comm);
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

int callerGroupDepth() { return tGroup.depth; }

}  // namespace tutti

using namespace tutti;

TUTTI_PUBLIC tuttiResult_t tuttiGetVersion(int* version) {
  return guarded(nullptr, "tuttiGetVersion", [&]() -> tuttiResult_t {
    if (version == nullptr) return finish(makeError(tuttiInvalidArgument, "version is NULL"));
    *version = TUTTI_VERSION_CODE;
    return tuttiSuccess;
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiGetUniqueId(tuttiUniqueId* uniqueId) {
  return guarded(nullptr, "tuttiGetUniqueId", [&]() -> tuttiResult_t {
    if (uniqueId == nullptr) return finish(makeError(tuttiInvalidArgument, "uniqueId is NULL"));
    Params params;
    Status status = loadParams(nullptr, &params);
    if (!status.isOk()) return finish(status);
    NetIface iface;
    status = chooseInterface(params.bootstrapInterfaces(), params.socketFamily, &iface);
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
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiCommInitRank(tuttiComm_t* comm, int nranks, tuttiUniqueId commId,
                                             int rank) {
  return guarded(nullptr, "tuttiCommInitRank", [&]() -> tuttiResult_t {
    return finish(initRank(comm, nranks, commId, rank, nullptr));
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiCommInitRankConfig(tuttiComm_t* comm, int nranks,
                                                   tuttiUniqueId commId, int rank,
                                                   tuttiConfig_t* config) {
  return guarded(nullptr, "tuttiCommInitRankConfig", [&]() -> tuttiResult_t {
    return finish(initRank(comm, nranks, commId, rank, config));
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiCommInitFromEnv(tuttiComm_t* comm) {
  return guarded(nullptr, "tuttiCommInitFromEnv", [&]() -> tuttiResult_t {
    if (comm == nullptr) {
      return finish(makeError(tuttiInvalidArgument, "comm (the output pointer) is NULL"));
    }
    *comm = nullptr;
    LauncherRank launcher;
    bool found = false;
    Status status = rankFromLauncher(&launcher, &found);
    if (!status.isOk()) return finish(status);
    const char* commId = paramEnv("TUTTI_COMM_ID");
    std::string derived;  // under srun: the step's own address for rank 0 (core/slurm_rendezvous.h)
    if ((commId == nullptr || *commId == '\0') && found &&
        launcher.source == kSlurmLauncherSource) {
      std::string why;
      derived = slurmCommId(&why);
      if (derived.empty()) {
        return finish(makeError(tuttiInvalidArgument,
                                "TUTTI_COMM_ID is not set and srun's step gives no address for "
                                "rank 0 ({}): set it to host:port where rank 0 listens",
                                why));
      }
      commId = derived.c_str();
    }
    if (commId == nullptr || *commId == '\0') {
      return finish(
          makeError(tuttiInvalidArgument,
                    "TUTTI_COMM_ID is not set: set it to host:port where rank 0 listens"));
    }
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
      status = startBootstrapRoot(rootAddr, id.secret, params.timeoutMs, launcher.size, &bound,
                                  launcher.rank);
      if (!status.isOk()) return finish(status.withContext("TUTTI_COMM_ID"));
    }
    TUTTI_INFO(kLogInit, "init from environment: rank {} of {} ({}), root {}", launcher.rank,
               launcher.size, launcher.source, rootAddr.toString());
    return finish(createComm(id, launcher.size, launcher.rank, nullptr, comm));
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiCommDestroy(tuttiComm_t handle) {
  return guarded(handle, "tuttiCommDestroy", [&]() -> tuttiResult_t {
    tuttiComm* comm = unregisterComm(handle);
    if (comm == nullptr) return finish(liveCommError(handle));
    { std::lock_guard<std::mutex> wait(comm->callMutex); }  // a call in progress ends first
    delete comm;
    return tuttiSuccess;
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiCommAbort(tuttiComm_t handle) {
  return guarded(handle, "tuttiCommAbort", [&]() -> tuttiResult_t {
    tuttiComm* comm = unregisterComm(handle);
    if (comm == nullptr) return finish(liveCommError(handle));
    comm->aborted.store(true);
    announceAbort(comm);  // every rank hears why before the connections close
    closeConnections(comm);
    if (comm->p2p != nullptr) comm->p2p->abort();           // barriers on streams stop waiting
    { std::lock_guard<std::mutex> wait(comm->callMutex); }  // the unblocked call returns first
    delete comm;
    return tuttiSuccess;
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiCommRevoke(tuttiComm_t handle) {
  return guarded(handle, "tuttiCommRevoke", [&]() -> tuttiResult_t {
    tuttiComm* comm = nullptr;
    bool again = false;
    bool live = withLiveComm(handle, [&](tuttiComm* c) {
      comm = c;
      again = c->revokedHere;
      c->revokedHere = true;
    });
    if (!live) return finish(liveCommError(handle));
    if (again) {
      return finish(makeError(tuttiInvalidArgument,
                              "comm {} was revoked by this rank already (tuttiCommRevoke is called "
                              "once, as ncclCommRevoke refuses a revoked communicator)",
                              static_cast<const void*>(handle)),
                    handle);
    }
    revokeComm(comm);
    return tuttiSuccess;
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiCommShrink(tuttiComm_t handle, const int* excludeRanks,
                                           int excludeCount, tuttiComm_t* newcomm) {
  return guarded(handle, "tuttiCommShrink", [&]() -> tuttiResult_t {
    if (newcomm == nullptr) {
      return finish(makeError(tuttiInvalidArgument, "newcomm (the output pointer) is NULL"));
    }
    *newcomm = nullptr;
    // The call lock: no call of this rank runs on the parent meanwhile, and destroy waits.
    std::unique_lock<std::mutex> callLock;
    tuttiComm* comm = lockLiveComm(handle, &callLock);
    if (comm == nullptr) return finish(liveCommError(handle));
    std::vector<int> survivors;
    Status status =
        shrinkSurvivors(comm->nranks, comm->rank, excludeRanks, excludeCount, &survivors);
    if (status.isOk()) status = shrinkComm(comm, survivors, newcomm);
    callLock.unlock();
    return finish(status, handle);
  });
}

namespace {

// tuttiCommWindowRegister's buffer: `size` bytes of host memory (*host) or of device memory of
// the communicator's device.
Status checkWindowBuffer(const tuttiComm* comm, const void* buff, size_t size, bool* host) {
  device::Runtime* runtime = device::activeRuntime();
  *host = true;
  if (runtime == nullptr) return Status::ok();  // no device memory to be had
  const char* last = static_cast<const char*>(buff) + (size - 1);
  device::PointerInfo first;
  TUTTI_RETURN_IF_ERROR(runtime->classify(buff, &first));
  // Pinned and managed memory are host memory to the transports, as to the collectives.
  *host = first.kind != device::MemoryKind::kDevice;
  for (const auto& [pointer, which] :
       {std::pair{static_cast<const char*>(buff), "buff"}, std::pair{last, "buff + size - 1"}}) {
    device::PointerInfo info;
    TUTTI_RETURN_IF_ERROR(runtime->classify(pointer, &info));
    if (*host && info.kind != device::MemoryKind::kDevice) continue;
    if (*host || info.kind != device::MemoryKind::kDevice || info.device != comm->device) {
      return makeError(
          tuttiInvalidArgument, "tuttiCommWindowRegister: {} ({}) is {} memory{}, not {}", which,
          static_cast<const void*>(pointer), device::memoryKindName(info.kind),
          info.kind == device::MemoryKind::kDevice ? fmt::format(" of device {}", info.device)
                                                   : std::string(),
          *host ? "host memory as buff is"
                : fmt::format("memory of the communicator's device {}", comm->device));
    }
  }
  if (*host) return Status::ok();
  // One allocation: peers map the allocation holding buff. (Memory the runtime cannot export
  // registers; its window is then not mapped, and INFO says why.)
  device::ExportedMemory exported;
  if (runtime->exportMemory(buff, &exported).isOk()) {
    if (exported.fd >= 0) close(exported.fd);
    if (exported.bytes > 0 &&
        (exported.offset > exported.bytes || size > exported.bytes - exported.offset)) {
      return makeError(tuttiInvalidArgument,
                       "tuttiCommWindowRegister: buff ({}) and size {} run past the end of "
                       "buff's allocation ({} bytes from buff on): a window is one allocation's",
                       buff, size, exported.bytes - std::min(exported.offset, exported.bytes));
    }
  }
  return Status::ok();
}

}  // namespace

TUTTI_PUBLIC tuttiResult_t tuttiCommWindowRegister(tuttiComm_t handle, void* buff, size_t size,
                                                   tuttiWindow_t* win, int winFlags) {
  return guarded(handle, "tuttiCommWindowRegister", [&]() -> tuttiResult_t {
    if (win == nullptr) {
      return finish(makeError(tuttiInvalidArgument, "tuttiCommWindowRegister: win is NULL"),
                    handle);
    }
    *win = nullptr;
    if (buff == nullptr || size == 0) {
      return finish(makeError(tuttiInvalidArgument,
                              "tuttiCommWindowRegister: {} (a window is a non-empty buffer)",
                              buff == nullptr ? "buff is NULL" : "size is 0"),
                    handle);
    }
    if (winFlags != TUTTI_WIN_DEFAULT && winFlags != TUTTI_WIN_COLL_SYMMETRIC) {
      return finish(makeError(tuttiInvalidArgument,
                              "tuttiCommWindowRegister: winFlags {:#x} is neither "
                              "TUTTI_WIN_DEFAULT (0) nor TUTTI_WIN_COLL_SYMMETRIC (1)",
                              winFlags),
                    handle);
    }
    std::unique_lock<std::mutex> callLock;
    tuttiComm* comm = lockLiveComm(handle, &callLock);
    if (comm == nullptr) return finish(liveCommError(handle));
    bool host = false;
    Status status = checkWindowBuffer(comm, buff, size, &host);
    Status idle = Status::ok();
    if (status.isOk() && host && pendingOperations(comm) > 0) {
      // A host window's exchange runs on this thread's executor: queued operations go first. A
      // rank whose operations do not finish still takes part, so that every rank fails alike.
      callLock.unlock();
      idle = lockIdleComm(handle, "tuttiCommWindowRegister", &callLock, &comm);
      if (comm == nullptr) return finish(idle);
    }
    if (status.isOk()) status = stickyStatus(comm, "tuttiCommWindowRegister");
    if (status.isOk()) {
      status = host ? registerHostWindow(comm, buff, size, winFlags, idle, win)
                    : registerWindow(comm, buff, size, winFlags, win);
    }
    callLock.unlock();
    return finish(status, handle);
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiCommWindowDeregister(tuttiComm_t handle, tuttiWindow_t win) {
  return guarded(handle, "tuttiCommWindowDeregister", [&]() -> tuttiResult_t {
    auto notRegistered = [&] {
      return makeError(tuttiInvalidArgument,
                       "tuttiCommWindowDeregister: win {} is not a registered window of this "
                       "communicator (NULL, deregistered already, or another communicator's)",
                       static_cast<const void*>(win));
    };
    std::shared_ptr<const std::atomic<int>> queued;
    int timeoutMs = 0;
    {
      std::unique_lock<std::mutex> callLock;
      tuttiComm* comm = lockLiveComm(handle, &callLock);
      if (comm == nullptr) return finish(liveCommError(handle));
      if (win == nullptr || !comm->windows.contains(win)) {
        callLock.unlock();
        return finish(notRegistered(), handle);
      }
      if (comm->p2p != nullptr) queued = comm->p2p->queuedCalls();
      timeoutMs = comm->params.timeoutMs;
    }
    // The calls queued on streams may read the window. Waited for without the call lock: a
    // staged device call queued before them on the same stream needs it to run.
    const bool drained = queued == nullptr || waitForNoQueuedCalls(*queued, timeoutMs);
    std::unique_lock<std::mutex> callLock;
    tuttiComm* comm = lockLiveComm(handle, &callLock);
    if (comm == nullptr) return finish(liveCommError(handle));
    bool idle = true;
    if (comm->windows.contains(win) && win->host && pendingOperations(comm) > 0) {
      // Unpinning touches the memory domains, which queued operations use on their thread. A
      // rank whose operations do not finish still takes part: no rank drops the window then.
      callLock.unlock();
      idle = lockIdleComm(handle, "tuttiCommWindowDeregister", &callLock, &comm).isOk();
      if (comm == nullptr) return finish(liveCommError(handle));
    }
    const Status status = comm->windows.contains(win) ? deregisterWindow(comm, win, drained && idle)
                                                      : notRegistered();
    callLock.unlock();
    return finish(status, handle);
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiCommGetFailedRanks(tuttiComm_t comm, int* ranks, int maxRanks,
                                                   int* count) {
  return guarded(comm, "tuttiCommGetFailedRanks", [&]() -> tuttiResult_t {
    if (count == nullptr) return finish(makeError(tuttiInvalidArgument, "count is NULL"));
    if (maxRanks < 0) {
      return finish(makeError(tuttiInvalidArgument, "maxRanks {} is negative", maxRanks));
    }
    if (ranks == nullptr && maxRanks > 0) {
      return finish(makeError(tuttiInvalidArgument, "ranks is NULL with maxRanks {}", maxRanks));
    }
    std::vector<int> failed;
    bool live = withLiveComm(comm, [&](tuttiComm* c) {
      if (c->watch != nullptr) failed = c->watch->failedRanks();
    });
    if (!live) return finish(liveCommError(comm));
    *count = static_cast<int>(failed.size());
    std::copy_n(failed.begin(), std::min(*count, maxRanks), ranks);
    return tuttiSuccess;
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiCommGetAsyncError(tuttiComm_t comm, tuttiResult_t* asyncError) {
  return guarded(comm, "tuttiCommGetAsyncError", [&]() -> tuttiResult_t {
    if (asyncError == nullptr) {
      return finish(makeError(tuttiInvalidArgument, "asyncError is NULL"));
    }
    bool live = withLiveComm(comm, [&](tuttiComm* c) {
      (void)noteP2pTimeout(c);  // a device call's barrier that timed out on its stream
      *asyncError = static_cast<tuttiResult_t>(c->asyncError.load());
      if (*asyncError != tuttiSuccess) {
        // No call returned it (it may have come from a stream or a peer): say why here.
        std::lock_guard<std::mutex> lock(c->errorMutex);
        c->lastError = c->stickyMessage;
      }
    });
    return live ? tuttiSuccess : finish(liveCommError(comm));
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiCommDumpState(tuttiComm_t comm) {
  return guarded(comm, "tuttiCommDumpState", [&]() -> tuttiResult_t {
    // Snapshot under the registry lock (the communicator cannot be destroyed meanwhile; a call
    // running on another thread goes on), then log and write outside it.
    RecorderSnapshot snapshot;
    std::string file;
    bool enabled = false;
    bool live = withLiveComm(comm, [&](tuttiComm* c) {
      enabled = c->recorder->enabled();
      if (!enabled) return;
      snapshot = c->recorder->snapshot(c->rank, "request");
      file = c->params.flightRecorderFile;
    });
    if (!live) return finish(liveCommError(comm));
    if (!enabled) {
      return finish(
          makeError(tuttiInvalidUsage,
                    "the flight recorder is off (TUTTI_FLIGHT_RECORDER=0): nothing to dump"),
          comm);
    }
    return finish(writeFlightRecorder(snapshot, false, file), comm);
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiCommCount(const tuttiComm_t comm, int* count) {
  return guarded(comm, "tuttiCommCount", [&]() -> tuttiResult_t {
    if (count == nullptr) return finish(makeError(tuttiInvalidArgument, "count is NULL"));
    bool live = withLiveComm(comm, [&](tuttiComm* c) { *count = c->nranks; });
    return live ? tuttiSuccess : finish(liveCommError(comm));
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiCommUserRank(const tuttiComm_t comm, int* rank) {
  return guarded(comm, "tuttiCommUserRank", [&]() -> tuttiResult_t {
    if (rank == nullptr) return finish(makeError(tuttiInvalidArgument, "rank is NULL"));
    bool live = withLiveComm(comm, [&](tuttiComm* c) { *rank = c->rank; });
    return live ? tuttiSuccess : finish(liveCommError(comm));
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiCommCuDevice(const tuttiComm_t comm, int* device) {
  return guarded(comm, "tuttiCommCuDevice", [&]() -> tuttiResult_t {
    if (device == nullptr) return finish(makeError(tuttiInvalidArgument, "device is NULL"));
    bool live = withLiveComm(comm, [&](tuttiComm* c) { *device = c->device; });
    return live ? tuttiSuccess : finish(liveCommError(comm));
  });
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
    message = c->lastErrorInstead != nullptr ? c->lastErrorInstead : c->lastError.c_str();
  });
  return message != nullptr ? message : threadLastError();
}

TUTTI_PUBLIC tuttiResult_t tuttiAllReduce(const void* sendbuff, void* recvbuff, size_t count,
                                          tuttiDataType_t datatype, tuttiRedOp_t op,
                                          tuttiComm_t comm, tuttiStream_t stream) {
  return guarded(comm, "tuttiAllReduce", [&]() -> tuttiResult_t {
    return collective({Collective::kAllReduce, sendbuff, recvbuff, count, datatype, op}, comm,
                      stream);
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiAllGather(const void* sendbuff, void* recvbuff, size_t sendcount,
                                          tuttiDataType_t datatype, tuttiComm_t comm,
                                          tuttiStream_t stream) {
  return guarded(comm, "tuttiAllGather", [&]() -> tuttiResult_t {
    return collective({Collective::kAllGather, sendbuff, recvbuff, sendcount, datatype, tuttiSum},
                      comm, stream);
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiReduceScatter(const void* sendbuff, void* recvbuff,
                                              size_t recvcount, tuttiDataType_t datatype,
                                              tuttiRedOp_t op, tuttiComm_t comm,
                                              tuttiStream_t stream) {
  return guarded(comm, "tuttiReduceScatter", [&]() -> tuttiResult_t {
    return collective({Collective::kReduceScatter, sendbuff, recvbuff, recvcount, datatype, op},
                      comm, stream);
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiBroadcast(const void* sendbuff, void* recvbuff, size_t count,
                                          tuttiDataType_t datatype, int root, tuttiComm_t comm,
                                          tuttiStream_t stream) {
  return guarded(comm, "tuttiBroadcast", [&]() -> tuttiResult_t {
    return collective({Collective::kBroadcast, sendbuff, recvbuff, count, datatype, tuttiSum, root},
                      comm, stream);
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiReduce(const void* sendbuff, void* recvbuff, size_t count,
                                       tuttiDataType_t datatype, tuttiRedOp_t op, int root,
                                       tuttiComm_t comm, tuttiStream_t stream) {
  return guarded(comm, "tuttiReduce", [&]() -> tuttiResult_t {
    return collective({Collective::kReduce, sendbuff, recvbuff, count, datatype, op, root}, comm,
                      stream);
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiAlltoAll(const void* sendbuff, void* recvbuff, size_t count,
                                         tuttiDataType_t datatype, tuttiComm_t comm,
                                         tuttiStream_t stream) {
  return guarded(comm, "tuttiAlltoAll", [&]() -> tuttiResult_t {
    return collective({Collective::kAllToAll, sendbuff, recvbuff, count, datatype, tuttiSum}, comm,
                      stream);
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiGather(const void* sendbuff, void* recvbuff, size_t count,
                                       tuttiDataType_t datatype, int root, tuttiComm_t comm,
                                       tuttiStream_t stream) {
  return guarded(comm, "tuttiGather", [&]() -> tuttiResult_t {
    return collective({Collective::kGather, sendbuff, recvbuff, count, datatype, tuttiSum, root},
                      comm, stream);
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiScatter(const void* sendbuff, void* recvbuff, size_t count,
                                        tuttiDataType_t datatype, int root, tuttiComm_t comm,
                                        tuttiStream_t stream) {
  return guarded(comm, "tuttiScatter", [&]() -> tuttiResult_t {
    return collective({Collective::kScatter, sendbuff, recvbuff, count, datatype, tuttiSum, root},
                      comm, stream);
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiSend(const void* sendbuff, size_t count, tuttiDataType_t datatype,
                                     int peer, tuttiComm_t comm, tuttiStream_t stream) {
  return guarded(comm, "tuttiSend", [&]() -> tuttiResult_t {
    return peerCall(/*send=*/true, sendbuff, count, datatype, peer, comm, stream);
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiRecv(void* recvbuff, size_t count, tuttiDataType_t datatype,
                                     int peer, tuttiComm_t comm, tuttiStream_t stream) {
  return guarded(comm, "tuttiRecv", [&]() -> tuttiResult_t {
    return peerCall(/*send=*/false, recvbuff, count, datatype, peer, comm, stream);
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiGroupStart(void) {
  return guarded(nullptr, "tuttiGroupStart", [&]() -> tuttiResult_t {
    ++tGroup.depth;
    return tuttiSuccess;
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiGroupEnd(void) {
  return guarded(nullptr, "tuttiGroupEnd", [&]() -> tuttiResult_t {
    if (tGroup.depth == 0) {
      return finish(makeError(tuttiInvalidUsage, "tuttiGroupEnd without tuttiGroupStart"));
    }
    if (--tGroup.depth > 0) return tuttiSuccess;  // nested: the outermost end runs the group
    std::vector<RecordedCall> recorded = std::move(tGroup.calls);
    tGroup.calls.clear();
    // One batch per communicator, in the order each first appears. Each is guarded by itself:
    // memory that runs out fails that communicator, and the others' batches still run.
    tuttiResult_t result = tuttiSuccess;
    for (size_t first = 0; first < recorded.size(); ++first) {
      const tuttiComm_t comm = recorded[first].comm;
      bool seen = false;
      for (size_t i = 0; i < first && !seen; ++i) seen = recorded[i].comm == comm;
      if (seen) continue;
      const tuttiResult_t rc = guarded(comm, "tuttiGroupEnd", [&]() -> tuttiResult_t {
        std::vector<PeerCall> calls;
        const tuttiStream_t stream = recorded[first].stream;
        bool oneStream = true;
        for (size_t i = first; i < recorded.size(); ++i) {
          if (recorded[i].comm != comm) continue;
          oneStream = oneStream && recorded[i].stream == stream;
          calls.push_back(recorded[i].call);
        }
        // A batch runs as one plan, so it has one place in one order.
        const Status status =
            oneStream
                ? runGroupOn(comm, std::move(calls), stream)
                : makeError(tuttiInvalidUsage,
                            "tuttiGroupEnd: the group's calls on communicator {} name different "
                            "streams; one communicator's calls in a group share one stream",
                            static_cast<const void*>(comm));
        return finish(status, comm);
      });
      if (result == tuttiSuccess) result = rc;
    }
    return result;
  });
}
