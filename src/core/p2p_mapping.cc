#include "core/p2p_mapping.h"

#include <fmt/format.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>

#include "base/deadline.h"
#include "base/fd_passing.h"
#include "base/handshake.h"
#include "base/hello_acceptor.h"
#include "base/socket.h"
#include "core/comm.h"
#include "core/device_collective.h"
#include "device/device_runtime.h"

namespace tutti {
namespace {

using device::Runtime;

// What every rank learns of every other's export (one allgather).
struct ExportInfo {
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

Status systemFailure(const std::string& what) {
  return makeError(tuttiSystemError, "p2p: {}: {}", what, std::strerror(errno));
}

// Connects to every peer's listener and says who this rank is; the peers answer with their
// export's descriptor once they accept (receivePeerDescriptor).
Status connectToPeers(const tuttiComm* comm, const std::vector<ExportInfo>& infos,
                      const Deadline& deadline, std::vector<Fd>* sockets) {
  sockets->clear();
  sockets->resize(infos.size());
  for (int peer = 0; peer < comm->nranks; ++peer) {
    if (peer == comm->rank) continue;
    Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    socklen_t length = 0;
    sockaddr_un addr = listenerAddress(infos[peer].pid, infos[peer].listener, &length);
    if (!sock.valid() || ::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), length) != 0) {
      return systemFailure(fmt::format("connecting to rank {}'s p2p listener", peer));
    }
    TUTTI_RETURN_IF_ERROR(setNonBlocking(sock.get()));
    TUTTI_RETURN_IF_ERROR(sendHello(
        sock.get(), makeHello(HelloKind::kP2pWindow, comm->bootstrap->secret(), comm->rank),
        deadline));
    (*sockets)[static_cast<size_t>(peer)] = std::move(sock);
  }
  return Status::ok();
}

// Accepts one hello from each peer and sends it this rank's export's descriptor.
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

Status receivePeerDescriptor(int sock, int peer, const Deadline& deadline, int* fd) {
  pollfd p{sock, POLLIN, 0};
  while (::poll(&p, 1, deadline.remainingMs(100)) == 0) {
    if (deadline.expired()) {
      return makeError(tuttiTimeout, "p2p: rank {}'s memory descriptor did not arrive", peer);
    }
  }
  return receiveDescriptor(sock, fd);
}

}  // namespace

Status allRanksAgree(tuttiComm* comm, bool ok, bool* all, int* firstFailed) {
  std::vector<uint8_t> votes(static_cast<size_t>(comm->nranks), 0);
  votes[static_cast<size_t>(comm->rank)] = ok ? 1 : 0;
  TUTTI_RETURN_IF_ERROR(comm->bootstrap->allGather(votes.data(), 1));
  const auto failed = std::find(votes.begin(), votes.end(), 0);
  *all = failed == votes.end();
  *firstFailed = *all ? -1 : static_cast<int>(failed - votes.begin());
  return Status::ok();
}

Status mapPeerMemory(tuttiComm* comm, void* own, size_t bytes, const char* what,
                     std::vector<char*>* mapped, bool* agreed, int* failedRank, Status* reason) {
  Runtime* runtime = device::activeRuntime();
  const int rank = comm->rank;
  const size_t n = static_cast<size_t>(comm->nranks);
  mapped->assign(n, nullptr);
  *agreed = false;
  *failedRank = -1;
  Status failure =
      own != nullptr ? Status::ok() : makeError(tuttiSystemError, "p2p: no {} to share", what);
  std::vector<ExportInfo> infos(n);
  ExportInfo& mine = infos[static_cast<size_t>(rank)];
  device::ExportedMemory exported;
  Fd listener;
  if (failure.isOk() && runtime == nullptr) {
    failure = makeError(tuttiInvalidUsage, "p2p: no device runtime");
  }
  if (failure.isOk()) failure = runtime->exportMemory(own, &exported);
  Fd exportedFd(exported.fd);
  // Peers map the whole allocation: what they touch must lie in it (0: the size is unknown).
  if (failure.isOk() && exported.bytes > 0 &&
      (exported.offset > exported.bytes || bytes > exported.bytes - exported.offset)) {
    failure = makeError(tuttiInvalidArgument,
                        "p2p: the {} ({} bytes) does not fit its allocation ({} bytes from "
                        "offset {})",
                        what, bytes, exported.bytes - std::min(exported.offset, exported.bytes),
                        exported.offset);
  }
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
      failure = systemFailure(fmt::format("{} listener", what));
    }
  }
  if (failure.isOk()) {
    mine.ok = 1;
    mine.device = exported.device;
    mine.bytes = exported.bytes;
    mine.offset = exported.offset;
    std::memcpy(mine.handle, exported.handle, sizeof(mine.handle));
  }
  TUTTI_RETURN_IF_ERROR(comm->bootstrap->allGather(infos.data(), sizeof(ExportInfo)));
  // Every rank exported, and alike (a mix of descriptors and handles cannot be mapped).
  const auto bad = std::find_if(infos.begin(), infos.end(), [&](const ExportInfo& i) {
    return i.ok != 1 || i.usesFd != mine.usesFd;
  });
  bool all = bad == infos.end();
  *failedRank = all ? -1 : static_cast<int>(bad - infos.begin());

  // Descriptors: everyone connects first (the connections wait in the listeners' backlogs), and
  // agrees that everyone could, then serves its own and receives its peers'.
  const Deadline deadline = comm->bootstrap->deadline(comm->params.timeoutMs);
  std::vector<Fd> sockets;
  std::vector<int> peerFds(n, -1);
  const bool passFds = mine.usesFd == 1;
  if (all && passFds) {
    failure = connectToPeers(comm, infos, deadline, &sockets);
    TUTTI_RETURN_IF_ERROR(allRanksAgree(comm, failure.isOk(), &all, failedRank));
    if (all) failure = serveDescriptor(comm, listener.get(), exportedFd.get(), deadline);
    for (size_t p = 0; all && failure.isOk() && p < n; ++p) {
      if (static_cast<int>(p) == rank) continue;
      failure = receivePeerDescriptor(sockets[p].get(), static_cast<int>(p), deadline, &peerFds[p]);
    }
  }
  // Map every peer's memory.
  for (size_t p = 0; all && failure.isOk() && p < n; ++p) {
    if (static_cast<int>(p) == rank) continue;
    device::ExportedMemory peer;
    peer.fd = peerFds[p];
    peer.bytes = infos[p].bytes;
    peer.offset = infos[p].offset;
    peer.device = infos[p].device;
    std::memcpy(peer.handle, infos[p].handle, sizeof(peer.handle));
    void* imported = nullptr;
    failure = runtime->importMemory(peer, &imported);
    if (failure.isOk()) (*mapped)[p] = static_cast<char*>(imported);
  }
  for (int fd : peerFds) {
    if (fd >= 0) close(fd);
  }
  auto unmapAll = [&] {
    for (size_t p = 0; p < n; ++p) {
      if (static_cast<int>(p) != rank && (*mapped)[p] != nullptr) {
        (void)runtime->closeImported((*mapped)[p]);
      }
    }
    mapped->assign(n, nullptr);
  };
  if (all) {
    const Status vote = allRanksAgree(comm, failure.isOk(), &all, failedRank);
    if (!vote.isOk()) {
      unmapAll();
      return vote;
    }
  }
  *reason = failure;
  if (!all) {
    unmapAll();
    return Status::ok();
  }
  (*mapped)[static_cast<size_t>(rank)] = static_cast<char*>(own);
  *agreed = true;
  return Status::ok();
}

}  // namespace tutti
