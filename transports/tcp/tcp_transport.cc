#include "transports/tcp/tcp_transport.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "base/log.h"
#include "transports/tcp/tcp_connection.h"

namespace tutti {
namespace {

constexpr uint32_t kTcpHelloMagic = 0x54544331;  // "TTC1"
constexpr int kHelloTimeoutMs = 5000;

struct TcpHello {
  uint32_t magic;
  int32_t rank;
  int32_t socketIndex;
  int32_t nsocks;
  uint8_t secret[kSecretBytes];
};

}  // namespace

Status TcpTransport::connect(SetupChannel& bootstrap, const std::vector<int>& peers,
                             std::vector<std::unique_ptr<Connection>>* out) {
  const int rank = bootstrap.rank();
  const int nsocks = params_.nSocksPerPeer;
  Deadline deadline = Deadline::afterMs(params_.timeoutMs);

  Fd listenFd;
  SockAddr listenAddr;
  TUTTI_RETURN_IF_ERROR(
      listenOn(bootstrap.localAddress(), &listenFd, &listenAddr).withContext("tcp transport"));
  std::vector<WireAddr> table(bootstrap.nranks());
  table[rank] = toWire(listenAddr);
  TUTTI_RETURN_IF_ERROR(bootstrap.allGather(table.data(), sizeof(WireAddr)));

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
      TcpHello hello{kTcpHelloMagic, rank, i, nsocks, {}};
      std::memcpy(hello.secret, bootstrap.secret(), kSecretBytes);
      TUTTI_RETURN_IF_ERROR(sendAll(fd.get(), &hello, sizeof(hello), deadline));
      sockets[peer][i] = std::move(fd);
    }
  }
  while (expectedIncoming > 0) {
    Fd fd;
    TUTTI_RETURN_IF_ERROR(acceptFrom(listenFd.get(), deadline, &fd)
                              .withContext(fmt::format("tcp: rank {} waiting for {} connections",
                                                       rank, expectedIncoming)));
    TcpHello hello{};
    if (!recvAll(fd.get(), &hello, sizeof(hello), Deadline::afterMs(kHelloTimeoutMs)).isOk()) {
      continue;
    }
    auto it = sockets.find(hello.rank);
    if (hello.magic != kTcpHelloMagic || !secretsEqual(hello.secret, bootstrap.secret()) ||
        it == sockets.end() || hello.rank > rank || hello.socketIndex < 0 ||
        hello.socketIndex >= nsocks || it->second[hello.socketIndex].valid()) {
      TUTTI_WARN(kLogNet, "tcp: rank {} rejected an unexpected connection (claims rank {})", rank,
                 hello.rank);
      continue;
    }
    if (hello.nsocks != nsocks) {
      return makeError(tuttiInvalidArgument,
                       "tcp: rank {} uses {} sockets per peer, rank {} uses {}: set "
                       "TUTTI_NSOCKS_PERPEER alike on every rank",
                       hello.rank, hello.nsocks, rank, nsocks);
    }
    it->second[hello.socketIndex] = std::move(fd);
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
