#include "algo/tree.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "algo/powers_of_two.h"

namespace tutti {
namespace {

// The in-order binary tree on positions 1..n: position p with lowest set bit b is a leaf when
// p is odd; otherwise its left child is p - b/2 and its right child the position with the
// largest lowest bit in (p, min(p + b, n + 1)). The root is the largest power of two <= n, and
// every level down halves the lowest bit, so the depth is at most floor(log2 n).
struct InOrderTree {
  int root = 1;
  std::vector<int> parent;                 // by position, 0 at the root (index 0 unused)
  std::vector<std::vector<int>> children;  // by position

  explicit InOrderTree(int n)
      : root(largestPowerOfTwoAtMost(n)), parent(n + 1, 0), children(n + 1) {
    for (int p = 2; p <= n; p += 2) {
      const int half = (p & -p) / 2;
      const int left = p - half;
      children[p].push_back(left);
      parent[left] = p;
      const int rightSpan = std::min(half, n - p);
      if (rightSpan >= 1) {
        const int right = p + largestPowerOfTwoAtMost(rightSpan);
        children[p].push_back(right);
        parent[right] = p;
      }
    }
  }
};

// The ranks grouped by host, hosts compacted to 0..H-1 in increasing order of their index, each
// host's ranks in rank order (its chain; the first is the head).
struct Layout {
  std::vector<int> hostOf;               // by rank, compacted
  std::vector<std::vector<int>> chains;  // by host

  static std::optional<Layout> make(int nranks, const std::vector<int>& hostOfRank) {
    if (nranks < 1 || hostOfRank.size() != static_cast<size_t>(nranks)) return std::nullopt;
    std::vector<int> hosts = hostOfRank;
    std::sort(hosts.begin(), hosts.end());
    hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
    if (hosts.front() < 0) return std::nullopt;
    Layout layout;
    layout.chains.resize(hosts.size());
    for (int r = 0; r < nranks; ++r) {
      const int host = static_cast<int>(
          std::lower_bound(hosts.begin(), hosts.end(), hostOfRank[r]) - hosts.begin());
      layout.hostOf.push_back(host);
      layout.chains[host].push_back(r);
    }
    return layout;
  }
};

// One tree of ranks: the host tree with each host's chain hanging below its head. A head's
// children are the heads of its host's children, then its chain follower (the broadcast forwards
// to the first child slice by slice, and a subtree of hosts is usually deeper than the rest of a
// chain); a chain member's parent is its predecessor.
struct RankTree {
  int root = 0;
  std::vector<int> parent;                 // by rank, -1 at the root
  std::vector<std::vector<int>> children;  // by rank
  std::vector<int> depth;                  // by rank, 0 at the root
  int height = 0;                          // the largest depth

  RankTree(const Layout& layout, const DoubleBinaryTree& trees, int tree) {
    const int nranks = static_cast<int>(layout.hostOf.size());
    parent.assign(nranks, -1);
    children.assign(nranks, {});
    for (size_t host = 0; host < layout.chains.size(); ++host) {
      const std::vector<int>& chain = layout.chains[host];
      const int parentHost = trees.parent[tree][host];
      if (parentHost >= 0) parent[chain[0]] = layout.chains[parentHost][0];
      for (int childHost : trees.children[tree][host]) {
        children[chain[0]].push_back(layout.chains[childHost][0]);
      }
      for (size_t i = 1; i < chain.size(); ++i) {
        parent[chain[i]] = chain[i - 1];
        children[chain[i - 1]].push_back(chain[i]);
      }
    }
    root = layout.chains[trees.root[tree]][0];
    // Breadth first from the root.
    std::vector<int> order = {root};
    depth.assign(nranks, 0);
    for (size_t i = 0; i < order.size(); ++i) {
      for (int child : children[order[i]]) {
        depth[child] = depth[order[i]] + 1;
        height = std::max(height, depth[child]);
        order.push_back(child);
      }
    }
  }
};

// Reduce one chunk up: the children's partial sums are folded into recv (the first fold reads the
// input where it is), the last fold goes on to the parent, or at the root finalizes.
void appendReduce(Plan* plan, const RankTree& tree, size_t offset, size_t count) {
  const Region input{BufferId::kSend, offset};
  const Region output{BufferId::kRecv, offset};
  const int parent = tree.parent[plan->rank];
  const std::vector<int>& children = tree.children[plan->rank];
  if (children.empty()) {
    Step send;
    send.kind = StepKind::kSend;
    send.sendPeer = parent;
    send.src = input;
    send.count = count;
    appendStep(plan, send);
    return;
  }
  Region current = input;
  for (size_t i = 0; i < children.size(); ++i) {
    const bool last = i + 1 == children.size();
    Step step;
    step.recvPeer = children[i];
    step.src = current;
    step.dst = output;
    step.count = count;
    if (last && parent >= 0) {
      step.kind = StepKind::kRecvReduceSend;
      step.sendPeer = parent;
    } else {
      step.kind = StepKind::kRecvReduce;
      step.finalize = last;  // last and no parent: the root
    }
    appendStep(plan, step);
    current = output;
  }
}

// Broadcast one finished chunk down: received from the parent into recv (forwarded to the first
// child slice by slice), then sent to the other children.
void appendBroadcast(Plan* plan, const RankTree& tree, size_t offset, size_t count) {
  const Region output{BufferId::kRecv, offset};
  const int parent = tree.parent[plan->rank];
  const std::vector<int>& children = tree.children[plan->rank];
  size_t firstSend = 0;
  if (parent >= 0) {
    Step recv;
    recv.recvPeer = parent;
    recv.dst = output;
    recv.count = count;
    if (children.empty()) {
      recv.kind = StepKind::kRecv;
    } else {
      recv.kind = StepKind::kRecvCopySend;
      recv.sendPeer = children[0];
      firstSend = 1;
    }
    appendStep(plan, recv);
  }
  for (size_t i = firstSend; i < children.size(); ++i) {
    Step send;
    send.kind = StepKind::kSend;
    send.sendPeer = children[i];
    send.src = output;
    send.count = count;
    appendStep(plan, send);
  }
}

CostTerms treeCostTerms(Collective collective, const CostShape& shape) {
  const double n = shape.n;
  const double s = shape.s;
  const int perHost = shape.perHost;
  // Reduce up a chain and a binary tree, then broadcast back down, both trees at once, each
  // carrying half (tree.h), in chunks of 32 Ki elements (counted as 4-byte ones here). The
  // latency is the first chunk's 2 x height hops; later chunks follow in the pipeline, their
  // latency hidden behind the bytes (NCCL's tree latency has no per-chunk term:
  // ncclTopoTuneModel, src/graph/tuning.cc).
  const double chunks = std::min<double>(
      kTreeMaxChunks, std::max<double>(1, std::ceil(s / 2 / (kTreeChunkElements * 4.0))));
  CostTerms terms;
  terms.intraRounds = 2.0 * (perHost - 1);
  terms.interRounds = shape.crossesHosts ? 2.0 * floorLog2(shape.nhosts) : 0;
  // Every tree edge carries S/2 up and S/2 down in each tree; every rank but a tree's root has
  // its S/2 reduced once into its parent's: on average 2(n-1)/n S sent and (n-1)/n S reduced,
  // what ring moves.
  terms.averageWireBytes = 2 * (n - 1) / n * s;
  terms.averageReducedBytes = (n - 1) / n * s;
  // Per half, a chain member sends S/2 up and S/2 down (its tail only up): 2 S for a middle
  // member, S with two ranks on the host; it reduces S/2 from its follower. A head sends S/2 to
  // its tree parent and to each tree child and reduces S/2 from each tree child and its
  // follower, summed over both trees; the busiest host counts.
  terms.intraWireBytes = perHost > 2 ? 2 * s : perHost == 2 ? s : 0;
  terms.reducedBytes = perHost > 1 ? s : 0;
  const DoubleBinaryTree trees = doubleBinaryTree(shape.nhosts);
  for (int host = 0; host < shape.nhosts; ++host) {
    int sent = 0;
    int reduced = perHost > 1 ? 2 : 0;
    for (int t = 0; t < 2; ++t) {
      const int children = static_cast<int>(trees.children[t][host].size());
      sent += (trees.parent[t][host] >= 0 ? 1 : 0) + children;
      reduced += children;
    }
    if (shape.crossesHosts) terms.interWireBytes = std::max(terms.interWireBytes, sent * s / 2);
    terms.reducedBytes = std::max(terms.reducedBytes, reduced * s / 2);
  }
  terms.messageBytes = s / 2 / chunks;
  return terms;
}

bool treeApplies(Collective collective, int, const HostShape&) { return treeSupports(collective); }

std::optional<Plan> treePlanOnLayout(Collective collective, int nranks, int rank, size_t count, int,
                                     const std::vector<int>& hostOfRank) {
  return treePlan(collective, nranks, rank, count, hostOfRank);
}

}  // namespace

const AlgorithmEntry kTreeAlgorithm = {
    "tree", nullptr, &treeApplies, &treePlanOnLayout, &treePeers, &treeCostTerms,
};

DoubleBinaryTree doubleBinaryTree(int nhosts) {
  DoubleBinaryTree trees;
  if (nhosts < 1) return trees;
  const InOrderTree shape(nhosts);
  // Which host sits at in-order position p. Tree 0: host p - 1, interior hosts odd. Tree 1 for
  // even H is the mirror (host H - p, interior hosts even); for odd H the shift by one (host
  // p mod H, interior hosts even and >= 2; host 0 is a leaf in both).
  auto hostAt = [nhosts](int tree, int p) {
    if (tree == 0) return p - 1;
    return nhosts % 2 == 0 ? nhosts - p : p % nhosts;
  };
  for (int t = 0; t < 2; ++t) {
    trees.parent[t].assign(nhosts, -1);
    trees.children[t].assign(nhosts, {});
    trees.root[t] = hostAt(t, shape.root);
    for (int p = 1; p <= nhosts; ++p) {
      const int host = hostAt(t, p);
      if (shape.parent[p] > 0) trees.parent[t][host] = hostAt(t, shape.parent[p]);
      for (int child : shape.children[p]) trees.children[t][host].push_back(hostAt(t, child));
    }
  }
  return trees;
}

int defaultTreeChunks(size_t count) {
  const size_t half = (count + 1) / 2;
  const size_t chunks = (half + kTreeChunkElements - 1) / kTreeChunkElements;
  return static_cast<int>(std::clamp<size_t>(chunks, 1, kTreeMaxChunks));
}

int treeHeight(int nranks, const std::vector<int>& hostOfRank) {
  const std::optional<Layout> layout = Layout::make(nranks, hostOfRank);
  if (!layout) return 0;
  const DoubleBinaryTree trees = doubleBinaryTree(static_cast<int>(layout->chains.size()));
  const RankTree tree0(*layout, trees, 0);
  const RankTree tree1(*layout, trees, 1);
  return std::max(tree0.height, tree1.height);
}

bool treeSupports(Collective collective) { return collective == Collective::kAllReduce; }

std::optional<Plan> treePlan(Collective collective, int nranks, int rank, size_t count,
                             const std::vector<int>& hostOfRank, int chunksPerHalf) {
  if (!treeSupports(collective) || rank < 0 || rank >= nranks) return std::nullopt;
  const std::optional<Layout> layout = Layout::make(nranks, hostOfRank);
  if (!layout) return std::nullopt;
  Plan plan;
  if (startPlan(&plan, collective, "tree", nranks, rank, count)) return plan;

  const DoubleBinaryTree trees = doubleBinaryTree(static_cast<int>(layout->chains.size()));
  const RankTree tree[2] = {RankTree(*layout, trees, 0), RankTree(*layout, trees, 1)};
  const int chunks = chunksPerHalf > 0 ? chunksPerHalf : defaultTreeChunks(count);

  // The schedule: each group of steps (reduce or broadcast one chunk of one tree) gets the round
  // in which it could run if every message took one round and chunk k left the deepest leaves in
  // round k. Reducing chunk k at depth d of a tree of height h: round k + h - d, one after its
  // children's; broadcasting it: round k + h + d, one after its parent's. A rank runs its groups
  // in round order (reduce before broadcast, tree 0 before tree 1 within a round), so every
  // receive waits for a send of an earlier round: no deadlock. Every message arrives exactly one
  // round after it was sent, so both ends of a pair order their messages alike. At depth d the
  // broadcast of chunk k comes 2d chunks after its reduction, when it can first arrive: both
  // directions and both trees are in flight, and neither tree's waits hold up the other's.
  struct Group {
    long round;
    int phase;  // 0 reduce, 1 broadcast
    int tree;
    int chunk;
  };
  std::vector<Group> groups;
  for (int t = 0; t < 2; ++t) {
    const int depth = tree[t].depth[rank];
    for (int k = 0; k < chunks; ++k) {
      const long start = static_cast<long>(k) + tree[t].height;
      groups.push_back({start - depth, 0, t, k});
      groups.push_back({start + depth, 1, t, k});
    }
  }
  std::sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    return std::tie(a.round, a.phase, a.tree, a.chunk) <
           std::tie(b.round, b.phase, b.tree, b.chunk);
  });

  // Tree 0 carries the first half (the larger one when count is odd), tree 1 the second.
  const size_t halfOffset[2] = {0, chunkOffset(count, 2, 1)};
  const size_t halfCount[2] = {chunkCount(count, 2, 0), chunkCount(count, 2, 1)};
  for (const Group& group : groups) {
    const size_t offset =
        halfOffset[group.tree] + chunkOffset(halfCount[group.tree], chunks, group.chunk);
    const size_t size = chunkCount(halfCount[group.tree], chunks, group.chunk);
    if (group.phase == 0) {
      appendReduce(&plan, tree[group.tree], offset, size);
    } else {
      appendBroadcast(&plan, tree[group.tree], offset, size);
    }
  }
  return plan;
}

std::vector<int> treePeers(int nranks, int rank, const std::vector<int>& hostOfRank) {
  std::vector<int> peers;
  if (nranks < 2 || rank < 0 || rank >= nranks) return peers;
  const std::optional<Layout> layout = Layout::make(nranks, hostOfRank);
  if (!layout) return peers;
  const DoubleBinaryTree trees = doubleBinaryTree(static_cast<int>(layout->chains.size()));
  for (int t = 0; t < 2; ++t) {
    const RankTree tree(*layout, trees, t);
    if (tree.parent[rank] >= 0) peers.push_back(tree.parent[rank]);
    peers.insert(peers.end(), tree.children[rank].begin(), tree.children[rank].end());
  }
  std::sort(peers.begin(), peers.end());
  peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
  return peers;
}

}  // namespace tutti
