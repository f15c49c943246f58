#include "transports/ucx/ucx_transport.h"

#include <algorithm>
#include <cstring>

#include "transports/ucx/ucx_api.h"
#include "transports/ucx/ucx_connection.h"
#include "transports/ucx/ucx_memory.h"
#include "transports/ucx/ucx_worker.h"

namespace tutti {
namespace {

void onEndpointError(void* arg, ucp_ep_h ep, ucs_status_t status) {
  auto* state = static_cast<UcxEndpointState*>(arg);
  state->error = status;
  state->worker->completed();  // the progress thread then wakes a rank asleep on it
}

// Each rank's signal words for puts: allgathered descriptors, then the packed rkeys. A rank
// whose UCX has no RMA, or that could not map them, publishes no key and gets no puts. Every
// rank takes part whatever its state, so that no one waits on it.
Status exchangeSignals(SetupChannel& setup, const UcxWorker* worker, const UcxMemoryDomain* domain,
                       std::vector<UcxConnection::PeerSignals>* out) {
  struct Descriptor {
    uint64_t worker = 0;
    uint64_t address = 0;
    uint32_t keyBytes = 0;
    uint32_t reserved = 0;
  };
  const int nranks = setup.nranks();
  const int self = setup.rank();
  std::vector<Descriptor> all(nranks);
  const std::vector<uint8_t> none;
  const std::vector<uint8_t>& key = domain != nullptr ? domain->signalKey() : none;
  if (worker != nullptr) all[self].worker = worker->id();
  if (domain != nullptr && key.size() <= UcxTransport::kMaxSignalKeyBytes) {
    all[self].address = domain->signalAddress();
    all[self].keyBytes = static_cast<uint32_t>(key.size());
  }
  TUTTI_RETURN_IF_ERROR(setup.allGather(all.data(), sizeof(Descriptor)));
  uint32_t longest = 0;
  for (const Descriptor& d : all) {
    longest = std::max(longest, std::min(d.keyBytes, UcxTransport::kMaxSignalKeyBytes));
  }
  std::vector<uint8_t> keys(static_cast<size_t>(nranks) * longest, 0);
  if (all[self].keyBytes > 0) {
    std::memcpy(keys.data() + static_cast<size_t>(self) * longest, key.data(), key.size());
  }
  if (longest > 0) TUTTI_RETURN_IF_ERROR(setup.allGather(keys.data(), longest));
  out->assign(nranks, UcxConnection::PeerSignals{});
  for (int rank = 0; rank < nranks; ++rank) {
    UcxConnection::PeerSignals& peer = (*out)[rank];
    peer.worker = all[rank].worker;
    peer.address = all[rank].address;
    if (all[rank].keyBytes == 0 || all[rank].keyBytes > UcxTransport::kMaxSignalKeyBytes) continue;
    const uint8_t* begin = keys.data() + static_cast<size_t>(rank) * longest;
    peer.key.assign(begin, begin + all[rank].keyBytes);
  }
  return Status::ok();
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
  std::shared_ptr<UcxMemoryDomain> domain;
  if (ready.isOk()) {
    domain = std::make_shared<UcxMemoryDomain>(worker);
    // Without them this rank takes no puts; its messages are unaffected.
    if (worker->hasPut() && !domain->mapSignals(nranks).isOk()) {
      domain = std::make_shared<UcxMemoryDomain>(worker);
    }
  }
  std::vector<UcxConnection::PeerSignals> signals;
  TUTTI_RETURN_IF_ERROR(exchangeSignals(setup, worker.get(), domain.get(), &signals));
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
    out->push_back(
        std::make_unique<UcxConnection>(self, peer, worker, ep, state, domain, signals[peer]));
  }
  if (!out->empty()) worker->startProgressThread();
  return Status::ok();
}

}  // namespace tutti
