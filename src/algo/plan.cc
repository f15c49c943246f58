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
  }
  return "unknown";
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

bool startPlan(Plan* plan, Collective collective, const char* algorithm, int nranks, int rank,
               size_t count) {
  plan->collective = collective;
  plan->algorithm = algorithm;
  plan->nranks = nranks;
  plan->rank = rank;
  plan->count = count;
  if (count == 0) return true;
  if (nranks != 1) return false;
  Step copy;
  copy.kind = StepKind::kCopy;
  copy.src = Region{BufferId::kSend, 0};
  copy.dst = Region{BufferId::kRecv, 0};
  copy.count = count;
  copy.finalize = collective != Collective::kAllGather;
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

size_t sendBufferCount(Collective coll, int nranks, size_t count) {
  return coll == Collective::kReduceScatter ? count * static_cast<size_t>(nranks) : count;
}

size_t recvBufferCount(Collective coll, int nranks, size_t count) {
  return coll == Collective::kAllGather ? count * static_cast<size_t>(nranks) : count;
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
