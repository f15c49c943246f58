#include "algo/direct.h"

namespace tutti {
namespace {

int wrap(int value, int n) { return ((value % n) + n) % n; }

Region block(BufferId buffer, int index, size_t count) {
  return Region{buffer, static_cast<size_t>(index) * count};
}

void addSend(Plan* plan, int peer, Region src) { appendSend(plan, peer, src, plan->count); }
void addRecv(Plan* plan, int peer, Region dst) { appendRecv(plan, peer, dst, plan->count); }
void addCopy(Plan* plan, Region src, Region dst) { appendCopy(plan, src, dst, plan->count); }

void appendAllToAll(Plan* plan) {
  const int n = plan->nranks;
  const int r = plan->rank;
  const size_t c = plan->count;
  for (int k = 1; k < n; ++k) {
    const int to = wrap(r + k, n);
    addSend(plan, to, block(BufferId::kSend, to, c));
    if (k == 1) addCopy(plan, block(BufferId::kSend, r, c), block(BufferId::kRecv, r, c));
  }
  for (int k = 1; k < n; ++k) {
    const int from = wrap(r - k, n);
    addRecv(plan, from, block(BufferId::kRecv, from, c));
  }
}

void appendGather(Plan* plan) {
  const int n = plan->nranks;
  const int r = plan->rank;
  const int root = plan->root;
  const size_t c = plan->count;
  if (r != root) {
    addSend(plan, root, Region{BufferId::kSend, 0});
    return;
  }
  // The receives are posted ahead of this copy by the executor, so the copy overlaps them.
  addCopy(plan, Region{BufferId::kSend, 0}, block(BufferId::kRecv, r, c));
  for (int k = 1; k < n; ++k) {
    const int from = wrap(root + k, n);
    addRecv(plan, from, block(BufferId::kRecv, from, c));
  }
}

void appendScatter(Plan* plan) {
  const int n = plan->nranks;
  const int r = plan->rank;
  const int root = plan->root;
  const size_t c = plan->count;
  if (r != root) {
    addRecv(plan, root, Region{BufferId::kRecv, 0});
    return;
  }
  for (int k = 1; k < n; ++k) {
    const int to = wrap(root + k, n);
    addSend(plan, to, block(BufferId::kSend, to, c));
    if (k == 1) addCopy(plan, block(BufferId::kSend, r, c), Region{BufferId::kRecv, 0});
  }
}

CostTerms directCostTerms(Collective collective, const CostShape& shape) {
  const double n = shape.n;
  const double s = shape.s;
  CostTerms terms;
  // One round: every message is in flight at once. The busiest rank (any rank for all-to-all,
  // the root for gather and scatter) moves (n-1)/n x S; the ranks off the root S/n.
  terms.intraRounds = shape.crossesHosts ? 0 : 1;
  terms.interRounds = shape.crossesHosts ? 1 : 0;
  terms.intraWireBytes = (n - 1) / n * s;
  // A host sends what its ranks send to other hosts.
  const double offHost = (n - shape.perHost) / n * s;
  terms.interWireBytes =
      shape.crossesHosts ? (collective == Collective::kAllToAll ? shape.perHost * offHost : offHost)
                         : 0;
  terms.messageBytes = s / n;
  terms.averageWireBytes =
      collective == Collective::kAllToAll ? terms.intraWireBytes : (n - 1) / n * s / n;
  return terms;
}

bool directApplies(Collective collective, int, const HostShape&) {
  return directSupports(collective);
}

std::optional<Plan> directPlanOnLayout(Collective collective, int nranks, int rank, size_t count,
                                       int root, const std::vector<int>&) {
  return directPlan(collective, nranks, rank, count, root);
}

std::vector<int> directPeersOnLayout(int nranks, int rank, const std::vector<int>&) {
  return directPeers(nranks, rank);
}

}  // namespace

const AlgorithmEntry kDirectAlgorithm = {
    "direct",         "pairwise", &directApplies, &directPlanOnLayout, &directPeersOnLayout,
    &directCostTerms,
};

bool directSupports(Collective collective) {
  return collective == Collective::kAllToAll || collective == Collective::kGather ||
         collective == Collective::kScatter;
}

std::optional<Plan> directPlan(Collective collective, int nranks, int rank, size_t count,
                               int root) {
  if (!directSupports(collective) || nranks < 1 || rank < 0 || rank >= nranks || root < 0 ||
      root >= nranks) {
    return std::nullopt;
  }
  Plan plan;
  if (startPlan(&plan, collective, "direct", nranks, rank, count, root)) return plan;
  switch (collective) {
    case Collective::kAllToAll:
      appendAllToAll(&plan);
      break;
    case Collective::kGather:
      appendGather(&plan);
      break;
    case Collective::kScatter:
      appendScatter(&plan);
      break;
    default:
      break;
  }
  return plan;
}

std::vector<int> directPeers(int nranks, int rank) {
  std::vector<int> peers;
  for (int r = 0; r < nranks; ++r) {
    if (r != rank) peers.push_back(r);
  }
  return peers;
}

}  // namespace tutti
