#include "exec/call_exchange.h"

#include <sched.h>

#include <algorithm>
#include <chrono>

namespace tutti {

Status CallExchange::start(const CallDescriptor& call, int rank, const LoweredPlan& lowered,
                           const std::vector<Connection*>& connections,
                           std::vector<Connection*>* active) {
  call_ = call;
  rank_ = rank;
  const size_t n = connections.size();
  if (memory_.size() < 2 * n) memory_.resize(2 * n);
  // Only the last call's peers are reset and only this call's are visited: a call with a few
  // peers costs the same on 8 ranks as on thousands.
  if (checks_.size() != n) {
    checks_.assign(n, PeerCheck{});
    sendsData_.assign(n, 0);
    recvsData_.assign(n, 0);
    touched_.clear();
  }
  for (int peer : touched_) {
    checks_[peer] = PeerCheck{};
    sendsData_[peer] = 0;
    recvsData_[peer] = 0;
  }
  touched_.clear();
  registrations_.resize(n, nullptr);
  generations_.resize(n, 0);
  const bool moved = registeredBase_ != memory_.data();
  registeredBase_ = memory_.data();
  pending_ = 0;
  mismatch_ = false;
  for (const LoweredSlice& slice : lowered.slices()) {
    if (stepSends(slice.step->kind)) sendsData_[slice.step->sendPeer] = 1;
    if (stepReceives(slice.step->kind)) recvsData_[slice.step->recvPeer] = 1;
  }
  const bool everyPeer = !descriptorsFollowData(call);
  const auto visit = [&](size_t peer) -> Status {
    Connection* connection = connections[peer];
    if (static_cast<int>(peer) == rank || connection == nullptr) return Status::ok();
    PeerCheck& check = checks_[peer];
    check.sends = everyPeer || sendsData_[peer];
    check.receives = everyPeer || recvsData_[peer];
    if (!check.sends && !check.receives) return Status::ok();
    touched_.push_back(static_cast<int>(peer));
    MemoryDomain& domain = connection->memoryDomain();
    const Registration*& registration = registrations_[peer];
    if (moved || registration == nullptr || generations_[peer] != domain.generation()) {
      Memory memory{memory_.data(), memory_.size() * sizeof(CallDescriptor), MemoryKind::kHost, -1};
      TUTTI_RETURN_IF_ERROR(domain.registerMemory(memory, &registration));
      generations_[peer] = domain.generation();
    }
    memory_[2 * peer] = call;
    ++pending_;
    if (check.receives) {
      const size_t offset = static_cast<size_t>(reinterpret_cast<char*>(&memory_[2 * peer + 1]) -
                                                registration->base());
      TUTTI_RETURN_IF_ERROR(connection->postRecv(
          Slice{registration, offset, sizeof(CallDescriptor)}, &check.received));
    }
    if (std::find(active->begin(), active->end(), connection) == active->end()) {
      active->push_back(connection);
    }
    return Status::ok();
  };
  if (everyPeer) {
    for (size_t peer = 0; peer < n; ++peer) TUTTI_RETURN_IF_ERROR(visit(peer));
  } else {
    for (int peer : lowered.peers()) TUTTI_RETURN_IF_ERROR(visit(static_cast<size_t>(peer)));
  }
  Status failed = Status::ok();
  for (int peer : touched_) {
    if (!checks_[peer].sends) continue;
    checks_[peer].held = true;
    if (sendsData_[peer]) continue;
    Status status = release(peer, connections[peer]);
    if (!status.isOk() && failed.isOk()) failed = status;
  }
  return failed;
}

// Queues this call's descriptor to `peer` if it is still held: it leaves with what is posted to
// the peer next, or at the engine's next poll.
Status CallExchange::release(int peer, Connection* connection) {
  PeerCheck& check = checks_[peer];
  if (!check.held) return Status::ok();
  check.held = false;
  const Registration* registration = registrations_[peer];
  const size_t offset =
      static_cast<size_t>(reinterpret_cast<char*>(&memory_[2 * peer]) - registration->base());
  return connection->queueSend(Slice{registration, offset, sizeof(CallDescriptor)}, &check.sent);
}

Status CallExchange::poll() {
  size_t pending = 0;
  for (int peer : touched_) {
    PeerCheck& check = checks_[peer];
    if (!check.checked && check.receives && check.received.done) {
      Status status = compareCalls(call_, rank_, memory_[2 * peer + 1], peer);
      if (!status.isOk()) {
        mismatch_ = true;
        return status;
      }
      check.checked = true;
    }
    if ((check.receives && !check.checked) || (check.sends && !check.sent.done)) ++pending;
  }
  pending_ = pending;
  return Status::ok();
}

std::string CallExchange::describeWait(int* waited) const {
  for (size_t peer = 0; peer < checks_.size(); ++peer) {
    if (checks_[peer].receives && !checks_[peer].received.done) {
      *waited = static_cast<int>(peer);
      return fmt::format(
          "waiting for rank {} to start call #{} ({}); is rank {} alive and making the same "
          "calls?",
          peer, call_.sequence, callText(call_), peer);
    }
  }
  return "";
}

Status CallExchange::explainFailure(const Status& failure,
                                    const std::vector<Connection*>& connections) {
  for (size_t peer = 0; peer < checks_.size(); ++peer) {
    if (!checks_[peer].held) continue;
    if (release(static_cast<int>(peer), connections[peer]).isOk()) {
      bool progressed = false;
      (void)connections[peer]->progress(&progressed);
    }
  }
  if (mismatch_) return failure;  // the failure is the mismatch
  // The peers' descriptors were sent before anything else of theirs: read them now.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  for (size_t peer = 0; peer < checks_.size(); ++peer) {
    PeerCheck& check = checks_[peer];
    if (!check.receives || check.checked) continue;
    while (!check.received.done && std::chrono::steady_clock::now() < deadline) {
      bool progressed = false;
      if (!connections[peer]->progress(&progressed).isOk()) break;
      if (!progressed) sched_yield();
    }
    if (!check.received.done) continue;
    Status status = compareCalls(call_, rank_, memory_[2 * peer + 1], static_cast<int>(peer));
    if (!status.isOk()) return status;
  }
  return failure;
}

}  // namespace tutti
