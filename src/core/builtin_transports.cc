#include "core/builtin_transports.h"

#include "transports/shm/shm_transport.h"
#include "transports/tcp/tcp_transport.h"

namespace tutti {

const TransportRegistry& builtinTransports() {
  static const TransportRegistry registry({
      {"shm",
       [](const Params& params, const RankDescriptor& a, const RankDescriptor& b) {
         return !params.shmDisable && a.hostHash == b.hostHash;
       },
       [](const Params& params) -> std::unique_ptr<Transport> {
         return std::make_unique<ShmTransport>(params);
       }},
      {"tcp", [](const Params&, const RankDescriptor&, const RankDescriptor&) { return true; },
       [](const Params& params) -> std::unique_ptr<Transport> {
         return std::make_unique<TcpTransport>(params);
       }},
  });
  return registry;
}

}  // namespace tutti
