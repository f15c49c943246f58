#include "transports/ucx/ucx_transport.h"

#include <cstring>

#include "transports/ucx/ucx_api.h"
#include "transports/ucx/ucx_connection.h"
#include "transports/ucx/ucx_worker.h"

namespace tutti {
namespace {

void onEndpointError(void* arg, ucp_ep_h ep, ucs_status_t status) {
  auto* state = static_cast<UcxEndpointState*>(arg);
  state->error = status;
  state->worker->completed();  // the progress thread then wakes a rank asleep on it
}

}  // namespace

const std::vector<ParamInfo>& ucxParamTable() {
  static const std::vector<ParamInfo> table;
  return table;
}

Status UcxTransport::connect(SetupChannel& setup, const std::vector<int>& peers,
                             std::vector<std::unique_ptr<Connection>>* out) {
  const UcxApi* api = nullptr;
  // Every rank takes part in the allgathers below, even one that cannot load UCX, so that its
  // error does not leave the others waiting: it publishes an empty address.
  Status loaded = loadUcx(&api);
  std::shared_ptr<UcxWorker> worker;
  std::vector<uint8_t> address;
  Status ready = loaded;
  if (ready.isOk()) ready = UcxWorker::create(api, static_cast<int>(peers.size()), &worker);
  if (ready.isOk()) ready = worker->address(&address);
  if (ready.isOk() && address.size() > kMaxAddressBytes) {
    ready = makeError(tuttiSystemError, "ucx transport: worker address of {} bytes (limit {})",
                      address.size(), kMaxAddressBytes);
  }
  const int nranks = setup.nranks();
  const int self = setup.rank();
  std::vector<uint32_t> lengths(nranks, 0);
  lengths[self] = ready.isOk() ? static_cast<uint32_t>(address.size()) : 0;
  TUTTI_RETURN_IF_ERROR(setup.allGather(lengths.data(), sizeof(uint32_t)));
  uint32_t longest = 0;
  for (uint32_t length : lengths) longest = std::max(longest, std::min(length, kMaxAddressBytes));
  std::vector<uint8_t> table(static_cast<size_t>(nranks) * longest, 0);
  if (ready.isOk() && longest > 0) {
    std::memcpy(table.data() + static_cast<size_t>(self) * longest, address.data(), address.size());
  }
  if (longest > 0) TUTTI_RETURN_IF_ERROR(setup.allGather(table.data(), longest));
  TUTTI_RETURN_IF_ERROR(ready);
  for (int peer : peers) {
    if (lengths[peer] == 0 || lengths[peer] > kMaxAddressBytes) {
      return makeError(tuttiSystemError,
                       "ucx transport: rank {} published no UCX worker address (its UCX failed "
                       "to start; its own error says why)",
                       peer);
    }
  }
  out->clear();
  for (int peer : peers) {
    UcxEndpointState* state = worker->newEndpointState();
    ucp_ep_params_t params{};
    params.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                        UCP_EP_PARAM_FIELD_ERR_HANDLER;
    params.address =
        reinterpret_cast<const ucp_address_t*>(table.data() + static_cast<size_t>(peer) * longest);
    // Peer failure mode: a peer that dies fails its endpoint instead of hanging it.
    params.err_mode = UCP_ERR_HANDLING_MODE_PEER;
    params.err_handler.cb = &onEndpointError;
    params.err_handler.arg = state;
    ucp_ep_h ep = nullptr;
    ucs_status_t status = api->epCreate(worker->handle(), &params, &ep);
    if (status != UCS_OK) {
      out->clear();
      return makeError(tuttiSystemError, "ucx transport: endpoint to rank {}: {}", peer,
                       api->describe(status));
    }
    out->push_back(std::make_unique<UcxConnection>(self, peer, worker, ep, state, domain_));
  }
  if (!out->empty()) worker->startProgressThread();
  return Status::ok();
}

}  // namespace tutti
