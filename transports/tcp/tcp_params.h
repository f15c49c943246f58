// The TCP transport's parameters: its own table (listed by tutti-perf --params beside the
// communicator's) and their values for one communicator. The interface choice
// (TUTTI_SOCKET_IFNAME, TUTTI_SOCKET_FAMILY) is the communicator's: the bootstrap uses it too,
// unless TUTTI_BOOTSTRAP_IFNAME gives the bootstrap interfaces of its own.
#pragma once

#include <cstddef>
#include <vector>

#include "base/params.h"

namespace tutti {

struct TcpParams {
  int socketsPerPeer = 2;            // TUTTI_NSOCKS_PERPEER (tuttiConfig_t.nSocksPerPeer)
  size_t minStripeBytes = 64 << 10;  // TUTTI_MIN_STRIPE_BYTES: smallest part striped on a socket
  bool checksum = false;             // TUTTI_CHECKSUM: a CRC32C after every frame, verified
  int maxRails = 1;                  // TUTTI_TCP_RAILS: interfaces (NICs) each peer's sockets use
};

// Rails a rank publishes at most (the setup table has room for this many addresses).
constexpr int kMaxTcpRails = 8;

const std::vector<ParamInfo>& tcpParamTable();

// The values for a communicator: its settings (tuttiConfig_t), then the environment, then the
// defaults. tuttiInvalidArgument naming the variable for a malformed or out-of-range value.
Status loadTcpParams(const Params& params, TcpParams* out);

}  // namespace tutti
