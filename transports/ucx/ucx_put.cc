// One-sided puts of a UcxConnection (ucx_connection.h says how a put and its signal travel):
// exporting registered memory, the rkeys of the peer's memory, the put's three parts, and the
// flush and rkey teardown that the connection's close needs.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "transports/ucx/ucx_connection.h"

namespace tutti {
namespace {
// The operand of every signal's atomic add: UCX reads it until the add completes.
const uint64_t kOne = 1;
}  // namespace

void UcxConnection::flushNow() {
  ucp_request_param_t param{};
  ucs_status_ptr_t request = api_.epFlushNbx(ep_, &param);
  if (!UCS_PTR_IS_PTR(request)) return;  // done, or failed: nothing left in flight either way
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kCancelMs);
  while (api_.requestCheckStatus(request) == UCS_INPROGRESS &&
         std::chrono::steady_clock::now() < deadline) {
    api_.workerProgress(worker_->handle());
  }
  api_.requestFree(request);
}

void UcxConnection::destroyRkeys() {
  if (closed_) return;  // the endpoint went first; what is left leaks (see the header)
  if (std::any_of(pending_.begin(), pending_.end(), [](const Pending& p) { return p.isPut; })) {
    return;
  }
  for (CachedRkey& cached : rkeys_) api_.rkeyDestroy(cached.rkey);
  rkeys_.clear();
  if (signalKey_ != nullptr) api_.rkeyDestroy(signalKey_);
  signalKey_ = nullptr;
}

Status UcxConnection::exportMemory(const Registration& registration, RemoteMemory* out) {
  if (!putReady_) {
    return makeError(tuttiInvalidUsage,
                     "ucx: no puts with rank {} (its UCX or this one offers no RMA and atomics)",
                     peer_);
  }
  return domain_->exportRegistration(registration, self_, out);
}

Status UcxConnection::rkeyFor(const uint8_t* packed, size_t bytes, ucp_rkey_h* out) {
  for (const CachedRkey& cached : rkeys_) {
    if (cached.packed.size() == bytes && std::equal(packed, packed + bytes, cached.packed.data())) {
      *out = cached.rkey;
      return Status::ok();
    }
  }
  if (rkeys_.size() >= kMaxCachedRkeys) {
    // A put is done once its flush completed, so only rkeys of puts still posted are in use.
    auto unused = [this](const CachedRkey& cached) {
      return std::none_of(pending_.begin(), pending_.end(),
                          [&](const Pending& p) { return p.rkey == cached.rkey; });
    };
    for (CachedRkey& cached : rkeys_) {
      if (unused(cached)) api_.rkeyDestroy(cached.rkey);
    }
    rkeys_.erase(std::remove_if(rkeys_.begin(), rkeys_.end(),
                                [&](const CachedRkey& c) { return unused(c); }),
                 rkeys_.end());
  }
  ucp_rkey_h rkey = nullptr;
  ucs_status_t status = api_.epRkeyUnpack(ep_, packed, &rkey);
  if (status != UCS_OK) {
    return makeError(tuttiInvalidArgument, "ucx: the remote key of rank {}'s memory: {}", peer_,
                     api_.describe(status));
  }
  rkeys_.push_back(CachedRkey{std::vector<uint8_t>(packed, packed + bytes), rkey});
  *out = rkey;
  return Status::ok();
}

void UcxConnection::partDone(TransferRequest* request) {
  if (--request->pendingParts <= 0) request->done = true;
}

Status UcxConnection::postPart(Pending& part, ucs_status_ptr_t handle, const char* what,
                               bool* atOnce) {
  *atOnce = false;
  if (UCS_PTR_IS_ERR(handle)) {
    const uint64_t seq = part.seq;
    pending_.pop_back();
    return fail(makeError(tuttiRemoteError, "ucx: {} of put #{} into rank {}: {}", what, seq, peer_,
                          api_.describe(UCS_PTR_STATUS(handle))));
  }
  if (handle == nullptr) {
    *atOnce = true;
    pending_.pop_back();
    return Status::ok();
  }
  part.handle = handle;
  return Status::ok();
}

Status UcxConnection::postSignal(TransferRequest* request, uint64_t seq, int signal) {
  ucp_request_param_t param;
  Pending& raise = track(request, true, seq, sizeof(uint64_t), &param);
  raise.isPut = true;
  param.op_attr_mask |= UCP_OP_ATTR_FIELD_DATATYPE;
  param.datatype = ucp_dt_make_contig(sizeof(uint64_t));
  bool atOnce = false;
  TUTTI_RETURN_IF_ERROR(
      postPart(raise,
               api_.atomicOpNbx(ep_, UCP_ATOMIC_OP_ADD, &kOne, 1,
                                remoteSignals_ + static_cast<uint64_t>(signal) * sizeof(uint64_t),
                                signalKey_, &param),
               "the signal", &atOnce));
  if (atOnce) partDone(request);
  return Status::ok();
}

Status UcxConnection::putWithSignal(const Slice& src, const RemoteMemory& dst, size_t dstOffset,
                                    int signal, TransferRequest* request) {
  if (signal < 0 || signal >= kSignals) {
    return makeError(tuttiInvalidArgument, "ucx: signal {} is not in [0, {})", signal, kSignals);
  }
  if (dstOffset > dst.bytes || src.bytes > dst.bytes - dstOffset) {
    return makeError(tuttiInvalidArgument,
                     "ucx: a put of {} bytes at offset {} does not fit the {} bytes exported",
                     src.bytes, dstOffset, dst.bytes);
  }
  UcxKeyHeader owner;
  if (dst.keyBytes <= sizeof(owner) || dst.keyBytes > RemoteMemory::kMaxKeyBytes) {
    return makeError(tuttiInvalidArgument,
                     "ucx: the remote memory's key ({} bytes) was not exported by ucx",
                     dst.keyBytes);
  }
  std::memcpy(&owner, dst.key, sizeof(owner));
  if (!putReady_) {
    return makeError(tuttiInvalidUsage,
                     "ucx: no puts to rank {} (its UCX or this one offers no RMA and atomics)",
                     peer_);
  }
  if (owner.ownerRank != peer_ || owner.ownerWorker != peerWorker_) {
    return makeError(tuttiInvalidArgument,
                     "ucx: the remote memory was exported by rank {}{}, not by rank {} of this "
                     "connection",
                     owner.ownerRank,
                     owner.ownerRank == peer_ ? " of another communicator or connect" : "", peer_);
  }
  std::lock_guard<std::mutex> hold(worker_->lock());
  if (!failure_.isOk()) return failure_;
  if (endpointGone()) {
    return fail(makeError(tuttiRemoteError, "ucx: connection to rank {} shut down", peer_));
  }
  ucp_rkey_h rkey = nullptr;
  TUTTI_RETURN_IF_ERROR(rkeyFor(dst.key + sizeof(owner), dst.keyBytes - sizeof(owner), &rkey));
  worker_->calledNow();
  const uint64_t seq = putSeq_++;
  // Three parts: the data, the flush that says it reached the peer's memory, then the signal.
  ucp_request_param_t param;
  Pending& data = track(request, true, seq, src.bytes, &param);
  data.isPut = true;
  data.rkey = rkey;
  request->pendingParts = 3;
  bool atOnce = false;
  TUTTI_RETURN_IF_ERROR(
      postPart(data, api_.putNbx(ep_, src.data(), src.bytes, dst.address + dstOffset, rkey, &param),
               "the data", &atOnce));
  if (atOnce) partDone(request);
  Pending& flush = track(request, true, seq, src.bytes, &param);
  flush.isPut = true;
  flush.signalAfter = signal;
  TUTTI_RETURN_IF_ERROR(postPart(flush, api_.epFlushNbx(ep_, &param), "the flush", &atOnce));
  if (atOnce) {
    TUTTI_RETURN_IF_ERROR(postSignal(request, seq, signal));
    partDone(request);
  }
  return Status::ok();
}

uint64_t UcxConnection::readSignal(int signal) const {
  if (signal < 0 || signal >= kSignals || signals_ == nullptr) return 0;
  return signals_[signal].load(std::memory_order_acquire);
}

}  // namespace tutti
