// The TCP transport: works between any two ranks that can reach each other over IP. Setup:
// every rank listens on its bootstrap interface, the addresses are allgathered, and for each pair
// the lower rank opens TUTTI_NSOCKS_PERPEER sockets to the higher one, each introduced by a hello
// carrying the communicator's secret, the sender's rank and the socket's index. Every rank must
// have the same TUTTI_CHECKSUM (published with the addresses; a difference fails setup).
#pragma once

#include <memory>

#include "base/params.h"
#include "transports/tcp/tcp_params.h"
#include "transports/transport.h"

namespace tutti {

class TcpTransport : public Transport {
 public:
  TcpTransport(const Params& params, const TcpParams& tcp) : params_(params), tcp_(tcp) {}
  const char* name() const override { return "tcp"; }
  Status connect(SetupChannel& setup, const std::vector<int>& peers,
                 std::vector<std::unique_ptr<Connection>>* out) override;

 private:
  Params params_;
  TcpParams tcp_;
  std::shared_ptr<MemoryDomain> domain_ = std::make_shared<MemoryDomain>();
};

}  // namespace tutti
