#include "algo/binomial_tree.h"

#include <algorithm>
#include <cmath>

#include "algo/powers_of_two.h"

namespace tutti {
namespace {

int wrap(int value, int n) { return ((value % n) + n) % n; }

// The smallest power of two >= n, the root's span; 1 for n < 2.
int rootSpan(int n) {
  int span = 1;
  while (span < n) span *= 2;
  return span;
}

// One rank's place in the tree of a call: parent and children as ranks, children largest
// subtree first.
struct BinomialNode {
  int parent = -1;
  std::vector<int> children;

  BinomialNode(int nranks, int rank, int root) {
    const int v = wrap(rank - root, nranks);
    const int lowest = v == 0 ? rootSpan(nranks) : (v & -v);
    if (v != 0) parent = wrap(v - lowest + root, nranks);
    for (int m = lowest / 2; m >= 1; m /= 2) {
      if (v + m < nranks) children.push_back(wrap(v + m + root, nranks));
    }
  }
};

void appendBroadcastChunk(Plan* plan, const BinomialNode& node, size_t offset, size_t count) {
  const Region output{BufferId::kRecv, offset};
  size_t firstSend = 0;
  if (node.parent >= 0) {
    Step recv;
    recv.recvPeer = node.parent;
    recv.dst = output;
    recv.count = count;
    if (node.children.empty()) {
      recv.kind = StepKind::kRecv;
    } else {
      recv.kind = StepKind::kRecvCopySend;
      recv.sendPeer = node.children[0];
      firstSend = 1;
    }
    appendStep(plan, recv);
  }
  // The root sends from its input: the copy into recv (after all sends) need not come first.
  const Region source = node.parent >= 0 ? output : Region{BufferId::kSend, offset};
  for (size_t i = firstSend; i < node.children.size(); ++i) {
    Step send;
    send.kind = StepKind::kSend;
    send.sendPeer = node.children[i];
    send.src = source;
    send.count = count;
    appendStep(plan, send);
  }
}

void appendReduceChunk(Plan* plan, const BinomialNode& node, size_t offset, size_t count) {
  const Region input{BufferId::kSend, offset};
  const bool root = node.parent < 0;
  const Region output = root ? Region{BufferId::kRecv, offset} : Region{BufferId::kScratch, offset};
  if (node.children.empty()) {
    Step send;
    send.kind = StepKind::kSend;
    send.sendPeer = node.parent;
    send.src = input;
    send.count = count;
    appendStep(plan, send);
    return;
  }
  Region current = input;
  // Smallest subtree first: the order children finish in.
  for (size_t i = node.children.size(); i-- > 0;) {
    const bool last = i == 0;
    Step step;
    step.recvPeer = node.children[i];
    step.src = current;
    step.dst = output;
    step.count = count;
    if (last && !root) {
      step.kind = StepKind::kRecvReduceSend;
      step.sendPeer = node.parent;
    } else {
      step.kind = StepKind::kRecvReduce;
      step.finalize = last;
    }
    appendStep(plan, step);
    current = output;
  }
}

CostTerms binomialTreeCostTerms(Collective collective, const CostShape& shape) {
  const double s = shape.s;
  const double levels = std::ceil(std::log2(std::max(1, shape.nranks)));
  // Levels whose edges span at least a host's ranks cross hosts (ranks contiguous on hosts).
  const double intraLevels =
      shape.crossesHosts ? std::min<double>(levels, floorLog2(std::max(1, shape.perHost))) : levels;
  const double chunks = std::min<double>(
      kBinomialMaxChunks, std::max<double>(1, std::ceil(s / (kBinomialChunkElements * 4.0))));
  CostTerms terms;
  terms.intraRounds = intraLevels;
  terms.interRounds = levels - intraLevels;
  // The root handles S per child (log2 n children); the average rank about S (n - 1 edges).
  terms.intraWireBytes = collective == Collective::kBroadcast ? levels * s : s;
  terms.interWireBytes =
      shape.crossesHosts ? (collective == Collective::kBroadcast ? terms.interRounds : 1) * s : 0;
  terms.reducedBytes = collective == Collective::kReduce ? levels * s : 0;
  terms.messageBytes = s / chunks;
  terms.averageWireBytes = (shape.n - 1) / shape.n * s;
  terms.averageReducedBytes = collective == Collective::kReduce ? (shape.n - 1) / shape.n * s : 0;
  return terms;
}

bool binomialTreeApplies(Collective collective, int, const HostShape&) {
  return binomialTreeSupports(collective);
}

std::optional<Plan> binomialTreePlanOnLayout(Collective collective, int nranks, int rank,
                                             size_t count, int root, const std::vector<int>&) {
  return binomialTreePlan(collective, nranks, rank, count, root);
}

std::vector<int> binomialTreePeersOnLayout(int nranks, int rank, const std::vector<int>&) {
  return binomialTreePeers(nranks, rank);
}

}  // namespace

const AlgorithmEntry kBinomialTreeAlgorithm = {
    "binomial",
    "binomial_tree",
    &binomialTreeApplies,
    &binomialTreePlanOnLayout,
    &binomialTreePeersOnLayout,
    &binomialTreeCostTerms,
};

bool binomialTreeSupports(Collective collective) {
  return collective == Collective::kBroadcast || collective == Collective::kReduce;
}

int defaultBinomialChunks(size_t count) {
  const size_t chunks = (count + kBinomialChunkElements - 1) / kBinomialChunkElements;
  return static_cast<int>(std::clamp<size_t>(chunks, 1, kBinomialMaxChunks));
}

std::optional<Plan> binomialTreePlan(Collective collective, int nranks, int rank, size_t count,
                                     int root, int chunks) {
  if (!binomialTreeSupports(collective) || nranks < 1 || rank < 0 || rank >= nranks || root < 0 ||
      root >= nranks) {
    return std::nullopt;
  }
  Plan plan;
  if (startPlan(&plan, collective, "binomial", nranks, rank, count, root)) return plan;
  const BinomialNode node(nranks, rank, root);
  const int parts = chunks > 0 ? chunks : defaultBinomialChunks(count);
  const bool isRoot = rank == root;
  if (collective == Collective::kReduce && !isRoot) plan.scratchCount = count;
  for (int k = 0; k < parts; ++k) {
    const size_t offset = chunkOffset(count, parts, k);
    const size_t size = chunkCount(count, parts, k);
    if (collective == Collective::kBroadcast) {
      appendBroadcastChunk(&plan, node, offset, size);
    } else {
      appendReduceChunk(&plan, node, offset, size);
    }
  }
  if (collective == Collective::kBroadcast && isRoot) {
    appendCopy(&plan, Region{BufferId::kSend, 0}, Region{BufferId::kRecv, 0}, count);
  }
  return plan;
}

std::vector<int> binomialTreePeers(int nranks, int rank) {
  std::vector<int> peers;
  if (nranks < 2 || rank < 0 || rank >= nranks) return peers;
  for (int m = 1; m < nranks; m *= 2) {
    peers.push_back(wrap(rank + m, nranks));
    peers.push_back(wrap(rank - m, nranks));
  }
  std::sort(peers.begin(), peers.end());
  peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
  peers.erase(std::remove(peers.begin(), peers.end(), rank), peers.end());
  return peers;
}

}  // namespace tutti
