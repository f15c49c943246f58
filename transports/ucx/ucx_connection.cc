#include "transports/ucx/ucx_connection.h"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>

namespace tutti {

ucp_tag_t UcxConnection::tagOf(int sender, uint64_t seq) {
  constexpr uint64_t kSeqMask = (uint64_t{1} << kSeqBits) - 1;
  return (static_cast<uint64_t>(sender) << kSeqBits) | (seq & kSeqMask);
}

UcxConnection::UcxConnection(int self, int peer, std::shared_ptr<UcxWorker> worker, ucp_ep_h ep,
                             UcxEndpointState* state, std::shared_ptr<UcxMemoryDomain> domain,
                             const PeerSignals& signals)
    : self_(self),
      peer_(peer),
      worker_(std::move(worker)),
      api_(worker_->api()),
      ep_(ep),
      state_(state),
      domain_(std::move(domain)) {
  signals_ = domain_->signalsOf(peer_);
  if (!worker_->hasPut() || signals.key.empty() || signals_ == nullptr) return;
  std::lock_guard<std::mutex> hold(worker_->lock());
  // Without it the connection has no puts (supportsPut() says so); messages are unaffected.
  if (api_.epRkeyUnpack(ep_, signals.key.data(), &signalKey_) != UCS_OK) signalKey_ = nullptr;
  putReady_ = signalKey_ != nullptr;
  remoteSignals_ = signals.address + static_cast<uint64_t>(self_) * kSignals * sizeof(uint64_t);
  peerWorker_ = signals.worker;
}

UcxConnection::~UcxConnection() {
  std::lock_guard<std::mutex> hold(worker_->lock());
  // Flushed (what was sent still arrives) when nothing is left unfinished.
  const bool clean = state_->error == UCS_OK &&
                     std::all_of(pending_.begin(), pending_.end(), [](const Pending& p) {
                       return p.completed && p.status == UCS_OK;
                     });
  if (!clean) closeNow();
  dropPosted();
  if (clean && putSeq_ > 0) flushNow();
  destroyRkeys();
  if (!closed_) worker_->close(ep_, true);
  closed_ = true;
}

void UcxConnection::closeNow() {
  if (closed_) return;
  destroyRkeys();
  worker_->close(ep_, false);
  closed_ = true;
}

void UcxConnection::dropPosted() {
  // Receives first cancelled, then freed only once UCX has called back (bounded): a receive
  // already matched may still be written into until then, and its buffer is the caller's.
  bool waiting = false;
  for (Pending& pending : pending_) {
    if (pending.handle != nullptr && !pending.completed && !pending.isSend) {
      api_.requestCancel(worker_->handle(), pending.handle);
      waiting = true;
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kCancelMs);
  while (waiting && std::chrono::steady_clock::now() < deadline) {
    api_.workerProgress(worker_->handle());
    waiting = std::any_of(pending_.begin(), pending_.end(), [](const Pending& p) {
      return p.handle != nullptr && !p.completed && !p.isSend;
    });
  }
  for (Pending& pending : pending_) {
    if (pending.handle != nullptr) api_.requestFree(pending.handle);
  }
  pending_.clear();
}

void UcxConnection::onSend(void* handle, ucs_status_t status, void* user) {
  auto* pending = static_cast<Pending*>(user);
  pending->completed = true;
  pending->status = status;
  pending->owner->worker_->completed();
}

void UcxConnection::onRecv(void* handle, ucs_status_t status, const ucp_tag_recv_info_t* info,
                           void* user) {
  auto* pending = static_cast<Pending*>(user);
  pending->completed = true;
  pending->status = status;
  if (status == UCS_OK && info != nullptr) pending->received = info->length;
  pending->owner->worker_->completed();
}

Status UcxConnection::fail(Status status) {
  if (failure_.isOk()) failure_ = std::move(status);
  return failure_;
}

UcxConnection::Pending& UcxConnection::track(TransferRequest* request, bool isSend, uint64_t seq,
                                             size_t bytes, ucp_request_param_t* param) {
  request->done = false;
  Pending pending;
  pending.owner = this;
  pending.request = request;
  pending.isSend = isSend;
  pending.seq = seq;
  pending.bytes = bytes;
  pending_.push_back(pending);
  *param = ucp_request_param_t{};
  param->op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  param->user_data = &pending_.back();
  if (isSend) {
    param->cb.send = &UcxConnection::onSend;
  } else {
    param->cb.recv = &UcxConnection::onRecv;
    // Always a request, so that the length comes through the callback.
    param->op_attr_mask |= UCP_OP_ATTR_FLAG_NO_IMM_CMPL;
  }
  return pending_.back();
}

Status UcxConnection::postSend(const Slice& data, TransferRequest* request) {
  std::lock_guard<std::mutex> hold(worker_->lock());
  if (!failure_.isOk()) return failure_;
  if (endpointGone()) {
    return fail(makeError(tuttiRemoteError, "ucx: connection to rank {} shut down", peer_));
  }
  worker_->calledNow();
  ucp_request_param_t param;
  Pending& pending = track(request, true, sendSeq_, data.bytes, &param);
  request->pendingParts = 1;
  ucs_status_ptr_t handle =
      api_.tagSendNbx(ep_, data.data(), data.bytes, tagOf(self_, sendSeq_), &param);
  ++sendSeq_;
  if (UCS_PTR_IS_ERR(handle)) {
    pending_.pop_back();
    return fail(makeError(tuttiRemoteError, "ucx: send of message #{} ({} bytes) to rank {}: {}",
                          sendSeq_ - 1, data.bytes, peer_, api_.describe(UCS_PTR_STATUS(handle))));
  }
  if (handle == nullptr) {  // done at once: the data went, or was copied out
    pending_.pop_back();
    request->done = true;
    return Status::ok();
  }
  pending.handle = handle;
  return Status::ok();
}

Status UcxConnection::postRecv(const Slice& data, TransferRequest* request) {
  std::lock_guard<std::mutex> hold(worker_->lock());
  if (!failure_.isOk()) return failure_;
  if (endpointGone()) {
    return fail(makeError(tuttiRemoteError, "ucx: connection to rank {} shut down", peer_));
  }
  ucp_request_param_t param;
  Pending& pending = track(request, false, recvSeq_, data.bytes, &param);
  request->pendingParts = 1;
  ucs_status_ptr_t handle = api_.tagRecvNbx(worker_->handle(), data.data(), data.bytes,
                                            tagOf(peer_, recvSeq_), ~ucp_tag_t{0}, &param);
  ++recvSeq_;
  if (UCS_PTR_IS_ERR(handle) || handle == nullptr) {
    pending_.pop_back();
    return fail(makeError(tuttiSystemError,
                          "ucx: receive of message #{} ({} bytes) from rank {}: {}", recvSeq_ - 1,
                          data.bytes, peer_,
                          handle == nullptr ? std::string("completed without a request")
                                            : api_.describe(UCS_PTR_STATUS(handle))));
  }
  pending.handle = handle;
  return Status::ok();
}

Status UcxConnection::outcome(const Pending& pending) const {
  if (pending.isPut && pending.status != UCS_OK) {
    return makeError(tuttiRemoteError, "ucx: put #{} ({} bytes) into rank {}: {}", pending.seq,
                     pending.bytes, peer_, api_.describe(pending.status));
  }
  const char* direction = pending.isSend ? "send of" : "receive of";
  if (pending.status == UCS_ERR_MESSAGE_TRUNCATED) {
    return makeError(tuttiInternalError,
                     "ucx: rank {} sent message #{} longer than the {} bytes expected (the ranks "
                     "disagree on the call: count, type or order)",
                     peer_, pending.seq, pending.bytes);
  }
  if (pending.status != UCS_OK) {
    return makeError(tuttiRemoteError, "ucx: {} message #{} ({} bytes) {} rank {}: {}", direction,
                     pending.seq, pending.bytes, pending.isSend ? "to" : "from", peer_,
                     api_.describe(pending.status));
  }
  if (!pending.isSend && pending.received != pending.bytes) {
    return makeError(tuttiInternalError,
                     "ucx: rank {} sent message #{} of {} bytes where {} were expected (the ranks "
                     "disagree on the call: count, type or order)",
                     peer_, pending.seq, pending.received, pending.bytes);
  }
  return Status::ok();
}

Status UcxConnection::progress(bool* progressed) {
  std::lock_guard<std::mutex> hold(worker_->lock());
  worker_->drainWake();
  if (shut_.load(std::memory_order_acquire)) {
    // The endpoint was closed by shutdown(); what is posted ends here.
    dropPosted();
    return fail(makeError(tuttiRemoteError, "ucx: connection to rank {} shut down", peer_));
  }
  if (!failure_.isOk()) return failure_;
  if (!pending_.empty()) worker_->calledNow();
  // Bounded, so that one busy worker cannot hold the caller's other connections.
  for (int round = 0; round < 64 && api_.workerProgress(worker_->handle()) != 0; ++round) {
    *progressed = true;
  }
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (!it->completed) {
      ++it;
      continue;
    }
    Status status = outcome(*it);
    if (!status.isOk()) return fail(std::move(status));
    api_.requestFree(it->handle);
    TransferRequest* request = it->request;
    const uint64_t seq = it->seq;
    const int signalAfter = it->signalAfter;
    it = pending_.erase(it);
    // A put's flush completed: its data is in the peer's memory, the signal may follow.
    if (signalAfter >= 0) TUTTI_RETURN_IF_ERROR(postSignal(request, seq, signalAfter));
    partDone(request);
    *progressed = true;
  }
  if (state_->error != UCS_OK && !pending_.empty()) {
    // Receives wait on the worker, not the endpoint: a failed peer does not end them itself.
    return fail(makeError(tuttiRemoteError, "ucx: the endpoint to rank {} failed: {}", peer_,
                          api_.describe(state_->error)));
  }
  return Status::ok();
}

bool UcxConnection::busy() const {
  std::lock_guard<std::mutex> hold(worker_->lock());
  return !pending_.empty();
}

bool UcxConnection::armWait(std::vector<WaitSource>* sources) {
  std::lock_guard<std::mutex> hold(worker_->lock());
  if (shut_.load(std::memory_order_acquire) || state_->error != UCS_OK) return true;
  // Completed by another connection's progress or the worker's thread: reap it first.
  if (std::any_of(pending_.begin(), pending_.end(),
                  [](const Pending& pending) { return pending.completed; })) {
    return true;
  }
  // UCS_ERR_BUSY: events arrived since the last progress; poll again instead of sleeping.
  if (api_.workerArm(worker_->handle()) != UCS_OK) return true;
  sources->push_back(WaitSource{worker_->eventFd(), POLLIN});
  sources->push_back(WaitSource{worker_->wakeFd(), POLLIN});
  return false;
}

std::string UcxConnection::describePending() const {
  std::lock_guard<std::mutex> hold(worker_->lock());
  if (pending_.empty()) return "";
  size_t sends = 0;
  size_t puts = 0;
  size_t recvs = 0;
  std::string oldest;
  for (const Pending& pending : pending_) {
    if (pending.completed) continue;
    // A put in flight has its flush or its signal posted (the data part carries the rkey).
    if (pending.isPut) {
      puts += pending.rkey == nullptr ? 1 : 0;
    } else {
      (pending.isSend ? sends : recvs) += 1;
    }
  }
  // Posted in order, so the first of each kind is the oldest.
  for (bool isSend : {true, false}) {
    auto first = std::find_if(pending_.begin(), pending_.end(), [isSend](const Pending& p) {
      return p.isSend == isSend && !p.isPut && !p.completed;
    });
    if (first == pending_.end()) continue;
    oldest += fmt::format(", the oldest {} message #{} ({} bytes)", isSend ? "sent" : "awaited",
                          first->seq, first->bytes);
  }
  auto firstPut = std::find_if(pending_.begin(), pending_.end(),
                               [](const Pending& p) { return p.isPut && !p.completed; });
  if (firstPut != pending_.end()) oldest += fmt::format(", the oldest put #{}", firstPut->seq);
  return fmt::format("ucx: {} send(s), {} put(s) and {} receive(s) to rank {} not done{}", sends,
                     puts, recvs, peer_, oldest);
}

void UcxConnection::shutdown() {
  {
    // Closed at once, whether or not a call progresses this connection again (a revoke or an
    // abort between calls): the peer's UCX sees its connection reset where its transport can
    // tell (TCP); the watch tells the peer in any case.
    std::lock_guard<std::mutex> hold(worker_->lock());
    closeNow();
  }
  shut_.store(true, std::memory_order_release);
  worker_->wake();  // a rank asleep in a wait on this connection
}

}  // namespace tutti
