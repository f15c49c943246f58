#include "transports/transport.h"

#include "transports/tcp/tcp_transport.h"

namespace tutti {

Status createTransport(const Params& params, std::unique_ptr<Transport>* out) {
  if (params.transport.empty() || params.transport == "tcp") {
    *out = std::make_unique<TcpTransport>(params);
    return Status::ok();
  }
  return makeError(tuttiInvalidArgument, "TUTTI_TRANSPORT='{}': no such transport (have: tcp)",
                   params.transport);
}

}  // namespace tutti
