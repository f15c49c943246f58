#include "exec/executor.h"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>

#include "base/log.h"
#include "exec/datatype.h"
#include "exec/reduce.h"

namespace tutti {
namespace {

using Clock = std::chrono::steady_clock;

bool overlaps(const char* a, size_t aBytes, const char* b, size_t bBytes) {
  return a < b + bBytes && b < a + aBytes;
}

}  // namespace

Status Executor::run(const Plan& plan, const void* sendbuff, void* recvbuff, tuttiDataType_t type,
                     tuttiRedOp_t op, const std::vector<Connection*>& connections) {
  if (plan.steps.empty()) return Status::ok();
  const size_t elemSize = dataTypeSize(type);
  if (scratch_.size() < plan.scratchCount * elemSize) scratch_.resize(plan.scratchCount * elemSize);
  char* const bases[3] = {static_cast<char*>(const_cast<void*>(sendbuff)),
                          static_cast<char*>(recvbuff), scratch_.data()};
  auto pointer = [&](const Region& region, size_t elementOffset) {
    return bases[static_cast<int>(region.buffer)] + (region.offset + elementOffset) * elemSize;
  };
  const int avgDivisor = op == tuttiAvg ? plan.nranks : 0;
  // Whether a slice not yet completed will still read or write [p, p + bytes).
  auto touches = [&](const SliceOp& slice, const char* p, size_t bytes) {
    const size_t sliceBytes = slice.count * elemSize;
    const Step& step = *slice.step;
    return (stepReads(step.kind) &&
            overlaps(pointer(step.src, slice.offset), sliceBytes, p, bytes)) ||
           (stepWrites(step.kind) &&
            overlaps(pointer(step.dst, slice.offset), sliceBytes, p, bytes));
  };

  const size_t sliceElems = std::max<size_t>(1, params_.sliceBytes / elemSize);
  const size_t slotBytes = sliceElems * elemSize;
  const int slots = params_.slicesInFlight;

  std::vector<SliceOp>& ops = ops_;
  ops.clear();
  for (const Step& step : plan.steps) {
    // A local copy has nothing to pipeline with: one memcpy for the whole step (glibc streams
    // large copies past the caches; slices would not).
    const size_t unit = step.kind == StepKind::kCopy ? std::max<size_t>(step.count, 1) : sliceElems;
    for (size_t offset = 0; offset < step.count; offset += unit) {
      ops.push_back(SliceOp{&step, offset, std::min(unit, step.count - offset)});
    }
  }

  std::vector<Connection*>& active = active_;
  active.clear();
  if (staging_.size() < connections.size()) staging_.resize(connections.size());
  for (int peer : plan.peers()) {
    if (peer >= static_cast<int>(connections.size()) || connections[peer] == nullptr) {
      return makeError(tuttiInternalError, "{} plan of rank {} needs rank {}, not connected",
                       plan.algorithm, plan.rank, peer);
    }
    active.push_back(connections[peer]);
    Staging& staging = staging_[peer];
    if (staging.memory.size() < static_cast<size_t>(slots) * slotBytes) {
      staging.memory.assign(static_cast<size_t>(slots) * slotBytes, 0);
    }
    staging.freeSlots.clear();
    for (int s = slots - 1; s >= 0; --s) staging.freeSlots.push_back(s);
  }

  std::vector<TransferRequest>& recvRequests = recvRequests_;
  recvRequests.assign(ops.size(), TransferRequest{});
  std::deque<PendingSend>& sends = sends_;
  sends.clear();
  size_t nextPost = 0;
  size_t nextDone = 0;
  Clock::time_point lastProgress = Clock::now();
  Clock::time_point spinStart = lastProgress;
  std::vector<pollfd>& fds = fds_;

  while (nextDone < ops.size() || !sends.empty()) {
    bool progressed = false;

    // Post receives ahead of use, as far as staging slots allow.
    while (nextPost < ops.size()) {
      SliceOp& slice = ops[nextPost];
      if (!stepReceives(slice.step->kind)) {
        ++nextPost;
        continue;
      }
      Staging& staging = staging_[slice.step->recvPeer];
      if (staging.freeSlots.empty()) break;
      const size_t bytes = slice.count * elemSize;
      char* target = nullptr;
      if (slice.step->kind == StepKind::kRecv || slice.step->kind == StepKind::kRecvCopySend) {
        // Straight into the destination when nothing unfinished touches it: no staging copy.
        char* dst = pointer(slice.step->dst, slice.offset);
        bool busy = std::any_of(sends.begin(), sends.end(), [&](const PendingSend& send) {
          return !send.request.done && overlaps(send.data, send.bytes, dst, bytes);
        });
        for (size_t earlier = nextDone; !busy && earlier < nextPost; ++earlier) {
          busy = touches(ops[earlier], dst, bytes);
        }
        if (!busy) {
          target = dst;
          slice.direct = true;
        }
      }
      // A direct receive holds a slot too, so that the receives posted ahead stay bounded.
      slice.slot = staging.freeSlots.back();
      staging.freeSlots.pop_back();
      if (target == nullptr) target = staging.memory.data() + slice.slot * slotBytes;
      TUTTI_RETURN_IF_ERROR(
          connections[slice.step->recvPeer]->postRecv(target, bytes, &recvRequests[nextPost]));
      ++nextPost;
    }

    // Complete slices in plan order.
    while (nextDone < ops.size()) {
      SliceOp& slice = ops[nextDone];
      const Step& step = *slice.step;
      const bool receives = stepReceives(step.kind);
      if (receives && (nextDone >= nextPost || !recvRequests[nextDone].done)) break;
      const size_t bytes = slice.count * elemSize;
      char* dst = stepWrites(step.kind) ? pointer(step.dst, slice.offset) : nullptr;
      const char* src = stepReads(step.kind) ? pointer(step.src, slice.offset) : nullptr;
      const bool direct = slice.direct;
      // A copy onto itself (in-place all-gather's own block) writes nothing: no hazard.
      const bool writesNothing =
          step.kind == StepKind::kCopy && dst == src && !(step.finalize && avgDivisor > 0);
      if (dst != nullptr && !direct && !writesNothing) {
        bool hazard = std::any_of(sends.begin(), sends.end(), [&](const PendingSend& send) {
          return !send.request.done && overlaps(send.data, send.bytes, dst, bytes);
        });
        if (hazard) break;  // an earlier send still reads this memory
      }
      const char* in = nullptr;
      if (receives) {
        Staging& staging = staging_[step.recvPeer];
        in = direct ? dst : staging.memory.data() + slice.slot * slotBytes;
        staging.freeSlots.push_back(slice.slot);  // reusable once this slice is consumed below
      }
      const bool divide = step.finalize && avgDivisor > 0;
      // Forwarding steps write their result straight into the transport's send slot as well
      // when it offers one (fused: no second pass over dst to send it).
      char* slot = nullptr;
      if (step.kind == StepKind::kRecvReduceSend || step.kind == StepKind::kRecvCopySend) {
        slot = connections[step.sendPeer]->sendBuffer(bytes);
      }
      if (slot != nullptr) {
        if (step.kind == StepKind::kRecvReduceSend) {
          reduceArraysTwoOutputs(dst, slot, src, in, slice.count, type, op,
                                 divide ? avgDivisor : 0);
        } else if (divide) {
          divideArray(dst, in, slice.count, type, avgDivisor);
          std::memcpy(slot, dst, bytes);
        } else {
          copyToTwo(dst, slot, in, bytes);
        }
        TransferRequest sent;
        TUTTI_RETURN_IF_ERROR(connections[step.sendPeer]->commitSend(bytes, &sent));
        ++nextDone;
        progressed = true;
        continue;
      }
      switch (step.kind) {
        case StepKind::kSend:
          break;
        case StepKind::kRecv:
        case StepKind::kRecvCopySend:
          if (divide) {
            divideArray(dst, in, slice.count, type, avgDivisor);
          } else if (dst != in) {
            std::memcpy(dst, in, bytes);
          }
          break;
        case StepKind::kRecvReduce:
        case StepKind::kRecvReduceSend:
          reduceArrays(dst, src, in, slice.count, type, op, divide ? avgDivisor : 0);
          break;
        case StepKind::kCopy:
          if (divide) {
            divideArray(dst, src, slice.count, type, avgDivisor);
          } else if (dst != src) {
            std::memcpy(dst, src, bytes);
          }
          break;
      }
      if (stepSends(step.kind)) {
        const char* data = step.kind == StepKind::kSend ? src : dst;
        sends.push_back(PendingSend{TransferRequest{}, data, bytes});
        TUTTI_RETURN_IF_ERROR(
            connections[step.sendPeer]->postSend(data, bytes, &sends.back().request));
      }
      ++nextDone;
      progressed = true;
    }

    for (Connection* connection : active) {
      TUTTI_RETURN_IF_ERROR(connection->progress(&progressed));
    }
    while (!sends.empty() && sends.front().request.done) sends.pop_front();
    if (nextDone == ops.size() && sends.empty()) break;

    Clock::time_point now = Clock::now();
    if (progressed) {
      lastProgress = now;
      spinStart = now;
      continue;
    }
    if (now - spinStart < std::chrono::microseconds(params_.spinUs)) continue;
    if (now - spinStart < std::chrono::microseconds(params_.spinUs + params_.yieldUs)) {
      sched_yield();
      continue;
    }

    if (abortFlag_ != nullptr && abortFlag_->load(std::memory_order_relaxed)) {
      return makeError(tuttiRemoteError, "{}: communicator aborted",
                       collectiveName(plan.collective));
    }
    auto idleMs = std::chrono::duration_cast<std::chrono::milliseconds>(now - lastProgress).count();
    if (idleMs >= params_.timeoutMs) {
      std::string waiting;
      if (nextDone < ops.size() && stepReceives(ops[nextDone].step->kind)) {
        const SliceOp& slice = ops[nextDone];
        waiting = fmt::format(
            "waiting for rank {} to send {} elements at offset {} of step {} "
            "({}); is rank {} alive and in the same call?",
            slice.step->recvPeer, slice.count, slice.offset, slice.step - plan.steps.data(),
            describeStep(*slice.step), slice.step->recvPeer);
      } else {
        waiting = "waiting for peers to receive what this rank sent";
      }
      return makeError(tuttiTimeout,
                       "{} ({}, {} ranks, count {}): no progress for {} ms "
                       "(TUTTI_TIMEOUT_MS): {}",
                       collectiveName(plan.collective), plan.algorithm, plan.nranks, plan.count,
                       idleMs, waiting);
    }
    fds.clear();
    bool readyNow = false;
    for (Connection* connection : active) readyNow |= connection->addPollFds(&fds);
    if (readyNow) continue;
    int waitMs = static_cast<int>(std::min<int64_t>(50, params_.timeoutMs - idleMs));
    if (::poll(fds.data(), fds.size(), waitMs) < 0 && errno != EINTR) {
      return systemError("executor: poll", errno);
    }
    // Once blocked, keep blocking until something moves: no spinning between polls.
    spinStart = Clock::time_point{};
  }
  return Status::ok();
}

}  // namespace tutti
