#include "transports/tcp/tcp_transport.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "base/handshake.h"
#include "base/hello_acceptor.h"
#include "base/log.h"
#include "transports/tcp/tcp_connection.h"

namespace tutti {
namespace {

// What each rank publishes at setup: where it listens and how it frames.
struct Endpoint {
  WireAddr addr;
  uint32_t checksum;  // TUTTI_CHECKSUM
  uint32_t pad;
};

}  // namespace

Status TcpTransport::connect(SetupChannel& setup, const std::vector<int>& peers,
                             std::vector<std::unique_ptr<Connection>>* out) {
  const int rank = setup.rank();
  const int nsocks = tcp_.socketsPerPeer;
  Deadline deadline = Deadline::afterMs(params_.timeoutMs);
  // A rank gone during setup ends the waits for it (setup_channel.h).
  const WaitCheck peersThere = [&setup] { return setup.checkPeers(); };

  Fd listenFd;
  SockAddr listenAddr;
  TUTTI_RETURN_IF_ERROR(
      listenOn(setup.localAddress(), &listenFd, &listenAddr).withContext("tcp transport"));
  std::vector<Endpoint> table(setup.nranks());
  table[rank] = Endpoint{toWire(listenAddr), tcp_.checksum ? 1u : 0u, 0};
  TUTTI_RETURN_IF_ERROR(setup.allGather(table.data(), sizeof(Endpoint)));
  // Frames with and without checksums cannot be read by each other: every rank must agree, and
  // every rank sees the same table, so all fail alike.
  for (int other = 0; other < setup.nranks(); ++other) {
    if (table[other].checksum != table[rank].checksum) {
      return makeError(tuttiInvalidArgument,
                       "tcp: rank {} has TUTTI_CHECKSUM={}, rank {} has TUTTI_CHECKSUM={}: set it "
                       "alike on every rank",
                       other, table[other].checksum, rank, table[rank].checksum);
    }
  }

  std::map<int, std::vector<Fd>> sockets;
  int expectedIncoming = 0;
  for (int peer : peers) {
    sockets[peer].resize(nsocks);
    if (peer < rank) {
      expectedIncoming += nsocks;
      continue;
    }
    SockAddr peerAddr;
    TUTTI_RETURN_IF_ERROR(fromWire(table[peer].addr, &peerAddr));
    for (int i = 0; i < nsocks; ++i) {
      Fd fd;
      TUTTI_RETURN_IF_ERROR(connectToListening(peerAddr, deadline, &fd, nullptr, peersThere)
                                .withContext(fmt::format("tcp: connecting to rank {} at {}", peer,
                                                         peerAddr.toString())));
      Hello hello = makeHello(HelloKind::kTcpSocket, setup.secret(), rank);
      hello.index = i;
      hello.count = nsocks;
      TUTTI_RETURN_IF_ERROR(setKeepAlive(fd.get(), params_.heartbeatTimeoutMs));
      TUTTI_RETURN_IF_ERROR(sendHello(fd.get(), hello, deadline));
      sockets[peer][i] = std::move(fd);
    }
  }
  // Strangers may reach this port too: hellos are read side by side, and only peers' count.
  HelloAcceptor acceptor(listenFd.get(), HelloKind::kTcpSocket, setup.secret(),
                         fmt::format("tcp: rank {}", rank));
  while (expectedIncoming > 0) {
    Fd fd;
    Hello hello;
    TUTTI_RETURN_IF_ERROR(acceptor.next(deadline, &fd, &hello, nullptr, peersThere)
                              .withContext(fmt::format("tcp: rank {} waiting for {} connections",
                                                       rank, expectedIncoming)));
    auto it = sockets.find(hello.rank);
    if (it == sockets.end() || hello.rank > rank || hello.index < 0 || hello.index >= nsocks ||
        it->second[hello.index].valid()) {
      acceptor.reject(
          std::move(fd),
          makeError(tuttiRemoteError, "an unexpected connection (claims rank {}, socket {})",
                    hello.rank, hello.index));
      continue;
    }
    if (hello.count != nsocks) {
      return makeError(tuttiInvalidArgument,
                       "tcp: rank {} uses {} sockets per peer, rank {} uses {}: set "
                       "TUTTI_NSOCKS_PERPEER alike on every rank",
                       hello.rank, hello.count, rank, nsocks);
    }
    TUTTI_RETURN_IF_ERROR(setKeepAlive(fd.get(), params_.heartbeatTimeoutMs));
    it->second[hello.index] = std::move(fd);
    --expectedIncoming;
  }

  out->clear();
  for (int peer : peers) {
    out->push_back(std::make_unique<TcpConnection>(peer, std::move(sockets[peer]),
                                                   tcp_.minStripeBytes, tcp_.checksum, domain_));
  }
  TUTTI_INFO(kLogNet, "tcp: rank {} connected to {} peer(s), {} socket(s) each via {}{}", rank,
             peers.size(), nsocks, listenAddr.toString(),
             tcp_.checksum ? ", frames checksummed (CRC32C)" : "");
  return Status::ok();
}

}  // namespace tutti
