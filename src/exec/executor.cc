#include "exec/executor.h"

#include <algorithm>

#include "base/log.h"
#include "exec/datatype.h"

namespace tutti {
namespace {

// Below this, copying a message out of the transport's memory costs less than handing the memory
// back afterwards (measured: 64-byte all-reduce, 2 ranks over shm).
constexpr size_t kMinStagedRecvBytes = 4096;

}  // namespace

bool Executor::sameRegistrationsAsLastCall(const char* const bases[3],
                                           const std::vector<Connection*>& connections) const {
  const RegisteredCall& last = registeredCall_;
  for (int b = 0; b < 3; ++b) {
    if (last.bases[b] != bases[b] ||
        last.extents[b] != lowered_.extentBytes(static_cast<BufferId>(b))) {
      return false;
    }
  }
  if (last.connections != connections) return false;
  for (int peer : lowered_.peers()) {
    if (last.staging[peer] == nullptr ||
        last.staging[peer]->base() != staging_[peer].memory.data() ||
        last.staging[peer]->memory.bytes < staging_[peer].memory.size()) {
      return false;
    }
  }
  return std::all_of(
      registrations_.begin(), registrations_.end(),
      [](const DomainRegistrations& r) { return r.domain->generation() == r.generation; });
}

Status Executor::registerBuffers(const CallBuffers& buffers,
                                 const std::vector<Connection*>& connections) {
  const char* bases[3] = {static_cast<const char*>(buffers.send),
                          static_cast<const char*>(buffers.recv), scratch_.data()};
  if (sameRegistrationsAsLastCall(bases, connections)) return Status::ok();
  registrations_.clear();
  for (Connection* connection : active_) {
    MemoryDomain* domain = &connection->memoryDomain();
    if (std::any_of(registrations_.begin(), registrations_.end(),
                    [&](const DomainRegistrations& r) { return r.domain == domain; })) {
      continue;
    }
    DomainRegistrations entry{domain, domain->generation(), {nullptr, nullptr, nullptr}};
    for (int b = 0; b < 3; ++b) {
      const size_t extent = lowered_.extentBytes(static_cast<BufferId>(b));
      if (extent == 0 || bases[b] == nullptr) continue;
      // Scratch is host memory of the executor's; the call's buffers are the caller's kind.
      Memory memory{const_cast<char*>(bases[b]), extent, b == 2 ? MemoryKind::kHost : buffers.kind,
                    b == 2 ? -1 : buffers.device};
      TUTTI_RETURN_IF_ERROR(domain->registerMemory(memory, &entry.buffers[b]));
    }
    registrations_.push_back(entry);
  }
  stagingRegistrations_.assign(connections.size(), nullptr);
  for (int peer : lowered_.peers()) {
    Staging& staging = staging_[peer];
    Memory memory{staging.memory.data(), staging.memory.size(), MemoryKind::kHost, -1};
    TUTTI_RETURN_IF_ERROR(
        connections[peer]->memoryDomain().registerMemory(memory, &stagingRegistrations_[peer]));
  }
  RegisteredCall& call = registeredCall_;
  for (int b = 0; b < 3; ++b) {
    call.bases[b] = bases[b];
    call.extents[b] = lowered_.extentBytes(static_cast<BufferId>(b));
  }
  call.connections = connections;
  call.staging = stagingRegistrations_;
  // Generations after this call's own lookups (registering may not evict; endCall may).
  for (DomainRegistrations& entry : registrations_) entry.generation = entry.domain->generation();
  return Status::ok();
}

// The registered slice of [data, data + bytes) for a post on `connection`: a range of one of the
// call's buffers, or of the staging of `stagingPeer`.
Slice Executor::sliceOf(Connection* connection, const char* data, size_t bytes,
                        int stagingPeer) const {
  MemoryDomain* domain = &connection->memoryDomain();
  for (const DomainRegistrations& entry : registrations_) {
    if (entry.domain != domain) continue;
    for (const Registration* registration : entry.buffers) {
      if (registration != nullptr && data >= registration->base() &&
          data + bytes <= registration->base() + registration->memory.bytes) {
        return Slice{registration, static_cast<size_t>(data - registration->base()), bytes};
      }
    }
  }
  const Registration* staging = stagingRegistrations_[stagingPeer];
  return Slice{staging, static_cast<size_t>(data - staging->base()), bytes};
}

std::string Executor::describeWait(const Plan& plan, size_t nextDone, int* peer) const {
  if (call_ != nullptr) {
    std::string descriptor = exchange_.describeWait(peer);
    if (!descriptor.empty()) return descriptor;
  }
  const std::vector<LoweredSlice>& ops = lowered_.slices();
  if (nextDone < ops.size() && stepReceives(ops[nextDone].step->kind)) {
    const LoweredSlice& slice = ops[nextDone];
    *peer = slice.step->recvPeer;
    return fmt::format(
        "waiting for rank {} to send {} elements at offset {} of step {} ({}); is rank {} alive "
        "and in the same call?",
        slice.step->recvPeer, slice.count, slice.offset, slice.step - plan.steps.data(),
        describeStep(*slice.step), slice.step->recvPeer);
  }
  if (!sends_.empty()) *peer = sends_.front().peer;
  return "waiting for peers to receive what this rank sent";
}

std::string Executor::describeTimeout(const Plan& plan, size_t nextDone) const {
  int peer = -1;
  std::string text = describeWait(plan, nextDone, &peer);
  if (call_ != nullptr && witness_ != nullptr && peer >= 0) {
    const std::string where = witness_->whereIs(peer, *call_);
    if (!where.empty()) text += "; the watch says " + where;
  }
  return text + describePending();
}

std::string Executor::describePending() const {
  std::string text;
  for (const Connection* connection : active_) {
    const std::string pending = connection->describePending();
    if (!pending.empty()) text += fmt::format("; to rank {}: {}", connection->peer(), pending);
  }
  return text;
}

Status Executor::askWitness(int rank) {
  if (call_ == nullptr || witness_ == nullptr) return Status::ok();
  if (++stalls_ == kPublishAfterStalls) witness_->publish(*call_);
  int peer = -1;
  CallDescriptor theirs;
  if (!witness_->differs(*call_, &peer, &theirs)) return Status::ok();
  return compareCalls(*call_, rank, theirs, peer);
}

Status Executor::run(const Plan& plan, const CallBuffers& buffers, tuttiDataType_t type,
                     tuttiRedOp_t op, const std::vector<Connection*>& connections,
                     ProgressEngine& engine, const CallDescriptor* call, PeerProgress* progress) {
  call_ = call;
  stalls_ = 0;
  if (plan.steps.empty() && call == nullptr) return Status::ok();
  Status status = runPlan(plan, buffers, type, op, connections, engine, progress);
  if (!status.isOk() && call != nullptr) status = exchange_.explainFailure(status, connections);
  call_ = nullptr;
  return status;
}

void Executor::setProgressTotals(PeerProgress* progress) const {
  for (const LoweredSlice& slice : lowered_.slices()) {
    const Step& step = *slice.step;
    const size_t bytes = lowered_.bytes(slice);
    if (stepReceives(step.kind)) addBytes(progress[step.recvPeer].recvTotal, bytes);
    if (stepSends(step.kind)) addBytes(progress[step.sendPeer].sendTotal, bytes);
  }
}

Status Executor::runPlan(const Plan& plan, const CallBuffers& buffers, tuttiDataType_t type,
                         tuttiRedOp_t op, const std::vector<Connection*>& connections,
                         ProgressEngine& engine, PeerProgress* progress) {
  const size_t elemSize = dataTypeSize(type);
  if (scratch_.size() < plan.scratchCount * elemSize) scratch_.resize(plan.scratchCount * elemSize);
  char* const bases[3] = {static_cast<char*>(const_cast<void*>(buffers.send)),
                          static_cast<char*>(buffers.recv), scratch_.data()};
  const size_t sliceElems = std::max<size_t>(1, params_.sliceBytes / elemSize);
  const size_t slotBytes = sliceElems * elemSize;
  const int slots = params_.slicesInFlight;
  lowered_.lower(plan, bases, elemSize, sliceElems);
  const std::vector<LoweredSlice>& ops = lowered_.slices();
  const int avgDivisor = op == tuttiAvg ? plan.nranks : 0;
  if (progress != nullptr) setProgressTotals(progress);

  active_.clear();
  if (staging_.size() < connections.size()) staging_.resize(connections.size());
  for (int peer : lowered_.peers()) {
    if (peer >= static_cast<int>(connections.size()) || connections[peer] == nullptr) {
      return makeError(tuttiInternalError, "{} plan of rank {} needs rank {}, not connected",
                       plan.algorithm, plan.rank, peer);
    }
    active_.push_back(connections[peer]);
    Staging& staging = staging_[peer];
    if (staging.memory.size() < static_cast<size_t>(slots) * slotBytes) {
      staging.memory.assign(static_cast<size_t>(slots) * slotBytes, 0);
    }
    staging.freeSlots.clear();
    for (int s = slots - 1; s >= 0; --s) staging.freeSlots.push_back(s);
  }
  TUTTI_RETURN_IF_ERROR(registerBuffers(buffers, connections));
  if (call_ != nullptr) {
    TUTTI_RETURN_IF_ERROR(exchange_.start(*call_, plan.rank, lowered_, connections, &active_));
  }
  engine.drive(active_, call_ != nullptr && witness_ != nullptr);

  states_.assign(ops.size(), SliceState{});
  recvRequests_.assign(ops.size(), TransferRequest{});
  sends_.clear();
  size_t nextPost = 0;
  size_t nextDone = 0;

  const auto checksPending = [&] { return call_ != nullptr && exchange_.pending() > 0; };
  while (nextDone < ops.size() || !sends_.empty() || checksPending()) {
    bool progressed = false;
    if (checksPending()) TUTTI_RETURN_IF_ERROR(exchange_.poll());

    // Post receives ahead of use, as far as staging slots allow.
    while (nextPost < ops.size()) {
      const LoweredSlice& slice = ops[nextPost];
      SliceState& state = states_[nextPost];
      const Step& step = *slice.step;
      if (!stepReceives(step.kind)) {
        ++nextPost;
        continue;
      }
      Staging& staging = staging_[step.recvPeer];
      if (staging.freeSlots.empty()) break;
      Connection* connection = connections[step.recvPeer];
      const size_t bytes = lowered_.bytes(slice);
      char* target = nullptr;
      if (step.kind == StepKind::kRecv || step.kind == StepKind::kRecvCopySend) {
        // Straight into the destination when nothing unfinished touches it: no staging copy.
        char* dst = lowered_.dst(slice);
        bool busy = std::any_of(sends_.begin(), sends_.end(), [&](const PendingSend& send) {
          return !send.request.done && overlaps(send.data, send.bytes, dst, bytes);
        });
        for (size_t earlier = nextDone; !busy && earlier < nextPost; ++earlier) {
          busy = lowered_.touches(ops[earlier], dst, bytes);
        }
        if (!busy) {
          target = dst;
          state.direct = true;
        }
      } else if (bytes >= kMinStagedRecvBytes && connection->stagesRecv(bytes)) {
        state.staged = true;  // reduced straight out of the transport's memory
      }
      // A direct or staged receive holds a slot too, so that the receives posted ahead stay
      // bounded.
      state.slot = staging.freeSlots.back();
      staging.freeSlots.pop_back();
      if (state.staged) {
        TUTTI_RETURN_IF_ERROR(connection->postRecvStaged(bytes, &recvRequests_[nextPost]));
      } else {
        if (target == nullptr) target = staging.memory.data() + state.slot * slotBytes;
        TUTTI_RETURN_IF_ERROR(connection->postRecv(
            sliceOf(connection, target, bytes, step.recvPeer), &recvRequests_[nextPost]));
      }
      ++nextPost;
    }

    // Complete slices in plan order.
    while (nextDone < ops.size()) {
      const LoweredSlice& slice = ops[nextDone];
      const SliceState& state = states_[nextDone];
      const Step& step = *slice.step;
      const bool receives = stepReceives(step.kind);
      if (receives && (nextDone >= nextPost || !recvRequests_[nextDone].done)) break;
      // Nothing received from a peer is used before its call is known to be this one. (The
      // receive itself was posted at once, behind the descriptor's: a transport may read both
      // with one system call.)
      if (receives && call_ != nullptr && !exchange_.matched(step.recvPeer)) {
        // The descriptor usually arrives in the data's read: compare it now rather than a pass
        // later (a pass polls every connection once more, each a failed read).
        TUTTI_RETURN_IF_ERROR(exchange_.poll());
        if (!exchange_.matched(step.recvPeer)) break;
      }
      const size_t bytes = lowered_.bytes(slice);
      char* dst = lowered_.dst(slice);
      const char* src = lowered_.src(slice);
      const bool divide = step.finalize && avgDivisor > 0;
      // A copy onto itself (in-place all-gather's own block) writes nothing: no hazard.
      const bool writesNothing = step.kind == StepKind::kCopy && dst == src && !divide;
      if (dst != nullptr && !state.direct && !writesNothing) {
        bool hazard = std::any_of(sends_.begin(), sends_.end(), [&](const PendingSend& send) {
          return !send.request.done && overlaps(send.data, send.bytes, dst, bytes);
        });
        if (hazard) break;  // an earlier send still reads this memory
      }
      const char* in = nullptr;
      if (receives) {
        Staging& staging = staging_[step.recvPeer];
        in = state.direct   ? dst
             : state.staged ? recvRequests_[nextDone].staged
                            : staging.memory.data() + state.slot * slotBytes;
        staging.freeSlots.push_back(state.slot);  // reusable once this slice is consumed below
        if (progress != nullptr) addBytes(progress[step.recvPeer].received, bytes);
      }
      // The descriptor goes first, and with this data where the transport batches.
      if (call_ != nullptr && stepSends(step.kind)) {
        TUTTI_RETURN_IF_ERROR(exchange_.beforeFirstSend(step.sendPeer, connections[step.sendPeer]));
      }
      // Forwarding steps write their result straight into the transport's send staging as well
      // when it offers some (fused: no second pass over dst to send it).
      char* out = nullptr;
      if (step.kind == StepKind::kRecvReduceSend || step.kind == StepKind::kRecvCopySend) {
        out = connections[step.sendPeer]->sendStaging(bytes);
      }
      switch (step.kind) {
        case StepKind::kSend:
          break;
        case StepKind::kRecv:
        case StepKind::kRecvCopySend:
          if (divide) {
            mover_->divide(dst, in, slice.count, type, avgDivisor);
            if (out != nullptr) mover_->copy(out, dst, bytes);
          } else if (out != nullptr) {
            mover_->copyToTwo(dst, out, in, bytes);
          } else {
            mover_->copy(dst, in, bytes);
          }
          break;
        case StepKind::kRecvReduce:
        case StepKind::kRecvReduceSend:
          if (out != nullptr) {
            mover_->reduceTwoOutputs(dst, out, src, in, slice.count, type, op,
                                     divide ? avgDivisor : 0);
          } else {
            mover_->reduce(dst, src, in, slice.count, type, op, divide ? avgDivisor : 0);
          }
          break;
        case StepKind::kCopy:
          if (divide) {
            mover_->divide(dst, src, slice.count, type, avgDivisor);
          } else {
            mover_->copy(dst, src, bytes);
          }
          break;
      }
      if (state.staged) {
        TUTTI_RETURN_IF_ERROR(connections[step.recvPeer]->releaseRecv(&recvRequests_[nextDone]));
      }
      if (out != nullptr) {
        TransferRequest sent;
        TUTTI_RETURN_IF_ERROR(connections[step.sendPeer]->commitSend(bytes, &sent));
        if (progress != nullptr) addBytes(progress[step.sendPeer].sent, bytes);
      } else if (stepSends(step.kind)) {
        const char* data = step.kind == StepKind::kSend ? src : dst;
        sends_.push_back(PendingSend{TransferRequest{}, data, bytes, step.sendPeer});
        Connection* connection = connections[step.sendPeer];
        TUTTI_RETURN_IF_ERROR(connection->postSend(sliceOf(connection, data, bytes, step.sendPeer),
                                                   &sends_.back().request));
      }
      ++nextDone;
      progressed = true;
    }

    TUTTI_RETURN_IF_ERROR(engine.poll(&progressed));
    while (!sends_.empty() && sends_.front().request.done) {
      if (progress != nullptr) addBytes(progress[sends_.front().peer].sent, sends_.front().bytes);
      sends_.pop_front();
    }
    if (nextDone == ops.size() && sends_.empty() && !checksPending()) break;
    if (progressed) continue;

    switch (engine.idle()) {
      case ProgressEngine::Idle::kRetry:
        break;
      case ProgressEngine::Idle::kStalled:
        TUTTI_RETURN_IF_ERROR(askWitness(plan.rank));
        break;
      case ProgressEngine::Idle::kAborted: {
        int awaited = -1;
        return makeError(tuttiRemoteError, "{}: communicator aborted while {}",
                         collectiveName(plan.collective), describeWait(plan, nextDone, &awaited));
      }
      case ProgressEngine::Idle::kFailed:
        return engine.failure();
      case ProgressEngine::Idle::kTimedOut: {
        // Read before describing: the description may ask the awaited rank and wait for it.
        const long idleMs = engine.idleMs();
        return makeError(tuttiTimeout,
                         "{} ({}, {} ranks, count {}): no progress for {} ms "
                         "(TUTTI_TIMEOUT_MS): {}",
                         collectiveName(plan.collective), plan.algorithm, plan.nranks, plan.count,
                         idleMs, describeTimeout(plan, nextDone));
      }
    }
  }
  for (const DomainRegistrations& entry : registrations_) entry.domain->endCall();
  return Status::ok();
}

}  // namespace tutti
