// The TCP transport: works between any two ranks that can reach each other over IP. Setup:
// every rank listens on its interface (chooseRails), the addresses are allgathered, and for each
// pair the lower rank opens TUTTI_NSOCKS_PERPEER sockets to the higher one, each introduced by a
// hello carrying the communicator's secret, the sender's rank and the socket's index. Every rank
// must have the same TUTTI_CHECKSUM (published with the addresses; a difference fails setup).
//
// Rails (TUTTI_TCP_RAILS > 1): a rank with several interfaces that TUTTI_SOCKET_IFNAME selects
// listens on all of them and publishes one address per rail; a pair opens TUTTI_NSOCKS_PERPEER
// sockets on each rail both have, from rail r's address to the peer's rail r, and the
// connection stripes messages over all of them (NCCL's socket transport likewise uses every
// interface NCCL_SOCKET_IFNAME matches). A lost rail fails the connection, naming the rail.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/params.h"
#include "transports/tcp/tcp_params.h"
#include "transports/transport.h"

namespace tutti {

// One interface a rank's sockets run over; name "" for the bootstrap's (no rails, and no
// TUTTI_BOOTSTRAP_IFNAME).
struct TcpRail {
  std::string name;
  SockAddr addr;  // port 0
};

class TcpTransport : public Transport {
 public:
  TcpTransport(const Params& params, const TcpParams& tcp) : params_(params), tcp_(tcp) {}
  const char* name() const override { return "tcp"; }
  // "tcp", or "tcp/rails:<interfaces>" after a connect that found several rails.
  std::string description() const override;
  Status connect(SetupChannel& setup, const std::vector<int>& peers,
                 std::vector<std::unique_ptr<Connection>>* out) override;

 private:
  // The interfaces tcp uses (TUTTI_TCP_RAILS, TUTTI_SOCKET_IFNAME, TUTTI_BOOTSTRAP_IFNAME).
  Status chooseRails(const SetupChannel& setup, std::vector<TcpRail>* out) const;

  Params params_;
  TcpParams tcp_;
  std::shared_ptr<MemoryDomain> domain_ = std::make_shared<MemoryDomain>();
  std::vector<TcpRail> rails_;  // this rank's, from the last connect
};

}  // namespace tutti
