#include "transports/tcp/tcp_transport.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "base/handshake.h"
#include "base/hello_acceptor.h"
#include "base/log.h"
#include "base/net_iface.h"
#include "transports/tcp/tcp_connection.h"

namespace tutti {
namespace {

// What each rank publishes at setup: where it listens (one address per rail, one port for all)
// and how it frames.
struct Endpoint {
  WireAddr rails[kMaxTcpRails];
  uint32_t railCount;
  uint32_t checksum;  // TUTTI_CHECKSUM
};

// An address without its port: "10.0.1.2" or "[fd00::2]".
std::string hostPart(const SockAddr& addr) {
  const std::string text = addr.toString();
  return text.substr(0, text.rfind(':'));
}

// What a socket runs over, named in its errors: "tnet1 10.0.1.1->10.0.1.2".
std::string railLink(const TcpRail& local, const SockAddr& remote) {
  return fmt::format("{} {}->{}", local.name, hostPart(local.addr), hostPart(remote));
}

}  // namespace

Status TcpTransport::chooseRails(const SetupChannel& setup, std::vector<TcpRail>* out) const {
  std::vector<TcpRail> rails;
  const int family = setup.localAddress().family();
  if (tcp_.maxRails > 1) {
    for (const NetIface& iface :
         selectRails(listInterfaces(family), params_.socketIfname, family, tcp_.maxRails)) {
      rails.push_back(TcpRail{iface.name, iface.addr});
    }
  }
  if (rails.size() <= 1 && !params_.bootstrapIfname.empty()) {
    // The bootstrap on a network of its own (TUTTI_BOOTSTRAP_IFNAME): one rail is
    // TUTTI_SOCKET_IFNAME's interface, chosen as the bootstrap chooses its own (kernel order,
    // docker and lo last). None found is an error: data moved onto the bootstrap's network
    // would be lost with it.
    NetIface iface;
    Status status = chooseInterface(
        params_.socketIfname, params_.socketFamily != 0 ? params_.socketFamily : family, &iface);
    if (!status.isOk() && params_.socketFamily == 0) {
      status = chooseInterface(params_.socketIfname, 0, &iface);
    }
    TUTTI_RETURN_IF_ERROR(status.withContext(
        "tcp transport: the data interface (TUTTI_BOOTSTRAP_IFNAME puts the bootstrap on "
        "another)"));
    rails = {TcpRail{iface.name, iface.addr}};
  }
  // One rail or none found: the bootstrap's interface, as without rails.
  if (rails.size() <= 1 && params_.bootstrapIfname.empty()) {
    rails = {TcpRail{"", setup.localAddress()}};
  }
  *out = std::move(rails);
  return Status::ok();
}

Status TcpTransport::connect(SetupChannel& setup, const std::vector<int>& peers,
                             std::vector<std::unique_ptr<Connection>>* out) {
  const int rank = setup.rank();
  const int nsocks = tcp_.socketsPerPeer;
  const Deadline deadline = setup.deadline(params_.timeoutMs);
  // A rank gone during setup ends the waits for it (setup_channel.h).
  const WaitCheck peersThere = [&setup] { return setup.checkPeers(); };

  TUTTI_RETURN_IF_ERROR(chooseRails(setup, &rails_));
  // With one rail it listens on that interface only (the bootstrap's, unless the bootstrap has
  // its own); with several, on each rail's address through one wildcard socket (the secret in
  // each hello keeps strangers out).
  SockAddr bindAddr = rails_[0].addr;
  if (rails_.size() > 1) {
    bindAddr = SockAddr{};
    bindAddr.storage.ss_family = static_cast<sa_family_t>(rails_[0].addr.family());
    bindAddr.length = rails_[0].addr.length;
  }
  Fd listenFd;
  SockAddr listenAddr;
  TUTTI_RETURN_IF_ERROR(listenOn(bindAddr, &listenFd, &listenAddr).withContext("tcp transport"));
  std::vector<Endpoint> table(setup.nranks());
  Endpoint& mine = table[rank];
  std::memset(&mine, 0, sizeof(mine));
  for (size_t r = 0; r < rails_.size(); ++r) {
    SockAddr published = rails_[r].addr;
    published.setPort(listenAddr.port());
    mine.rails[r] = toWire(published);
  }
  mine.railCount = static_cast<uint32_t>(rails_.size());
  mine.checksum = tcp_.checksum ? 1u : 0u;
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
    if (table[other].railCount < 1 || table[other].railCount > kMaxTcpRails) {
      return makeError(tuttiInternalError, "tcp: rank {} published {} rails", other,
                       table[other].railCount);
    }
  }
  // A pair uses the rails both have, rail r to rail r, TUTTI_NSOCKS_PERPEER sockets on each;
  // socket i runs on rail i mod rails, so that striping alternates between them.
  auto pairRails = [&](int peer) {
    return static_cast<int>(std::min<uint32_t>(table[peer].railCount, table[rank].railCount));
  };

  std::map<int, std::vector<Fd>> sockets;
  std::map<int, std::vector<std::string>> links;
  int expectedIncoming = 0;
  for (int peer : peers) {
    const int railsUsed = pairRails(peer);
    const int total = nsocks * railsUsed;
    sockets[peer].resize(total);
    links[peer].resize(total);
    if (peer < rank) {
      expectedIncoming += total;
      continue;
    }
    for (int i = 0; i < total; ++i) {
      const int r = i % railsUsed;
      SockAddr peerAddr;
      TUTTI_RETURN_IF_ERROR(fromWire(table[peer].rails[r], &peerAddr));
      SockAddr from = rails_[r].addr;
      from.setPort(0);
      Fd fd;
      TUTTI_RETURN_IF_ERROR(connectToListening(peerAddr, deadline, &fd, nullptr, peersThere,
                                               railsUsed > 1 ? &from : nullptr)
                                .withContext(fmt::format(
                                    "tcp: connecting to rank {} at {}{}", peer, peerAddr.toString(),
                                    railsUsed > 1 ? fmt::format(" (rail {})", r) : "")));
      Hello hello = makeHello(HelloKind::kTcpSocket, setup.secret(), rank);
      hello.index = i;
      hello.count = nsocks;
      TUTTI_RETURN_IF_ERROR(setKeepAlive(fd.get(), params_.heartbeatTimeoutMs));
      TUTTI_RETURN_IF_ERROR(sendHello(fd.get(), hello, deadline));
      if (railsUsed > 1 || !rails_[0].name.empty()) links[peer][i] = railLink(rails_[r], peerAddr);
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
    if (it == sockets.end() || hello.rank > rank || hello.index < 0 ||
        hello.index >= static_cast<int>(it->second.size()) || it->second[hello.index].valid()) {
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
    const int railsUsed = pairRails(hello.rank);
    if (railsUsed > 1 || !rails_[0].name.empty()) {  // a named rail is named in errors
      SockAddr peerAddr;
      TUTTI_RETURN_IF_ERROR(fromWire(table[hello.rank].rails[hello.index % railsUsed], &peerAddr));
      links[hello.rank][hello.index] = railLink(rails_[hello.index % railsUsed], peerAddr);
    }
    it->second[hello.index] = std::move(fd);
    --expectedIncoming;
  }

  out->clear();
  for (int peer : peers) {
    out->push_back(std::make_unique<TcpConnection>(peer, std::move(sockets[peer]),
                                                   tcp_.minStripeBytes, tcp_.checksum, domain_,
                                                   std::move(links[peer])));
  }
  TUTTI_INFO(kLogNet, "{}: rank {} connected to {} peer(s), {} socket(s) per rail, via {}{}",
             description(), rank, peers.size(), nsocks, listenAddr.toString(),
             tcp_.checksum ? ", frames checksummed (CRC32C)" : "");
  return Status::ok();
}

std::string TcpTransport::description() const {
  if (rails_.size() <= 1) return name();
  std::string text = "tcp/rails:";
  for (size_t r = 0; r < rails_.size(); ++r) text += (r == 0 ? "" : ",") + rails_[r].name;
  return text;
}

}  // namespace tutti
