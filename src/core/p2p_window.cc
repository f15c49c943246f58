#include "core/p2p_window.h"

#include <fmt/format.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "base/deadline.h"
#include "base/fd_passing.h"
#include "base/handshake.h"
#include "base/hello_acceptor.h"
#include "base/log.h"
#include "base/socket.h"
#include "core/comm.h"
#include "core/device_collective.h"
#include "device/device_runtime.h"
#include "device/pinned_pool.h"

namespace tutti {
namespace {

using device::Runtime;

// What every rank learns of every other's window (one allgather).
struct WindowInfo {
  uint8_t ok = 0;      // allocated and exported
  uint8_t usesFd = 0;  // the export is a descriptor, passed over the rank's listener
  uint8_t pad[2] = {};
  int32_t pid = 0;
  uint32_t listener = 0;  // the listener's number in its process
  int32_t device = -1;
  uint64_t bytes = 0;
  uint64_t offset = 0;
  unsigned char handle[64] = {};
};

std::atomic<uint32_t> gListeners{0};

sockaddr_un listenerAddress(int32_t pid, uint32_t number, socklen_t* length) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string name = fmt::format("tutti-p2p-{}-{}", pid, number);
  std::memcpy(addr.sun_path + 1, name.data(), name.size());  // abstract: leading NUL
  *length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return addr;
}

// Collective: whether every rank says ok; *firstFailed the lowest rank that did not (or -1).
Status allAgree(SetupChannel& setup, bool ok, bool* all, int* firstFailed) {
  std::vector<uint8_t> votes(static_cast<size_t>(setup.nranks()), 0);
  votes[static_cast<size_t>(setup.rank())] = ok ? 1 : 0;
  TUTTI_RETURN_IF_ERROR(setup.allGather(votes.data(), 1));
  const auto failed = std::find(votes.begin(), votes.end(), 0);
  *all = failed == votes.end();
  *firstFailed = *all ? -1 : static_cast<int>(failed - votes.begin());
  return Status::ok();
}

Status systemFailure(const std::string& what) {
  return makeError(tuttiSystemError, "p2p: {}: {}", what, std::strerror(errno));
}

// Connects to every peer's listener and says who this rank is; the peers answer with their
// window's descriptor once they accept (receiveWindowDescriptors).
Status connectToPeers(const tuttiComm* comm, const std::vector<WindowInfo>& infos,
                      const Deadline& deadline, std::vector<Fd>* sockets) {
  sockets->clear();
  sockets->resize(infos.size());
  for (int peer = 0; peer < comm->nranks; ++peer) {
    if (peer == comm->rank) continue;
    Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    socklen_t length = 0;
    sockaddr_un addr = listenerAddress(infos[peer].pid, infos[peer].listener, &length);
    if (!sock.valid() || ::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), length) != 0) {
      return systemFailure(fmt::format("connecting to rank {}'s window listener", peer));
    }
    TUTTI_RETURN_IF_ERROR(setNonBlocking(sock.get()));
    TUTTI_RETURN_IF_ERROR(sendHello(
        sock.get(), makeHello(HelloKind::kP2pWindow, comm->bootstrap->secret(), comm->rank),
        deadline));
    (*sockets)[static_cast<size_t>(peer)] = std::move(sock);
  }
  return Status::ok();
}

// Accepts one hello from each peer and sends it this rank's window descriptor.
Status serveDescriptor(const tuttiComm* comm, int listener, int fd, const Deadline& deadline) {
  HelloAcceptor acceptor(listener, HelloKind::kP2pWindow, comm->bootstrap->secret(),
                         fmt::format("p2p: rank {}", comm->rank));
  std::vector<bool> served(static_cast<size_t>(comm->nranks), false);
  for (int done = 0; done < comm->nranks - 1;) {
    Fd conn;
    Hello hello;
    TUTTI_RETURN_IF_ERROR(acceptor.next(deadline, &conn, &hello));
    if (hello.rank < 0 || hello.rank >= comm->nranks || hello.rank == comm->rank ||
        served[static_cast<size_t>(hello.rank)]) {
      acceptor.reject(
          std::move(conn),
          makeError(tuttiRemoteError, "an unexpected window request (claims rank {})", hello.rank));
      continue;
    }
    TUTTI_RETURN_IF_ERROR(sendDescriptor(conn.get(), fd));
    served[static_cast<size_t>(hello.rank)] = true;
    ++done;
  }
  return Status::ok();
}

Status receiveWindowDescriptor(int sock, int peer, const Deadline& deadline, int* fd) {
  pollfd p{sock, POLLIN, 0};
  while (::poll(&p, 1, deadline.remainingMs(100)) == 0) {
    if (deadline.expired()) {
      return makeError(tuttiTimeout, "p2p: rank {}'s window descriptor did not arrive", peer);
    }
  }
  return receiveDescriptor(sock, fd);
}

// BarrierLaunch::mismatch: the member's index + 1, its call descriptor, this rank's.
constexpr size_t kMismatchReportBytes = device::kP2pMismatchWords * sizeof(uint64_t);

}  // namespace

P2pWindow::~P2pWindow() {
  Runtime* runtime = device::activeRuntime();
  // Calls queued on streams may still read the windows: wait for them, within the timeout.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(layout_.timeoutMs, 1));
  while (inFlight_->load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  if (inFlight_->load() > 0) {
    TUTTI_WARN(kLogColl,
               "p2p: {} device calls still queued after {} ms: their windows stay mapped (leaked)",
               inFlight_->load(), layout_.timeoutMs);
    return;
  }
  for (size_t r = 0; r < layout_.windows.size(); ++r) {
    if (layout_.windows[r] == nullptr || static_cast<int>(r) == layout_.rank) continue;
    (void)runtime->closeImported(layout_.windows[r]);
  }
  if (own_ != nullptr) (void)runtime->freeDevice(own_);
  if (layout_.mismatch != nullptr) (void)runtime->freePinned(layout_.mismatch);
}

void P2pWindow::abort() {
  uint64_t expected = 0;
  __atomic_compare_exchange_n(layout_.error, &expected, device::kP2pAborted, false,
                              __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

void* P2pWindow::callStarted() {
  inFlight_->fetch_add(1);
  return new std::shared_ptr<std::atomic<int>>(inFlight_);
}

void P2pWindow::callDone(void* arg) {
  auto* counter = static_cast<std::shared_ptr<std::atomic<int>>*>(arg);
  (*counter)->fetch_sub(1);
  delete counter;
}

Status setupP2pWindow(tuttiComm* comm, std::unique_ptr<P2pWindow>* out, bool* usable) {
  *usable = false;
  out->reset();
  Runtime* runtime = device::activeRuntime();
  // Alike on every rank: no exchange needed to say no.
  if (runtime == nullptr || comm->nhosts != 1 || comm->nranks > device::kMaxP2pRanks) {
    return Status::ok();
  }
  SetupChannel& setup = *comm->bootstrap;
  const int rank = comm->rank;
  const size_t n = static_cast<size_t>(comm->nranks);
  bool all = false;
  int failedRank = -1;
  TUTTI_RETURN_IF_ERROR(allAgree(setup, !comm->params.p2pDisable, &all, &failedRank));
  if (!all) {
    TUTTI_INFO(kLogInit | kLogColl,
               "p2p: off (TUTTI_P2P_DISABLE=1 on rank {}): device calls are staged", failedRank);
    return Status::ok();
  }
  std::vector<uint64_t> sizes(n, comm->params.p2pWindowBytes);
  TUTTI_RETURN_IF_ERROR(setup.allGather(sizes.data(), sizeof(uint64_t)));

  std::unique_ptr<P2pWindow> window(new P2pWindow());
  window->layout_.rank = rank;
  window->layout_.timeoutMs = comm->params.timeoutMs;
  window->layout_.dataBytes = static_cast<size_t>(sizes[0]);  // rank 0's, alike everywhere
  window->layout_.windows.assign(n, nullptr);
  DeviceScope scope(runtime, comm->device);

  // Allocate, clear the flags, export; and listen where the descriptor is asked for.
  Status failure = device::pinnedPool()->takeFlag(&window->layout_.error);
  void* report = nullptr;
  if (failure.isOk()) failure = runtime->allocPinned(&report, kMismatchReportBytes);
  if (failure.isOk()) {
    std::memset(report, 0, kMismatchReportBytes);
    window->layout_.mismatch = static_cast<uint64_t*>(report);
  }
  std::vector<WindowInfo> infos(n);
  WindowInfo& mine = infos[static_cast<size_t>(rank)];
  device::ExportedMemory exported;
  Fd listener;
  if (failure.isOk())
    failure = runtime->allocDevice(&window->own_, kP2pFlagBytes + window->layout_.dataBytes);
  if (failure.isOk()) {
    const std::vector<char> zeros(kP2pFlagBytes, 0);
    failure = runtime->copyAsync(window->own_, zeros.data(), zeros.size(), nullptr);
    if (failure.isOk()) failure = runtime->streamSynchronize(nullptr, comm->params.timeoutMs);
  }
  if (failure.isOk()) failure = runtime->exportMemory(window->own_, &exported);
  Fd exportedFd(exported.fd);
  if (failure.isOk() && exportedFd.valid()) {
    mine.usesFd = 1;
    mine.pid = getpid();
    mine.listener = gListeners.fetch_add(1);
    listener = Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    socklen_t length = 0;
    sockaddr_un self = listenerAddress(mine.pid, mine.listener, &length);
    if (!listener.valid() ||
        ::bind(listener.get(), reinterpret_cast<sockaddr*>(&self), length) != 0 ||
        ::listen(listener.get(), SOMAXCONN) != 0) {
      failure = systemFailure("window listener");
    }
  }
  if (failure.isOk()) {
    window->layout_.windows[static_cast<size_t>(rank)] = static_cast<char*>(window->own_);
    mine.ok = 1;
    mine.device = exported.device;
    mine.bytes = exported.bytes;
    mine.offset = exported.offset;
    std::memcpy(mine.handle, exported.handle, sizeof(mine.handle));
  }
  TUTTI_RETURN_IF_ERROR(setup.allGather(infos.data(), sizeof(WindowInfo)));
  // Every window made, and passed alike (a mix of descriptors and handles cannot be mapped).
  const auto bad = std::find_if(infos.begin(), infos.end(), [&](const WindowInfo& i) {
    return i.ok != 1 || i.usesFd != mine.usesFd;
  });
  all = bad == infos.end();
  failedRank = all ? -1 : static_cast<int>(bad - infos.begin());

  // Descriptors: everyone connects first (the connections wait in the listeners' backlogs), and
  // agrees that everyone could, then serves its own and receives its peers'.
  const Deadline deadline = comm->bootstrap->deadline(comm->params.timeoutMs);
  std::vector<Fd> sockets;
  std::vector<int> peerFds(n, -1);
  const bool passFds = mine.usesFd == 1;
  if (all && passFds) {
    failure = connectToPeers(comm, infos, deadline, &sockets);
    TUTTI_RETURN_IF_ERROR(allAgree(setup, failure.isOk(), &all, &failedRank));
    if (all) failure = serveDescriptor(comm, listener.get(), exportedFd.get(), deadline);
    for (size_t p = 0; all && failure.isOk() && p < n; ++p) {
      if (static_cast<int>(p) == rank) continue;
      failure =
          receiveWindowDescriptor(sockets[p].get(), static_cast<int>(p), deadline, &peerFds[p]);
    }
  }
  // Map every peer's window.
  for (size_t p = 0; all && failure.isOk() && p < n; ++p) {
    if (static_cast<int>(p) == rank) continue;
    device::ExportedMemory peer;
    peer.fd = peerFds[p];
    peer.bytes = infos[p].bytes;
    peer.offset = infos[p].offset;
    peer.device = infos[p].device;
    std::memcpy(peer.handle, infos[p].handle, sizeof(peer.handle));
    void* mapped = nullptr;
    failure = runtime->importMemory(peer, &mapped);
    if (failure.isOk()) window->layout_.windows[p] = static_cast<char*>(mapped);
  }
  for (int fd : peerFds) {
    if (fd >= 0) close(fd);
  }
  if (all) TUTTI_RETURN_IF_ERROR(allAgree(setup, failure.isOk(), &all, &failedRank));
  if (!all) {
    if (!failure.isOk()) TUTTI_WARN(kLogInit | kLogColl, "{}", failure.message());
    TUTTI_INFO(kLogInit | kLogColl,
               "p2p: off, device calls are staged: rank {} could not set up its window{}",
               failedRank, failure.isOk() ? "" : " (this rank's reason above)");
    return Status::ok();  // the window's destructor unmaps and frees what was made
  }
  TUTTI_INFO(kLogInit | kLogColl,
             "p2p: rank {} mapped the windows of {} ranks ({} bytes of data each, {} runtime)",
             rank, n, window->layout_.dataBytes, runtime->name());
  *out = std::move(window);
  *usable = true;
  return Status::ok();
}

}  // namespace tutti
