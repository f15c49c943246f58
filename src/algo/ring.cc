#include "algo/ring.h"

#include <functional>

namespace tutti {
namespace {

int wrap(int value, int n) { return ((value % n) + n) % n; }

using RegionOf = std::function<Region(int chunk)>;
using CountOf = std::function<size_t(int chunk)>;

// Reduce-scatter around the ring: the rank ends with chunk `rank` reduced over all ranks in
// finalDst. Partial sums of other chunks go to partialDst(chunk) and travel on.
void appendReduceScatter(Plan* plan, const RegionOf& src, const RegionOf& partialDst,
                         Region finalDst, const CountOf& count) {
  const int n = plan->nranks;
  const int r = plan->rank;
  const int next = wrap(r + 1, n);
  const int prev = wrap(r - 1, n);
  Step first;
  first.kind = StepKind::kSend;
  first.sendPeer = next;
  first.src = src(wrap(r - 1, n));
  first.count = count(wrap(r - 1, n));
  appendStep(plan, first);
  for (int t = 1; t <= n - 2; ++t) {
    int chunk = wrap(r - t - 1, n);
    Step step;
    step.kind = StepKind::kRecvReduceSend;
    step.recvPeer = prev;
    step.sendPeer = next;
    step.src = src(chunk);
    step.dst = partialDst(chunk);
    step.count = count(chunk);
    appendStep(plan, step);
  }
  Step last;
  last.kind = StepKind::kRecvReduce;
  last.recvPeer = prev;
  last.src = src(r);
  last.dst = finalDst;
  last.count = count(r);
  last.finalize = true;
  appendStep(plan, last);
}

// All-gather around the ring: chunk `rank` is already in dst(rank); every other chunk arrives
// from the previous rank and is forwarded to the next, except the last one.
// localCopy, when given, puts chunk `rank` in place from elsewhere (all-gather's own block): the
// first send then reads the copy's source, and the copy runs after it, so that the peer's
// transfer overlaps this rank's local copy instead of waiting for it.
void appendAllGather(Plan* plan, const RegionOf& dst, const CountOf& count,
                     const Step* localCopy = nullptr) {
  const int n = plan->nranks;
  const int r = plan->rank;
  const int next = wrap(r + 1, n);
  const int prev = wrap(r - 1, n);
  Step first;
  first.kind = StepKind::kSend;
  first.sendPeer = next;
  first.src = localCopy != nullptr ? localCopy->src : dst(r);
  first.count = count(r);
  appendStep(plan, first);
  if (localCopy != nullptr) plan->steps.push_back(*localCopy);
  for (int s = 1; s <= n - 2; ++s) {
    int chunk = wrap(r - s, n);
    Step step;
    step.kind = StepKind::kRecvCopySend;
    step.recvPeer = prev;
    step.sendPeer = next;
    step.dst = dst(chunk);
    step.count = count(chunk);
    appendStep(plan, step);
  }
  Step last;
  last.kind = StepKind::kRecv;
  last.recvPeer = prev;
  last.dst = dst(wrap(r + 1, n));
  last.count = count(wrap(r + 1, n));
  appendStep(plan, last);
}

// Broadcast down the chain root, root+1, ..., root-1: each rank stores what its predecessor
// sends and forwards it; the executor forwards slice by slice, so the chain pipelines.
void appendChainBroadcast(Plan* plan) {
  const int n = plan->nranks;
  const int r = plan->rank;
  const int position = wrap(r - plan->root, n);
  Step step;
  step.count = plan->count;
  step.dst = Region{BufferId::kRecv, 0};
  if (position == 0) {
    step.kind = StepKind::kSend;
    step.sendPeer = wrap(r + 1, n);
    step.src = Region{BufferId::kSend, 0};
    appendStep(plan, step);
    // After the send, so that the successor's transfer overlaps the local copy (a no-op in
    // place).
    appendCopy(plan, Region{BufferId::kSend, 0}, Region{BufferId::kRecv, 0}, plan->count);
    return;
  }
  step.recvPeer = wrap(r - 1, n);
  if (position < n - 1) {
    step.kind = StepKind::kRecvCopySend;
    step.sendPeer = wrap(r + 1, n);
  } else {
    step.kind = StepKind::kRecv;
  }
  appendStep(plan, step);
}

// Reduce up the chain root-1, root-2, ..., root: each rank folds its input into its
// successor's partial result and passes it on; partial results live in scratch, so a rank off
// the root never writes its recv buffer (NULL there, or its input when in place).
void appendChainReduce(Plan* plan) {
  const int n = plan->nranks;
  const int r = plan->rank;
  const int position = wrap(r - plan->root, n);
  Step step;
  step.count = plan->count;
  step.src = Region{BufferId::kSend, 0};
  if (position == n - 1) {
    step.kind = StepKind::kSend;
    step.sendPeer = wrap(r - 1, n);
    appendStep(plan, step);
    return;
  }
  step.recvPeer = wrap(r + 1, n);
  if (position == 0) {
    step.kind = StepKind::kRecvReduce;
    step.dst = Region{BufferId::kRecv, 0};
    step.finalize = true;
  } else {
    plan->scratchCount = plan->count;
    step.kind = StepKind::kRecvReduceSend;
    step.sendPeer = wrap(r - 1, n);
    step.dst = Region{BufferId::kScratch, 0};
  }
  appendStep(plan, step);
}

// Broadcast and reduce along the chain: one pass of n - 1 hops, the whole buffer over every
// link; the executor's slices pipeline it, so the bytes cost S once and the latency is the
// first slice's n - 1 hops (NCCL's ring broadcast and reduce, nccl-tests' busbw factor 1).
CostTerms chainCostTerms(Collective collective, const CostShape& shape) {
  const double n = shape.n;
  const double s = shape.s;
  CostTerms terms;
  terms.interRounds = shape.nhosts - 1;
  terms.intraRounds = (n - 1) - terms.interRounds;
  terms.intraWireBytes = s;
  terms.interWireBytes = shape.crossesHosts ? s : 0;
  terms.reducedBytes = collective == Collective::kReduce ? s : 0;
  terms.messageBytes = s;
  // The chain's last rank sends nothing (broadcast), the root nothing (reduce).
  terms.averageWireBytes = (n - 1) / n * s;
  terms.averageReducedBytes = collective == Collective::kReduce ? (n - 1) / n * s : 0;
  return terms;
}

CostTerms ringCostTerms(Collective collective, const CostShape& shape) {
  if (collective == Collective::kBroadcast || collective == Collective::kReduce) {
    return chainCostTerms(collective, shape);
  }
  // A rank's step waits only for its predecessor's, so the latency is that of the hops a chunk
  // travels: n - 1 per pass around the ring, of which H - 1 leave a host (NCCL counts ring
  // latency so: nInterSteps in ncclTopoTuneModel, src/graph/tuning.cc). One ring edge leaves
  // each host, carrying what any edge carries.
  const double n = shape.n;
  const double s = shape.s;
  const double passes = collective == Collective::kAllReduce ? 2 : 1;
  const double rounds = passes * (n - 1);
  const double wire = rounds / n * s;
  CostTerms terms;
  terms.interRounds = passes * (shape.nhosts - 1);
  terms.intraRounds = rounds - terms.interRounds;
  terms.intraWireBytes = wire;
  terms.interWireBytes = shape.crossesHosts ? wire : 0;
  terms.reducedBytes = collective != Collective::kAllGather ? (n - 1) / n * s : 0;
  terms.messageBytes = s / n;
  terms.averageWireBytes = wire;  // every rank alike
  terms.averageReducedBytes = terms.reducedBytes;
  return terms;
}

bool ringApplies(Collective collective, int, const HostShape&) { return ringSupports(collective); }

std::optional<Plan> ringPlanOnLayout(Collective collective, int nranks, int rank, size_t count,
                                     int root, const std::vector<int>&) {
  if (!ringSupports(collective)) return std::nullopt;
  return ringPlan(collective, nranks, rank, count, root);
}

// Its successor and predecessor.
std::vector<int> ringPeers(int nranks, int rank, const std::vector<int>&) {
  if (nranks < 2) return {};
  return {(rank + 1) % nranks, (rank + nranks - 1) % nranks};
}

}  // namespace

const AlgorithmEntry kRingAlgorithm = {
    "ring", nullptr, &ringApplies, &ringPlanOnLayout, &ringPeers, &ringCostTerms,
};

bool ringSupports(Collective collective) {
  return collective == Collective::kAllReduce || collective == Collective::kAllGather ||
         collective == Collective::kReduceScatter || collective == Collective::kBroadcast ||
         collective == Collective::kReduce;
}

Plan ringPlan(Collective collective, int nranks, int rank, size_t count, int root) {
  Plan plan;
  if (startPlan(&plan, collective, "ring", nranks, rank, count, root)) return plan;

  const int n = nranks;
  switch (collective) {
    case Collective::kAllReduce: {
      auto offset = [=](int chunk) { return chunkOffset(count, n, chunk); };
      CountOf size = [=](int chunk) { return chunkCount(count, n, chunk); };
      RegionOf src = [=](int c) { return Region{BufferId::kSend, offset(c)}; };
      RegionOf out = [=](int c) { return Region{BufferId::kRecv, offset(c)}; };
      appendReduceScatter(&plan, src, out, out(rank), size);
      appendAllGather(&plan, out, size);
      break;
    }
    case Collective::kAllGather: {
      Step copy;
      copy.kind = StepKind::kCopy;
      copy.src = Region{BufferId::kSend, 0};
      copy.dst = Region{BufferId::kRecv, static_cast<size_t>(rank) * count};
      copy.count = count;
      CountOf size = [=](int) { return count; };
      RegionOf out = [=](int c) { return Region{BufferId::kRecv, static_cast<size_t>(c) * count}; };
      appendAllGather(&plan, out, size, &copy);
      break;
    }
    case Collective::kReduceScatter: {
      plan.scratchCount = static_cast<size_t>(n) * count;
      CountOf size = [=](int) { return count; };
      RegionOf src = [=](int c) { return Region{BufferId::kSend, static_cast<size_t>(c) * count}; };
      RegionOf partial = [=](int c) {
        return Region{BufferId::kScratch, static_cast<size_t>(c) * count};
      };
      appendReduceScatter(&plan, src, partial, Region{BufferId::kRecv, 0}, size);
      break;
    }
    case Collective::kBroadcast:
      appendChainBroadcast(&plan);
      break;
    case Collective::kReduce:
      appendChainReduce(&plan);
      break;
    default:
      break;  // ringSupports: not served
  }
  return plan;
}

}  // namespace tutti
