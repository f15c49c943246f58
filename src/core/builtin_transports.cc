#include "core/builtin_transports.h"

#include "transports/shm/shm_transport.h"
#include "transports/tcp/tcp_transport.h"

namespace tutti {

Status createTransport(const std::string& name, const Params& params,
                       std::unique_ptr<Transport>* out) {
  if (name == "tcp") {
    *out = std::make_unique<TcpTransport>(params);
  } else if (name == "shm") {
    *out = std::make_unique<ShmTransport>(params);
  } else {
    return makeError(tuttiInvalidArgument, "no transport named '{}' (have: tcp, shm)", name);
  }
  return Status::ok();
}

}  // namespace tutti
