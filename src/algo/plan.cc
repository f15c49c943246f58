#include "algo/plan.h"

#include <fmt/format.h>

#include <algorithm>

namespace tutti {

const char* collectiveName(Collective coll) {
  switch (coll) {
    case Collective::kAllReduce:
      return "all_reduce";
    case Collective::kAllGather:
      return "all_gather";
    case Collective::kReduceScatter:
      return "reduce_scatter";
    case Collective::kBroadcast:
      return "broadcast";
    case Collective::kReduce:
      return "reduce";
    case Collective::kAllToAll:
      return "alltoall";
    case Collective::kGather:
      return "gather";
    case Collective::kScatter:
      return "scatter";
    case Collective::kSendRecv:
      return "sendrecv";
  }
  return "unknown";
}

bool isRooted(Collective coll) {
  return coll == Collective::kBroadcast || coll == Collective::kReduce ||
         coll == Collective::kGather || coll == Collective::kScatter;
}

bool isReduction(Collective coll) {
  return coll == Collective::kAllReduce || coll == Collective::kReduceScatter ||
         coll == Collective::kReduce;
}

const char* stepKindName(StepKind kind) {
  switch (kind) {
    case StepKind::kSend:
      return "send";
    case StepKind::kRecv:
      return "recv";
    case StepKind::kRecvReduce:
      return "recvReduce";
    case StepKind::kRecvReduceSend:
      return "recvReduceSend";
    case StepKind::kRecvCopySend:
      return "recvCopySend";
    case StepKind::kCopy:
      return "copy";
  }
  return "unknown";
}

bool stepReceives(StepKind kind) {
  return kind == StepKind::kRecv || kind == StepKind::kRecvReduce ||
         kind == StepKind::kRecvReduceSend || kind == StepKind::kRecvCopySend;
}

bool stepSends(StepKind kind) {
  return kind == StepKind::kSend || kind == StepKind::kRecvReduceSend ||
         kind == StepKind::kRecvCopySend;
}

bool stepReads(StepKind kind) {
  return kind == StepKind::kSend || kind == StepKind::kRecvReduce ||
         kind == StepKind::kRecvReduceSend || kind == StepKind::kCopy;
}

bool stepWrites(StepKind kind) { return kind != StepKind::kSend; }

void appendStep(Plan* plan, const Step& step) {
  if (step.count > 0) plan->steps.push_back(step);
}

void appendSend(Plan* plan, int peer, Region src, size_t count) {
  Step step;
  step.kind = StepKind::kSend;
  step.sendPeer = peer;
  step.src = src;
  step.count = count;
  appendStep(plan, step);
}

void appendRecv(Plan* plan, int peer, Region dst, size_t count) {
  Step step;
  step.kind = StepKind::kRecv;
  step.recvPeer = peer;
  step.dst = dst;
  step.count = count;
  appendStep(plan, step);
}

void appendCopy(Plan* plan, Region src, Region dst, size_t count) {
  Step step;
  step.kind = StepKind::kCopy;
  step.src = src;
  step.dst = dst;
  step.count = count;
  appendStep(plan, step);
}

bool startPlan(Plan* plan, Collective collective, const char* algorithm, int nranks, int rank,
               size_t count, int root) {
  plan->collective = collective;
  plan->algorithm = algorithm;
  plan->nranks = nranks;
  plan->rank = rank;
  plan->root = root;
  plan->count = count;
  if (count == 0) return true;
  if (nranks != 1) return false;
  Step copy;
  copy.kind = StepKind::kCopy;
  copy.src = Region{BufferId::kSend, 0};
  copy.dst = Region{BufferId::kRecv, 0};
  copy.count = count;
  copy.finalize = isReduction(collective);
  plan->steps.push_back(copy);
  return true;
}

std::vector<int> Plan::peers() const {
  std::vector<int> result;
  for (const Step& step : steps) {
    if (step.recvPeer >= 0) result.push_back(step.recvPeer);
    if (step.sendPeer >= 0) result.push_back(step.sendPeer);
  }
  std::sort(result.begin(), result.end());
  result.erase(std::unique(result.begin(), result.end()), result.end());
  return result;
}

size_t sendBufferCount(Collective coll, int nranks, size_t count, bool isRoot) {
  const size_t all = count * static_cast<size_t>(nranks);
  switch (coll) {
    case Collective::kReduceScatter:
    case Collective::kAllToAll:
      return all;
    case Collective::kBroadcast:
      return isRoot ? count : 0;
    case Collective::kScatter:
      return isRoot ? all : 0;
    default:
      return count;
  }
}

size_t recvBufferCount(Collective coll, int nranks, size_t count, bool isRoot) {
  const size_t all = count * static_cast<size_t>(nranks);
  switch (coll) {
    case Collective::kAllGather:
    case Collective::kAllToAll:
      return all;
    case Collective::kReduce:
      return isRoot ? count : 0;
    case Collective::kGather:
      return isRoot ? all : 0;
    default:
      return count;
  }
}

size_t callBytes(Collective coll, int nranks, size_t count, size_t elemSize) {
  return std::max(sendBufferCount(coll, nranks, count), recvBufferCount(coll, nranks, count)) *
         elemSize;
}

size_t chunkOffset(size_t count, int parts, int index) {
  size_t base = count / static_cast<size_t>(parts);
  size_t extra = count % static_cast<size_t>(parts);
  size_t i = static_cast<size_t>(index);
  return i * base + std::min(i, extra);
}

size_t chunkCount(size_t count, int parts, int index) {
  return chunkOffset(count, parts, index + 1) - chunkOffset(count, parts, index);
}

std::string describeStep(const Step& step) {
  auto region = [](const Region& r) {
    const char* name = r.buffer == BufferId::kSend   ? "send"
                       : r.buffer == BufferId::kRecv ? "recv"
                                                     : "scratch";
    return fmt::format("{}+{}", name, r.offset);
  };
  std::string text = fmt::format("{} count={}", stepKindName(step.kind), step.count);
  if (step.recvPeer >= 0) text += fmt::format(" from={}", step.recvPeer);
  if (step.sendPeer >= 0) text += fmt::format(" to={}", step.sendPeer);
  if (stepReads(step.kind)) text += " src=" + region(step.src);
  if (stepWrites(step.kind)) text += " dst=" + region(step.dst);
  if (step.finalize) text += " final";
  return text;
}

}  // namespace tutti
