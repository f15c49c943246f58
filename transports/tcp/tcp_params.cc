#include "transports/tcp/tcp_params.h"

namespace tutti {

const std::vector<ParamInfo>& tcpParamTable() {
  static const std::vector<ParamInfo> table = {
      {"TUTTI_NSOCKS_PERPEER", "2", "TCP sockets per peer and rail, 1..16"},
      {"TUTTI_TCP_RAILS", "1",
       "1..8: stripe each peer's sockets over up to this many interfaces (NIC rails) that "
       "TUTTI_SOCKET_IFNAME selects, in name order, rail r of one host to rail r of the other; "
       "1: one interface, the bootstrap's (TUTTI_SOCKET_IFNAME's when TUTTI_BOOTSTRAP_IFNAME is "
       "set)"},
      {"TUTTI_MIN_STRIPE_BYTES", "65536", "smallest part of a message striped onto one socket"},
      {"TUTTI_CHECKSUM", "0",
       "1: a CRC32C of every TCP frame's payload, verified on receipt (alike on every rank)"},
  };
  return table;
}

Status loadTcpParams(const Params& params, TcpParams* out) {
  TcpParams p;
  int64_t value = 0;
  TUTTI_RETURN_IF_ERROR(paramInt(params, "TUTTI_NSOCKS_PERPEER", p.socketsPerPeer, 1, 16, &value));
  p.socketsPerPeer = static_cast<int>(value);
  TUTTI_RETURN_IF_ERROR(paramInt(params, "TUTTI_MIN_STRIPE_BYTES",
                                 static_cast<int64_t>(p.minStripeBytes), 1, int64_t{1} << 30,
                                 &value));
  p.minStripeBytes = static_cast<size_t>(value);
  TUTTI_RETURN_IF_ERROR(paramInt(params, "TUTTI_CHECKSUM", p.checksum ? 1 : 0, 0, 1, &value));
  p.checksum = value != 0;
  TUTTI_RETURN_IF_ERROR(paramInt(params, "TUTTI_TCP_RAILS", p.maxRails, 1, kMaxTcpRails, &value));
  p.maxRails = static_cast<int>(value);
  *out = p;
  return Status::ok();
}

}  // namespace tutti
