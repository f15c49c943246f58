#include "core/one_sided.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/log.h"
#include "core/comm.h"
#include "core/comm_failure.h"
#include "core/p2p_mapping.h"
#include "core/p2p_registration.h"
#include "transports/progress_engine.h"
#include "transports/transport.h"

namespace tutti {
namespace {

static_assert(TUTTI_NUM_SIGNALS == Connection::kSignals,
              "tutti.h's signal count is the transports' signal count");

using Clock = std::chrono::steady_clock;

Connection* putConnection(const tuttiComm* comm, int peer) {
  Connection* connection = comm->connections[static_cast<size_t>(peer)];
  return connection != nullptr && connection->supportsPut() ? connection : nullptr;
}

Status noPut(const tuttiComm* comm, const char* call, int from, int to) {
  return makeError(tuttiInvalidUsage,
                   "{}: the connection from rank {} to rank {} has no one-sided put (this "
                   "communicator's transports: {}; tcp has none, and shm none without "
                   "cross-memory attach)",
                   call, from, to, comm->transportNames);
}

// Registers the window's memory, pinned, once with the memory domain of the connections that put
// (a transport's connections share one), and exports it for each such peer; exports[p] stays
// empty (keyBytes 0) where the connection has no put.
Status exportHostWindow(tuttiComm* comm, tuttiWindow* window, std::vector<RemoteMemory>* exports) {
  const Memory memory{window->base, window->bytes, MemoryKind::kHost, -1};
  for (int peer = 0; peer < comm->nranks; ++peer) {
    Connection* connection = peer == comm->rank ? nullptr : putConnection(comm, peer);
    if (connection == nullptr) continue;
    MemoryDomain& domain = connection->memoryDomain();
    const Registration* registration = nullptr;
    for (const auto& [pinnedIn, pinned] : window->pinned) {
      if (pinnedIn == &domain) registration = pinned;
    }
    if (registration == nullptr) {
      TUTTI_RETURN_IF_ERROR(domain.registerPinned(memory, &registration));
      window->pinned.emplace_back(&domain, registration);
    }
    RemoteMemory& out = (*exports)[static_cast<size_t>(peer)];
    TUTTI_RETURN_IF_ERROR(connection->exportMemory(*registration, &out));
  }
  return Status::ok();
}

// As after a failed collective: the root cause named (a peer's death, as the watch's verdict
// says, rather than this rank's closed connection), the communicator in error and its
// connections closed, so that peers waiting on this rank fail at once too.
Status failCommunicator(tuttiComm* comm, const Status& failed, const char* op) {
  const Status sticky = stickyStatus(comm, op);
  if (!sticky.isOk()) return sticky;
  const Status status = explainFailure(comm, failed, op, comm->operationsIssued);
  setStickyError(comm, status);
  closeConnections(comm);
  return status;
}

}  // namespace

Status registerHostWindow(tuttiComm* comm, void* buff, size_t size, int flags, const Status& ready,
                          tuttiWindow_t* out) {
  TUTTI_RETURN_IF_ERROR(checkWindowTerms(comm, size, flags, /*host=*/true, ready));
  auto window = std::make_unique<tuttiWindow>();
  window->id = comm->windows.nextId();
  window->rank = comm->rank;
  window->base = static_cast<char*>(buff);
  window->bytes = size;
  window->symmetric = (flags & TUTTI_WIN_COLL_SYMMETRIC) != 0;
  window->host = true;
  const size_t n = static_cast<size_t>(comm->nranks);
  std::vector<RemoteMemory> exports(n), imports(n);
  const Status mine = exportHostWindow(comm, window.get(), &exports);
  // Every rank learns whether every rank exported before any export travels.
  bool all = false;
  int failedRank = -1;
  Status status = allRanksAgree(comm, mine.isOk(), &all, &failedRank);
  if (status.isOk() && !all) {
    status = !mine.isOk()
                 ? Status(mine.code() == tuttiInvalidUsage ? tuttiSystemError : mine.code(),
                          "tuttiCommWindowRegister: " + mine.message())
                 : makeError(tuttiSystemError,
                             "tuttiCommWindowRegister: rank {} could not register its "
                             "host window with its transports (its log says why)",
                             failedRank);
  }
  if (status.isOk() && n > 1) {
    std::vector<PeerCall> calls;
    for (int peer = 0; peer < comm->nranks; ++peer) {
      if (peer == comm->rank) continue;
      calls.push_back(
          PeerCall{true, &exports[static_cast<size_t>(peer)], sizeof(RemoteMemory), peer});
      calls.push_back(
          PeerCall{false, &imports[static_cast<size_t>(peer)], sizeof(RemoteMemory), peer});
    }
    status = runPeerCalls(comm, calls);
  }
  for (const RemoteMemory& theirs : imports) {
    if (!status.isOk()) break;
    if (theirs.keyBytes > RemoteMemory::kMaxKeyBytes ||
        (theirs.keyBytes > 0 && theirs.bytes != size)) {
      status = makeError(tuttiInternalError,
                         "tuttiCommWindowRegister: a peer's export of window #{} is malformed "
                         "({} bytes, a {}-byte key)",
                         window->id, theirs.bytes, theirs.keyBytes);
    }
  }
  if (!status.isOk()) {
    for (const auto& [domain, registration] : window->pinned) domain->unpin(registration);
    return status;
  }
  window->remote = std::move(imports);
  TUTTI_INFO(kLogColl,
             "one-sided: host window #{} ({} bytes) registered; {} of {} peers can put "
             "into it",
             window->id, size,
             std::count_if(exports.begin(), exports.end(),
                           [](const RemoteMemory& e) { return e.keyBytes > 0; }),
             comm->nranks - 1);
  *out = comm->windows.add(std::move(window));
  return Status::ok();
}

Status putSignal(tuttiComm* comm, const void* local, size_t bytes, int peer,
                 const tuttiWindow* window, size_t offset, int signal) {
  if (peer == comm->rank) {
    if (bytes > 0) std::memmove(window->base + offset, local, bytes);
    ++comm->selfSignals[static_cast<size_t>(signal)];
    return Status::ok();
  }
  const RemoteMemory& dst = window->remote[static_cast<size_t>(peer)];
  Connection* connection = putConnection(comm, peer);
  if (connection == nullptr || dst.keyBytes == 0) {
    return noPut(comm, "tuttiPutSignal", comm->rank, peer);
  }
  // A put of nothing still needs a source registration: one byte that is never read.
  static char nothing = 0;
  const void* source = bytes > 0 ? local : &nothing;
  MemoryDomain& domain = connection->memoryDomain();
  const Registration* registration = nullptr;
  TUTTI_RETURN_IF_ERROR(domain.registerMemory(
      Memory{const_cast<void*>(source), std::max<size_t>(bytes, 1), MemoryKind::kHost, -1},
      &registration));
  const Slice slice{registration,
                    static_cast<size_t>(static_cast<const char*>(source) - registration->base()),
                    bytes};
  // On the heap: a put that fails may stay posted on its closed connection, and then its
  // request must outlive this call.
  auto request = std::make_unique<TransferRequest>();
  Status status = connection->putWithSignal(slice, dst, offset, signal, request.get());
  // Refused before anything was posted: the call's own error, the communicator is unharmed.
  if (status.code() == tuttiInvalidArgument || status.code() == tuttiInvalidUsage) return status;
  ProgressEngine& engine = *comm->engine;
  engine.drive({connection});
  while (status.isOk() && !request->done) {
    bool progressed = false;
    status = engine.poll(&progressed);
    if (!status.isOk()) break;
    if (request->done || progressed) continue;
    const ProgressEngine::Idle idle = engine.idle();
    if (idle == ProgressEngine::Idle::kTimedOut) {
      const std::string pending = connection->describePending();
      status = makeError(tuttiTimeout,
                         "tuttiPutSignal: the put of {} bytes into rank {}'s window #{} did not "
                         "complete within {} ms (TUTTI_TIMEOUT_MS){}{}",
                         bytes, peer, window->id, comm->params.timeoutMs,
                         pending.empty() ? "" : "; ", pending);
    } else if (idle == ProgressEngine::Idle::kAborted) {
      status = makeError(tuttiRemoteError, "tuttiPutSignal: the communicator was aborted");
    } else if (idle == ProgressEngine::Idle::kFailed) {
      status = engine.failure();
    }
    if (!status.isOk()) break;
  }
  if (!status.isOk()) {
    if (!request->done) comm->abandonedRequests.push_back(std::move(request));
    return failCommunicator(comm, status, "tuttiPutSignal");
  }
  domain.endCall();
  return Status::ok();
}

Status waitSignals(tuttiComm* comm, const tuttiWaitSignalDesc_t* descs, int count) {
  const size_t n = static_cast<size_t>(comm->nranks);
  const size_t kSignals = static_cast<size_t>(Connection::kSignals);
  if (comm->signalsWaited.size() != n * kSignals) comm->signalsWaited.assign(n * kSignals, 0);
  // What each awaited (peer, signal) slot must reach, sorted by slot: descriptors of the same
  // pair add up. Only these slots are read while waiting, however many ranks there are.
  std::vector<std::pair<size_t, uint64_t>> awaited;
  for (int d = 0; d < count; ++d) {
    const tuttiWaitSignalDesc_t& desc = descs[d];
    if (desc.opCnt == 0) continue;
    if (desc.peer != comm->rank && putConnection(comm, desc.peer) == nullptr) {
      return noPut(comm, "tuttiWaitSignal", desc.peer, comm->rank);
    }
    awaited.emplace_back(
        static_cast<size_t>(desc.peer) * kSignals + static_cast<size_t>(desc.sigIdx),
        static_cast<uint64_t>(desc.opCnt));
  }
  std::sort(awaited.begin(), awaited.end());
  size_t merged = 0;
  for (const auto& [slot, wanted] : awaited) {
    if (merged > 0 && awaited[merged - 1].first == slot) {
      awaited[merged - 1].second += wanted;
    } else {
      awaited[merged++] = {slot, wanted};
    }
  }
  awaited.resize(merged);
  std::vector<Connection*> connections;  // one per peer; the slots are sorted by peer
  int lastPeer = comm->rank;
  for (const auto& [slot, wanted] : awaited) {
    const int peer = static_cast<int>(slot / kSignals);
    if (peer == comm->rank || peer == lastPeer) continue;
    connections.push_back(comm->connections[static_cast<size_t>(peer)]);
    lastPeer = peer;
  }
  auto arrived = [&](size_t slot) -> uint64_t {
    const int peer = static_cast<int>(slot / kSignals);
    const int signal = static_cast<int>(slot % kSignals);
    const uint64_t total = peer == comm->rank
                               ? comm->selfSignals[static_cast<size_t>(signal)]
                               : comm->connections[static_cast<size_t>(peer)]->readSignal(signal);
    return total - comm->signalsWaited[slot];
  };
  // The first awaited entry still short, or awaited.size() when none is; *seen sums what arrived.
  auto firstShort = [&](uint64_t* seen) {
    size_t shortEntry = awaited.size();
    *seen = 0;
    for (size_t i = 0; i < awaited.size(); ++i) {
      const uint64_t got = arrived(awaited[i].first);
      *seen += got;
      if (got < awaited[i].second && shortEntry == awaited.size()) shortEntry = i;
    }
    return shortEntry;
  };

  ProgressEngine& engine = *comm->engine;
  engine.drive(connections);
  const WaitPolicy policy{comm->params.spinUs, comm->params.yieldUs, comm->params.timeoutMs};
  uint64_t seen = 0;
  size_t shortEntry = firstShort(&seen);
  Clock::time_point lastArrival = Clock::now();
  auto sleep = std::chrono::microseconds(20);
  while (shortEntry != awaited.size()) {
    bool progressed = false;
    const Status polled = engine.poll(&progressed);
    if (!polled.isOk()) return failCommunicator(comm, polled, "tuttiWaitSignal");
    uint64_t nowSeen = 0;
    shortEntry = firstShort(&nowSeen);
    if (shortEntry == awaited.size()) break;
    const Clock::time_point now = Clock::now();
    if (nowSeen != seen) {
      seen = nowSeen;
      lastArrival = now;
      sleep = std::chrono::microseconds(20);
      continue;
    }
    // Puts into shared memory ring no doorbell: spin, then yield, then sleep in growing steps
    // of at most a millisecond, checking for the communicator's failures between looks. Only an
    // awaited signal restarts the timeout; other traffic the connections move does not.
    const auto idle = now - lastArrival;
    if (comm->aborted.load()) {
      return makeError(tuttiRemoteError, "tuttiWaitSignal: the communicator was aborted");
    }
    TUTTI_RETURN_IF_ERROR(stickyStatus(comm, "tuttiWaitSignal"));
    if (idle >= std::chrono::milliseconds(policy.timeoutMs)) {
      const auto [shortSlot, wanted] = awaited[shortEntry];
      const int peer = static_cast<int>(shortSlot / kSignals);
      return makeError(tuttiTimeout,
                       "tuttiWaitSignal: rank {} waited {} ms (TUTTI_TIMEOUT_MS) for {} put(s) "
                       "of rank {} raising signal {}; {} arrived",
                       comm->rank, policy.timeoutMs, wanted, peer, shortSlot % kSignals,
                       arrived(shortSlot));
    }
    if (progressed || idle < std::chrono::microseconds(policy.spinUs)) continue;
    if (idle < std::chrono::microseconds(policy.spinUs + policy.yieldUs)) {
      sched_yield();
      continue;
    }
    std::this_thread::sleep_for(sleep);
    sleep = std::min<std::chrono::microseconds>(sleep * 2, std::chrono::milliseconds(1));
  }
  for (const auto& [slot, wanted] : awaited) comm->signalsWaited[slot] += wanted;
  return Status::ok();
}

}  // namespace tutti
