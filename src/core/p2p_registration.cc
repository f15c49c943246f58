#include "core/p2p_registration.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "base/log.h"
#include "core/comm.h"
#include "core/device_collective.h"
#include "core/p2p_mapping.h"
#include "device/device_runtime.h"
#include "exec/datatype.h"

namespace tutti {

WindowRegistry::~WindowRegistry() {
  if (queued_ != nullptr && queued_->load() > 0) {
    if (!windows_.empty()) {
      TUTTI_WARN(kLogColl,
                 "p2p: {} device calls still queued: {} registered windows stay mapped (leaked)",
                 queued_->load(), windows_.size());
    }
    return;
  }
  for (const auto& window : windows_) unmap(*window);
}

void WindowRegistry::unmap(const tuttiWindow& window) {
  device::Runtime* runtime = device::activeRuntime();
  for (size_t r = 0; r < window.mapped.size(); ++r) {
    if (static_cast<int>(r) == window.rank || window.mapped[r] == nullptr) continue;
    (void)runtime->closeImported(window.mapped[r]);
  }
}

tuttiWindow* WindowRegistry::add(std::unique_ptr<tuttiWindow> window) {
  ++nextId_;
  windows_.push_back(std::move(window));
  return windows_.back().get();
}

bool WindowRegistry::contains(const tuttiWindow* window) const {
  return std::any_of(windows_.begin(), windows_.end(),
                     [&](const auto& w) { return w.get() == window; });
}

void WindowRegistry::remove(const tuttiWindow* window) {
  auto it = std::find_if(windows_.begin(), windows_.end(),
                         [&](const auto& w) { return w.get() == window; });
  if (it == windows_.end()) return;
  unmap(**it);
  for (const auto& [domain, registration] : (*it)->pinned) domain->unpin(registration);
  windows_.erase(it);
}

const tuttiWindow* WindowRegistry::find(const void* p, size_t bytes) const {
  const char* start = static_cast<const char*>(p);
  for (const auto& w : windows_) {
    if (!w->symmetric || w->mapped.empty() || start < w->base) continue;
    const size_t offset = static_cast<size_t>(start - w->base);
    if (offset < w->bytes && bytes <= w->bytes - offset) return w.get();
  }
  return nullptr;
}

Status checkWindowTerms(tuttiComm* comm, size_t size, int flags, bool host, const Status& ready) {
  struct Terms {
    uint64_t size = 0;
    int32_t flags = 0;
    int16_t host = 0;
    int16_t ready = 0;
  };
  std::vector<Terms> terms(static_cast<size_t>(comm->nranks));
  terms[static_cast<size_t>(comm->rank)] =
      Terms{size, flags, static_cast<int16_t>(host ? 1 : 0), static_cast<int16_t>(ready.isOk())};
  TUTTI_RETURN_IF_ERROR(comm->bootstrap->allGather(terms.data(), sizeof(Terms)));
  if (!ready.isOk()) return ready;
  auto kind = [](int32_t isHost) { return isHost != 0 ? "host" : "device"; };
  for (int p = 0; p < comm->nranks; ++p) {
    if (terms[static_cast<size_t>(p)].ready == 0) {
      return makeError(tuttiTimeout,
                       "tuttiCommWindowRegister: rank {}'s queued host-stream calls did not "
                       "finish within its TUTTI_TIMEOUT_MS; no rank registers the window",
                       p);
    }
  }
  for (int p = 0; p < comm->nranks; ++p) {
    const Terms& theirs = terms[static_cast<size_t>(p)];
    if (theirs.size == size && theirs.flags == flags && (theirs.host != 0) == host) continue;
    return makeError(tuttiInvalidUsage,
                     "tuttiCommWindowRegister: rank {} registers {} bytes of {} memory with "
                     "winFlags {} while rank {} registers {} bytes of {} memory with winFlags {}: "
                     "every rank registers the same size, memory kind and flags",
                     p, theirs.size, kind(theirs.host), theirs.flags, comm->rank, size,
                     kind(host ? 1 : 0), flags);
  }
  return Status::ok();
}

Status registerWindow(tuttiComm* comm, void* buff, size_t size, int flags, tuttiWindow_t* out) {
  // Alike on every rank, or no rank registers.
  TUTTI_RETURN_IF_ERROR(checkWindowTerms(comm, size, flags, /*host=*/false, Status::ok()));
  WindowRegistry& registry = comm->windows;
  auto window = std::make_unique<tuttiWindow>();
  window->id = registry.nextId();
  window->rank = comm->rank;
  window->base = static_cast<char*>(buff);
  window->bytes = size;
  window->symmetric = (flags & TUTTI_WIN_COLL_SYMMETRIC) != 0;
  if (!window->symmetric || comm->p2pState != 1) {
    TUTTI_INFO(kLogColl, "p2p: registered window #{} ({} bytes) is recorded, not mapped: {}",
               window->id, size,
               !window->symmetric ? "not TUTTI_WIN_COLL_SYMMETRIC"
                                  : "the communicator does not use mapped peer memory");
  } else {
    device::Runtime* runtime = device::activeRuntime();
    DeviceScope scope(runtime, comm->device);
    const std::string what = fmt::format("registered window #{}", window->id);
    bool agreed = false;
    int failedRank = -1;
    Status reason;
    TUTTI_RETURN_IF_ERROR(mapPeerMemory(comm, buff, size, what.c_str(), &window->mapped, &agreed,
                                        &failedRank, &reason));
    if (!agreed) {
      window->mapped.clear();
      if (!reason.isOk()) TUTTI_WARN(kLogColl, "{}", reason.message());
      TUTTI_INFO(kLogColl,
                 "p2p: {} is not mapped: rank {} could not share its buffer{}; calls on it go "
                 "through the p2p windows",
                 what, failedRank, reason.isOk() ? "" : " (this rank's reason above)");
    } else {
      TUTTI_INFO(kLogColl, "p2p: {} ({} bytes) mapped on {} ranks", what, size, comm->nranks);
    }
  }
  if (comm->p2p != nullptr) registry.watchQueuedCalls(comm->p2p->queuedCalls());
  *out = registry.add(std::move(window));
  return Status::ok();
}

Status deregisterWindow(tuttiComm* comm, tuttiWindow_t window, bool drained) {
  // Every rank drops the window, or none: a rank whose streams may still read peers' buffers
  // keeps its mappings, and its peers must not free those buffers meanwhile.
  bool all = false;
  int failedRank = -1;
  TUTTI_RETURN_IF_ERROR(allRanksAgree(comm, drained, &all, &failedRank));
  if (!all) {
    return makeError(tuttiTimeout,
                     "tuttiCommWindowDeregister: calls queued on rank {}'s communicator did "
                     "not run within {} ms (TUTTI_TIMEOUT_MS); registered window #{} stays "
                     "registered on every rank",
                     failedRank, comm->params.timeoutMs, window->id);
  }
  comm->windows.remove(window);
  return Status::ok();
}

bool findRegisteredBuffers(const tuttiComm* comm, const CollectiveArgs& args,
                           P2pAlgorithm algorithm, P2pPeerBuffers* peers, P2pCallCheck* check) {
  const size_t n = static_cast<size_t>(comm->nranks);
  const size_t block = args.count * dataTypeSize(args.type);
  const size_t sendBytes = block * (args.collective == Collective::kReduceScatter ? n : 1);
  const size_t recvBytes = block * (args.collective == Collective::kAllGather ? n : 1);
  // An in-place all-gather's send buffer is block `rank` of its receive buffer: there the
  // receive buffer sits at the same offset on every rank, and rank r's send block at r blocks on.
  if (args.collective == Collective::kAllGather &&
      args.send == static_cast<const char*>(args.recv) + static_cast<size_t>(comm->rank) * block) {
    const tuttiWindow* recv = comm->windows.find(args.recv, recvBytes);
    if (recv == nullptr) return false;
    const size_t recvOffset = static_cast<size_t>(static_cast<char*>(args.recv) - recv->base);
    peers->send.resize(n);
    for (size_t r = 0; r < n; ++r) peers->send[r] = recv->mapped[r] + recvOffset + r * block;
    check->windows = (recv->id + uint64_t{1}) << 32;
    check->recvOffset = recvOffset;
    return true;
  }
  const tuttiWindow* send = comm->windows.find(args.send, sendBytes);
  if (send == nullptr) return false;
  const bool readsRecv = p2pReadsPeersRecv(args.collective, algorithm);
  const tuttiWindow* recv = readsRecv ? comm->windows.find(args.recv, recvBytes) : nullptr;
  if (readsRecv && recv == nullptr) return false;
  const size_t sendOffset = static_cast<size_t>(static_cast<const char*>(args.send) - send->base);
  peers->send.resize(n);
  for (size_t r = 0; r < n; ++r) peers->send[r] = send->mapped[r] + sendOffset;
  check->windows = send->id + uint64_t{1};
  check->sendOffset = sendOffset;
  if (readsRecv) {
    const size_t recvOffset = static_cast<size_t>(static_cast<char*>(args.recv) - recv->base);
    peers->recv.resize(n);
    for (size_t r = 0; r < n; ++r) peers->recv[r] = recv->mapped[r] + recvOffset;
    check->windows |= (recv->id + uint64_t{1}) << 32;
    check->recvOffset = recvOffset;
  }
  return true;
}

}  // namespace tutti
