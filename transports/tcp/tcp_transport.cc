#include "transports/tcp/tcp_transport.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "base/handshake.h"
#include "base/log.h"
#include "transports/tcp/tcp_connection.h"

namespace tutti {
namespace {}  // namespace

Status TcpTransport::connect(SetupChannel& setup, const std::vector<int>& peers,
                             std::vector<std::unique_ptr<Connection>>* out) {
  const int rank = setup.rank();
  const int nsocks = params_.nSocksPerPeer;
  Deadline deadline = Deadline::afterMs(params_.timeoutMs);

  Fd listenFd;
  SockAddr listenAddr;
  TUTTI_RETURN_IF_ERROR(
      listenOn(setup.localAddress(), &listenFd, &listenAddr).withContext("tcp transport"));
  std::vector<WireAddr> table(setup.nranks());
  table[rank] = toWire(listenAddr);
  TUTTI_RETURN_IF_ERROR(setup.allGather(table.data(), sizeof(WireAddr)));

  std::map<int, std::vector<Fd>> sockets;
  int expectedIncoming = 0;
  for (int peer : peers) {
    sockets[peer].resize(nsocks);
    if (peer < rank) {
      expectedIncoming += nsocks;
      continue;
    }
    SockAddr peerAddr;
    TUTTI_RETURN_IF_ERROR(fromWire(table[peer], &peerAddr));
    for (int i = 0; i < nsocks; ++i) {
      Fd fd;
      TUTTI_RETURN_IF_ERROR(connectTo(peerAddr, deadline, &fd)
                                .withContext(fmt::format("tcp: connecting to rank {} at {}", peer,
                                                         peerAddr.toString())));
      Hello hello = makeHello(HelloKind::kTcpSocket, setup.secret(), rank);
      hello.index = i;
      hello.count = nsocks;
      TUTTI_RETURN_IF_ERROR(sendHello(fd.get(), hello, deadline));
      sockets[peer][i] = std::move(fd);
    }
  }
  while (expectedIncoming > 0) {
    Fd fd;
    TUTTI_RETURN_IF_ERROR(acceptFrom(listenFd.get(), deadline, &fd)
                              .withContext(fmt::format("tcp: rank {} waiting for {} connections",
                                                       rank, expectedIncoming)));
    Hello hello;
    Status heard = receiveHello(fd.get(), HelloKind::kTcpSocket, setup.secret(), deadline, &hello);
    if (!heard.isOk()) {
      TUTTI_WARN(kLogNet, "tcp: rank {} rejected {}", rank, heard.message());
      continue;
    }
    auto it = sockets.find(hello.rank);
    if (it == sockets.end() || hello.rank > rank || hello.index < 0 || hello.index >= nsocks ||
        it->second[hello.index].valid()) {
      TUTTI_WARN(kLogNet, "tcp: rank {} rejected an unexpected connection (claims rank {})", rank,
                 hello.rank);
      continue;
    }
    if (hello.count != nsocks) {
      return makeError(tuttiInvalidArgument,
                       "tcp: rank {} uses {} sockets per peer, rank {} uses {}: set "
                       "TUTTI_NSOCKS_PERPEER alike on every rank",
                       hello.rank, hello.count, rank, nsocks);
    }
    it->second[hello.index] = std::move(fd);
    --expectedIncoming;
  }

  out->clear();
  for (int peer : peers) {
    out->push_back(std::make_unique<TcpConnection>(peer, std::move(sockets[peer]),
                                                   params_.minStripeBytes, domain_));
  }
  TUTTI_INFO(kLogNet, "tcp: rank {} connected to {} peer(s), {} socket(s) each via {}", rank,
             peers.size(), nsocks, listenAddr.toString());
  return Status::ok();
}

}  // namespace tutti
