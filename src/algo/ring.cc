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

CostTerms ringCostTerms(Collective collective, const CostShape& shape) {
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

bool ringApplies(Collective, int, const HostShape&) { return true; }

std::optional<Plan> ringPlanOnLayout(Collective collective, int nranks, int rank, size_t count,
                                     const std::vector<int>&) {
  return ringPlan(collective, nranks, rank, count);
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

Plan ringPlan(Collective collective, int nranks, int rank, size_t count) {
  Plan plan;
  if (startPlan(&plan, collective, "ring", nranks, rank, count)) return plan;

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
  }
  return plan;
}

}  // namespace tutti
