#include "core/builtin_transports.h"

#include "device/device_params.h"
#include "transports/shm/shm_params.h"
#include "transports/shm/shm_transport.h"
#include "transports/tcp/tcp_params.h"
#include "transports/tcp/tcp_transport.h"
#if TUTTI_HAVE_UCX
#include "transports/ucx/ucx_transport.h"
#endif

namespace tutti {
namespace {

Status checkShm(const Params& params) {
  ShmParams shm;
  return loadShmParams(params, &shm);
}

bool shmCanConnect(const Params& params, const RankDescriptor& a, const RankDescriptor& b) {
  ShmParams shm;
  return a.hostHash == b.hostHash && loadShmParams(params, &shm).isOk() && !shm.disable;
}

Status createShm(const Params& params, std::unique_ptr<Transport>* out) {
  ShmParams shm;
  TUTTI_RETURN_IF_ERROR(loadShmParams(params, &shm));
  *out = std::make_unique<ShmTransport>(params, shm);
  return Status::ok();
}

Status checkTcp(const Params& params) {
  TcpParams tcp;
  return loadTcpParams(params, &tcp);
}

Status createTcp(const Params& params, std::unique_ptr<Transport>* out) {
  TcpParams tcp;
  TUTTI_RETURN_IF_ERROR(loadTcpParams(params, &tcp));
  *out = std::make_unique<TcpTransport>(params, tcp);
  return Status::ok();
}

#if TUTTI_HAVE_UCX
Status createUcx(const Params& params, std::unique_ptr<Transport>* out) {
  *out = std::make_unique<UcxTransport>();  // UCX reads its own UCX_* variables
  return Status::ok();
}
#endif

bool anyPair(const Params&, const RankDescriptor&, const RankDescriptor&) { return true; }

}  // namespace

const TransportRegistry& builtinTransports() {
  static const TransportRegistry registry = [] {
    std::vector<TransportEntry> entries = {
      {"shm", shmParamTable, checkShm, shmCanConnect, createShm},
      {"tcp", tcpParamTable, checkTcp, anyPair, createTcp},
#if TUTTI_HAVE_UCX
      // Only where TUTTI_TRANSPORT names it: not measured against shm and tcp here yet.
      {"ucx", ucxParamTable, [](const Params&) { return Status::ok(); }, anyPair, createUcx,
       /*byDefault=*/false},
#endif
    };
    for (const TransportEntry& entry : entries) registerParamTable(entry.paramTable());
    // The device layer reads its table at its first use, which may come after a tool lists the
    // tables: register it with the transports', the other tables a communicator reads.
    registerParamTable(device::deviceParamTable());
    return TransportRegistry(std::move(entries));
  }();
  return registry;
}

}  // namespace tutti
