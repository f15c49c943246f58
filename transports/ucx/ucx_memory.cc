#include "transports/ucx/ucx_memory.h"

#include <cstring>

#include "transports/transport.h"

namespace tutti {

UcxMemoryDomain::UcxMemoryDomain(std::shared_ptr<UcxWorker> worker) : worker_(std::move(worker)) {}

UcxMemoryDomain::~UcxMemoryDomain() {
  // The base class's destructor cannot reach this class's deregister.
  std::lock_guard<std::mutex> hold(worker_->lock());
  for (auto& [registration, memory] : mapped_) worker_->api().memUnmap(worker_->context(), memory);
  mapped_.clear();
  if (signalsMemory_ != nullptr) worker_->api().memUnmap(worker_->context(), signalsMemory_);
}

Status UcxMemoryDomain::map(void* address, size_t bytes, ucp_mem_h* out) {
  ucp_mem_map_params_t params{};
  params.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS | UCP_MEM_MAP_PARAM_FIELD_LENGTH;
  params.address = address;
  params.length = bytes;
  ucs_status_t status = worker_->api().memMap(worker_->context(), &params, out);
  if (status != UCS_OK) {
    return makeError(tuttiSystemError, "ucx: ucp_mem_map of {} bytes at {}: {}", bytes, address,
                     worker_->api().describe(status));
  }
  return Status::ok();
}

Status UcxMemoryDomain::pack(ucp_mem_h memory, std::vector<uint8_t>* out) {
  void* packed = nullptr;
  size_t bytes = 0;
  ucs_status_t status = worker_->api().rkeyPack(worker_->context(), memory, &packed, &bytes);
  if (status != UCS_OK) {
    return makeError(tuttiSystemError, "ucx: ucp_rkey_pack: {}", worker_->api().describe(status));
  }
  const auto* begin = static_cast<const uint8_t*>(packed);
  out->assign(begin, begin + bytes);
  worker_->api().rkeyBufferRelease(packed);
  return Status::ok();
}

Status UcxMemoryDomain::mapSignals(int nranks) {
  const size_t words = static_cast<size_t>(nranks) * Connection::kSignals;
  std::lock_guard<std::mutex> hold(worker_->lock());
  signals_ = worker_->allocateSignals(words);
  signalRows_ = nranks;
  TUTTI_RETURN_IF_ERROR(map(signals_, words * sizeof(uint64_t), &signalsMemory_));
  return pack(signalsMemory_, &signalKey_);
}

const std::atomic<uint64_t>* UcxMemoryDomain::signalsOf(int peer) const {
  if (peer < 0 || peer >= signalRows_) return nullptr;
  return signals_ + static_cast<size_t>(peer) * Connection::kSignals;
}

Status UcxMemoryDomain::exportRegistration(const Registration& registration, int self,
                                           RemoteMemory* out) {
  if (registration.memory.kind != MemoryKind::kHost) {
    return makeError(tuttiInvalidArgument, "ucx: cannot export {} memory for puts",
                     memoryKindName(registration.memory.kind));
  }
  std::lock_guard<std::mutex> hold(worker_->lock());
  auto found = mapped_.find(&registration);
  if (found == mapped_.end()) {
    ucp_mem_h memory = nullptr;
    TUTTI_RETURN_IF_ERROR(map(registration.memory.ptr, registration.memory.bytes, &memory));
    found = mapped_.emplace(&registration, memory).first;
  }
  std::vector<uint8_t> rkey;
  TUTTI_RETURN_IF_ERROR(pack(found->second, &rkey));
  UcxKeyHeader header;
  header.ownerRank = self;
  header.ownerWorker = worker_->id();
  if (sizeof(header) + rkey.size() > RemoteMemory::kMaxKeyBytes) {
    return makeError(tuttiSystemError,
                     "ucx: UCX's remote key is {} bytes, more than the {} a RemoteMemory holds",
                     rkey.size(), RemoteMemory::kMaxKeyBytes - sizeof(header));
  }
  *out = RemoteMemory{};
  out->address = reinterpret_cast<uint64_t>(registration.memory.ptr);
  out->bytes = registration.memory.bytes;
  out->keyBytes = static_cast<uint32_t>(sizeof(header) + rkey.size());
  std::memcpy(out->key, &header, sizeof(header));
  std::memcpy(out->key + sizeof(header), rkey.data(), rkey.size());
  return Status::ok();
}

void UcxMemoryDomain::deregister(Registration* registration) {
  auto found = mapped_.find(registration);
  if (found == mapped_.end()) return;
  std::lock_guard<std::mutex> hold(worker_->lock());
  worker_->api().memUnmap(worker_->context(), found->second);
  mapped_.erase(found);
}

}  // namespace tutti
