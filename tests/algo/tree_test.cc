#include "algo/tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "algo/plan_verify.h"

namespace tutti {
namespace {

int log2Floor(int n) {
  int log = 0;
  while ((2 << log) <= n) ++log;
  return log;
}

struct HostLayout {
  std::string name;
  std::vector<int> hostOfRank;
};

// Host layouts for n ranks: one host, a host per rank, 2..4 hosts of equal (or off-by-one) and
// skewed sizes, and hosts whose ranks are interleaved or scattered. Duplicates are dropped.
std::vector<HostLayout> layoutsFor(int n) {
  std::vector<HostLayout> layouts;
  std::set<std::vector<int>> seen;
  auto add = [&](std::string name, std::vector<int> hosts) {
    if (seen.insert(hosts).second) layouts.push_back({std::move(name), std::move(hosts)});
  };
  auto make = [n](auto hostOf) {
    std::vector<int> hosts(n);
    for (int r = 0; r < n; ++r) hosts[r] = hostOf(r);
    return hosts;
  };
  add("one host", make([](int) { return 0; }));
  add("a host per rank", make([](int r) { return r; }));
  for (int h = 2; h <= 4 && h <= n; ++h) {
    const std::string hosts = std::to_string(h) + " hosts";
    add(hosts + " in blocks", make([=](int r) { return r * h / n; }));
    // The first host holds half the ranks, the others share the rest.
    const int big = n / 2;
    if (n - big >= h - 1) {
      add(hosts + " skewed",
          make([=](int r) { return r < big ? 0 : 1 + (r - big) * (h - 1) / (n - big); }));
    }
    add(hosts + " interleaved", make([=](int r) { return r % h; }));
  }
  if (n >= 3) add("3 hosts scattered", make([](int r) { return (r * 7 + 2) % 3; }));
  return layouts;
}

std::vector<Plan> allPlans(int nranks, size_t count, const std::vector<int>& hosts,
                           int chunksPerHalf = 0) {
  std::vector<Plan> plans;
  for (int r = 0; r < nranks; ++r) {
    std::optional<Plan> plan =
        treePlan(Collective::kAllReduce, nranks, r, count, hosts, chunksPerHalf);
    EXPECT_TRUE(plan.has_value()) << "n=" << nranks << " rank " << r;
    if (plan) plans.push_back(std::move(*plan));
  }
  return plans;
}

std::string describe(int n, const HostLayout& layout, size_t count, int chunks) {
  return "n=" + std::to_string(n) + " (" + layout.name + ") count=" + std::to_string(count) +
         " chunks=" + std::to_string(chunks);
}

enum class Placement { kBoth, kOutOfPlace, kInPlace };

void expectVerified(int n, const HostLayout& layout, size_t count, int chunks,
                    Placement placement = Placement::kBoth) {
  const std::vector<Plan> plans = allPlans(n, count, layout.hostOfRank, chunks);
  for (bool inPlace : {false, true}) {
    if (placement == (inPlace ? Placement::kOutOfPlace : Placement::kInPlace)) continue;
    VerifyResult result = verifyPlans(plans, inPlace);
    ASSERT_TRUE(result.ok) << describe(n, layout, count, chunks) << (inPlace ? " in-place" : "")
                           << ": " << result.problem;
  }
}

int depthOf(const std::vector<int>& parent, int node) {
  int depth = 0;
  for (int up = parent[node]; up >= 0; up = parent[up]) {
    ++depth;
    if (depth > static_cast<int>(parent.size())) return -1;  // a cycle
  }
  return depth;
}

TEST(TreeTest, DoubleBinaryTreesSpanTheHostsWithLogDepthAndDisjointInteriors) {
  for (int h = 1; h <= 1100; ++h) {
    const DoubleBinaryTree trees = doubleBinaryTree(h);
    for (int t = 0; t < 2; ++t) {
      ASSERT_EQ(trees.parent[t].size(), static_cast<size_t>(h));
      ASSERT_EQ(trees.children[t].size(), static_cast<size_t>(h));
      EXPECT_EQ(trees.parent[t][trees.root[t]], -1) << "H=" << h << " tree " << t;
      int maxDepth = 0;
      for (int host = 0; host < h; ++host) {
        const int parent = trees.parent[t][host];
        EXPECT_EQ(parent < 0, host == trees.root[t]) << "H=" << h << " tree " << t;
        EXPECT_LE(trees.children[t][host].size(), 2u);
        if (parent >= 0) {
          const std::vector<int>& siblings = trees.children[t][parent];
          EXPECT_EQ(std::count(siblings.begin(), siblings.end(), host), 1)
              << "H=" << h << " tree " << t << ": host " << host << " missing under " << parent;
        }
        for (int child : trees.children[t][host]) EXPECT_EQ(trees.parent[t][child], host);
        const int depth = depthOf(trees.parent[t], host);
        ASSERT_GE(depth, 0) << "H=" << h << " tree " << t << ": cycle through " << host;
        maxDepth = std::max(maxDepth, depth);
      }
      // A binary tree of H nodes is at least floor(log2 H) deep; these are no deeper.
      EXPECT_EQ(maxDepth, log2Floor(h)) << "H=" << h << " tree " << t;
    }
    // The property that gives full bandwidth: no host forwards in both trees.
    for (int host = 0; host < h; ++host) {
      EXPECT_TRUE(trees.children[0][host].empty() || trees.children[1][host].empty())
          << "H=" << h << ": host " << host << " is interior in both trees";
    }
    // NCCL's construction (ncclGetDtree): tree 1 is tree 0 mirrored for even H, shifted by one
    // for odd H.
    for (int host = 0; host < h; ++host) {
      const int p0 = trees.parent[0][host];
      if (h % 2 == 0) {
        EXPECT_EQ(trees.parent[1][h - 1 - host], p0 < 0 ? -1 : h - 1 - p0) << "H=" << h;
      } else {
        EXPECT_EQ(trees.parent[1][(host + 1) % h], p0 < 0 ? -1 : (p0 + 1) % h) << "H=" << h;
      }
    }
  }
}

TEST(TreeTest, SmallTreesHaveTheInOrderShape) {
  // H = 4, positions 1..4 in order: 4 at the root, 2 below it, 1 and 3 below 2.
  DoubleBinaryTree four = doubleBinaryTree(4);
  EXPECT_EQ(four.root[0], 3);
  EXPECT_EQ(four.parent[0], (std::vector<int>{1, 3, 1, -1}));
  EXPECT_EQ(four.children[0][1], (std::vector<int>{0, 2}));
  EXPECT_EQ(four.root[1], 0);  // the mirror
  EXPECT_EQ(four.parent[1], (std::vector<int>{-1, 2, 0, 2}));
  // H = 5: the shift; host 0 is a leaf in both trees.
  DoubleBinaryTree five = doubleBinaryTree(5);
  EXPECT_EQ(five.parent[0], (std::vector<int>{1, 3, 1, -1, 3}));
  EXPECT_EQ(five.parent[1], (std::vector<int>{4, 2, 4, 2, -1}));
  EXPECT_TRUE(five.children[0][0].empty());
  EXPECT_TRUE(five.children[1][0].empty());
  DoubleBinaryTree one = doubleBinaryTree(1);
  EXPECT_EQ(one.parent[0], std::vector<int>{-1});
  EXPECT_EQ(one.parent[1], std::vector<int>{-1});
  EXPECT_TRUE(doubleBinaryTree(0).parent[0].empty());
}

// Every output element holds every rank's contribution exactly once, finalized once, reduced in
// the same grouping on every rank; no deadlock and no leftover message.
TEST(TreeTest, SymbolicallyCorrectFor1To64RanksOnManyHostLayouts) {
  for (int n = 1; n <= 64; ++n) {
    const size_t nn = static_cast<size_t>(n);
    // Verifying costs about n^2 x count, and counts only scale the regions. Up to 16 ranks every
    // layout and count; above, every third layout in turn (each kind still runs at every third
    // n) with small counts, and every layout with counts around n at a few n. Large counts at a
    // sample of rank counts that has chains, odd and even host counts.
    const bool everyLayout = n <= 16 || n == 32 || n == 33 || n == 63 || n == 64;
    std::set<size_t> counts = {1, 7};
    if (everyLayout) counts.insert({nn - 1, nn, nn + 1});
    if (n <= 16) counts.insert({0, 2, 3});
    if (n <= 6 || n == 13) counts.insert(1000);
    if (n <= 4) counts.insert(4099);
    const std::vector<HostLayout> layouts = layoutsFor(n);
    for (size_t i = 0; i < layouts.size(); ++i) {
      if (!everyLayout && (i + n) % 3 != 0) continue;
      for (size_t count : counts) {
        expectVerified(n, layouts[i], count, 0);
        if (HasFatalFailure()) return;
        // Pipelined: 3 and 5 chunks per half (more than some halves have elements).
        if (count == 7 || (count == nn + 1 && n <= 16) || (count == 1000 && n <= 4)) {
          expectVerified(n, layouts[i], count, 3);
          expectVerified(n, layouts[i], count, 5);
          if (HasFatalFailure()) return;
        }
      }
    }
  }
}

TEST(TreeTest, SymbolicallyCorrectAtUpTo1024Ranks) {
  auto blocksOf = [](int hosts, int perHost, int remainder) {
    std::vector<int> hostOfRank;
    for (int h = 0; h < hosts; ++h) hostOfRank.insert(hostOfRank.end(), perHost, h);
    hostOfRank.insert(hostOfRank.end(), remainder, hosts);
    return hostOfRank;
  };
  std::vector<int> interleaved(256);
  for (int r = 0; r < 256; ++r) interleaved[r] = r % 16;
  const std::vector<HostLayout> layouts = {
      {"1024 hosts x 1", blocksOf(1024, 1, 0)}, {"128 hosts x 8", blocksOf(128, 8, 0)},
      {"64 hosts x 16", blocksOf(64, 16, 0)},   {"100 hosts x 7 + 3", blocksOf(100, 7, 3)},
      {"16 hosts interleaved", interleaved},    {"one host of 200", blocksOf(1, 200, 0)},
  };
  for (const HostLayout& layout : layouts) {
    const int n = static_cast<int>(layout.hostOfRank.size());
    // Verifying 1024 ranks costs n^2 per element: one placement each.
    expectVerified(n, layout, 3, 0, Placement::kOutOfPlace);
    expectVerified(n, layout, 9, 4, Placement::kInPlace);
    if (HasFatalFailure()) return;
  }
}

TEST(TreeTest, PeersAreSymmetricAndExactlyWhatThePlansUse) {
  auto check = [](int n, const HostLayout& layout) {
    std::vector<std::vector<int>> peersOf(n);
    for (int r = 0; r < n; ++r) peersOf[r] = treePeers(n, r, layout.hostOfRank);
    for (int r = 0; r < n; ++r) {
      const std::vector<int>& peers = peersOf[r];
      EXPECT_TRUE(std::is_sorted(peers.begin(), peers.end()));
      EXPECT_EQ(std::adjacent_find(peers.begin(), peers.end()), peers.end());
      // A head: a parent in each tree, two children in the one where it is interior, and its
      // chain follower. Others: chain neighbours only.
      EXPECT_LE(peers.size(), 5u) << "n=" << n << " (" << layout.name << ") r=" << r;
      for (int peer : peers) {
        ASSERT_GE(peer, 0);
        ASSERT_LT(peer, n);
        EXPECT_NE(peer, r);
        const std::vector<int>& back = peersOf[peer];
        EXPECT_TRUE(std::binary_search(back.begin(), back.end(), r))
            << "n=" << n << " (" << layout.name << "): " << r << " names " << peer
            << " but not the reverse";
      }
      // Both halves non-empty: every listed peer is used, and nothing else is.
      for (int chunks : {0, 3}) {
        if (chunks == 3 && n > 16) continue;  // plans cost n each: sample
        EXPECT_EQ(treePlan(Collective::kAllReduce, n, r, 7, layout.hostOfRank, chunks)->peers(),
                  peers)
            << "n=" << n << " (" << layout.name << ") r=" << r;
      }
      // One element: tree 1 carries nothing, so a subset.
      if (n > 16) continue;
      std::vector<int> used = treePlan(Collective::kAllReduce, n, r, 1, layout.hostOfRank)->peers();
      EXPECT_TRUE(std::includes(peers.begin(), peers.end(), used.begin(), used.end()));
    }
  };
  for (int n = 1; n <= 64; ++n) {
    for (const HostLayout& layout : layoutsFor(n)) check(n, layout);
  }
  std::vector<int> big(700);
  for (int r = 0; r < 700; ++r) big[r] = r / 7;
  check(700, {"100 hosts x 7", big});
  // One host: the chain.
  const std::vector<int> oneHost(5, 0);
  EXPECT_EQ(treePeers(5, 0, oneHost), std::vector<int>{1});
  EXPECT_EQ(treePeers(5, 2, oneHost), (std::vector<int>{1, 3}));
  EXPECT_EQ(treePeers(5, 4, oneHost), std::vector<int>{3});
  EXPECT_TRUE(treePeers(1, 0, {0}).empty());
}

struct Traffic {
  size_t sent = 0;     // elements
  size_t offHost = 0;  // elements sent to another host
  size_t reduced = 0;  // elements received and reduced
  int finalizing = 0;  // steps that finalize
};

Traffic trafficOf(const Plan& plan, const std::vector<int>& hostOfRank) {
  Traffic traffic;
  for (const Step& step : plan.steps) {
    if (stepSends(step.kind)) {
      traffic.sent += step.count;
      if (hostOfRank[step.sendPeer] != hostOfRank[plan.rank]) traffic.offHost += step.count;
    }
    if (step.kind == StepKind::kRecvReduce || step.kind == StepKind::kRecvReduceSend) {
      traffic.reduced += step.count;
    }
    if (step.finalize) ++traffic.finalizing;
  }
  return traffic;
}

// The header's byte counts: a chain member sends 2S (its tail S), a head alone on its host at
// most 2S, a head with a chain at most 3S of which at most 2S leave the host.
TEST(TreeTest, BytesSentPerRankAreBoundedLikeNccls) {
  const size_t count = 1200;  // S, in elements; both halves and all chunks divide it
  for (int n : {2, 5, 8, 12, 31, 64}) {
    for (const HostLayout& layout : layoutsFor(n)) {
      const std::vector<int>& hosts = layout.hostOfRank;
      for (int chunks : {1, 4}) {
        size_t total = 0;
        for (const Plan& plan : allPlans(n, count, hosts, chunks)) {
          const int r = plan.rank;
          const int onHost = static_cast<int>(std::count(hosts.begin(), hosts.end(), hosts[r]));
          const bool head = std::find(hosts.begin(), hosts.end(), hosts[r]) - hosts.begin() == r;
          const Traffic traffic = trafficOf(plan, hosts);
          const std::string where = describe(n, layout, count, chunks) + " r=" + std::to_string(r);
          EXPECT_LE(traffic.sent, (head && onHost > 1 ? 3 : 2) * count) << where;
          EXPECT_LE(traffic.offHost, 2 * count) << where;
          if (!head) EXPECT_EQ(traffic.offHost, 0u) << where;
          // Each rank is reduced into its parent once per half: S elements are reduced in all,
          // and a rank reduces at most 3 children's halves (two in a tree and its chain).
          EXPECT_LE(traffic.reduced, 2 * count) << where;
          total += traffic.reduced;
        }
        EXPECT_EQ(total, static_cast<size_t>(n - 1) * count) << describe(n, layout, count, chunks);
      }
    }
  }
}

// Finalize (Avg divides there) happens once per chunk, at the rank heading the tree's root host.
TEST(TreeTest, OnlyTheRootsFinalize) {
  const std::vector<int> hosts = {0, 0, 1, 1, 1, 2, 3, 3};
  const DoubleBinaryTree trees = doubleBinaryTree(4);
  const int rootHead[2] = {
      static_cast<int>(std::find(hosts.begin(), hosts.end(), trees.root[0]) - hosts.begin()),
      static_cast<int>(std::find(hosts.begin(), hosts.end(), trees.root[1]) - hosts.begin())};
  for (const Plan& plan : allPlans(8, 100, hosts, 5)) {
    int want = 0;
    for (int t = 0; t < 2; ++t) want += plan.rank == rootHead[t] ? 5 : 0;
    EXPECT_EQ(trafficOf(plan, hosts).finalizing, want) << "rank " << plan.rank;
  }
}

// Completion time of the plans with every message taking one time unit and every step
// `stepCost` units (0: only latency counts); steps run in plan order.
int simulatedTime(const std::vector<Plan>& plans, int stepCost) {
  const int n = static_cast<int>(plans.size());
  std::map<std::pair<int, int>, std::vector<int>> arrivals;  // (from, to): arrival times
  std::map<std::pair<int, int>, size_t> consumed;
  std::vector<size_t> pc(n, 0);
  std::vector<int> clock(n, 0);
  bool moved = true;
  while (moved) {
    moved = false;
    for (int r = 0; r < n; ++r) {
      while (pc[r] < plans[r].steps.size()) {
        const Step& step = plans[r].steps[pc[r]];
        int start = clock[r];
        if (stepReceives(step.kind)) {
          const std::vector<int>& queue = arrivals[{step.recvPeer, r}];
          size_t& next = consumed[{step.recvPeer, r}];
          if (next == queue.size()) break;
          start = std::max(start, queue[next++]);
        }
        clock[r] = start + stepCost;
        if (stepSends(step.kind)) arrivals[{r, step.sendPeer}].push_back(clock[r] + 1);
        ++pc[r];
        moved = true;
      }
    }
  }
  for (int r = 0; r < n; ++r) EXPECT_EQ(pc[r], plans[r].steps.size()) << "rank " << r << " stuck";
  return *std::max_element(clock.begin(), clock.end());
}

// One chunk goes up and comes back down in 2 x height message rounds, both trees at once (run
// one after the other they would take up to twice that), and each further chunk adds a round.
// Height is at most log2(H) + m - 1.
TEST(TreeTest, OneChunkTakesTwiceTheHeightInRoundsAndEachMoreChunkOneRound) {
  for (int n : {2, 3, 7, 16, 33, 64}) {
    for (const HostLayout& layout : layoutsFor(n)) {
      const std::vector<int>& hosts = layout.hostOfRank;
      const int height = treeHeight(n, hosts);
      const int nhosts = *std::max_element(hosts.begin(), hosts.end()) + 1;
      std::map<int, int> ranksOnHost;
      for (int host : hosts) ++ranksOnHost[host];
      int largest = 0;
      for (const auto& [host, ranks] : ranksOnHost) largest = std::max(largest, ranks);
      EXPECT_LE(height, log2Floor(nhosts) + largest - 1) << layout.name;
      EXPECT_GE(height, largest - 1) << layout.name;
      EXPECT_EQ(simulatedTime(allPlans(n, 10, hosts, 1), 0), 2 * height)
          << "n=" << n << " (" << layout.name << ")";
      EXPECT_LE(simulatedTime(allPlans(n, 80, hosts, 8), 0), 2 * height + 7)
          << "n=" << n << " (" << layout.name << ")";
    }
  }
  EXPECT_EQ(treeHeight(1, {0}), 0);
  EXPECT_EQ(treeHeight(6, std::vector<int>(6, 0)), 5);  // one host: a chain of 6
  EXPECT_EQ(treeHeight(8, {0, 1, 2, 3, 4, 5, 6, 7}), 3);
}

// With a time unit per step as well (the executor's thread does every step's copy or
// reduction), many chunks finish at the pace of the busiest rank: its steps plus a round trip at
// two units a hop. Fixed rounds instead (reduce chunk k of both trees, then broadcast chunk
// k - L of both, whatever the depth) made ranks wait on each other across the two trees: three to
// five times slower on these shapes.
TEST(TreeTest, ManyChunksRunAtTheBusiestRanksPace) {
  for (auto [nhosts, perHost] :
       std::vector<std::pair<int, int>>{{32, 4}, {128, 1}, {8, 8}, {1, 16}, {13, 3}, {64, 2}}) {
    std::vector<int> hosts;
    for (int h = 0; h < nhosts; ++h) hosts.insert(hosts.end(), perHost, h);
    const int n = static_cast<int>(hosts.size());
    const int chunks = 32;
    const std::vector<Plan> plans = allPlans(n, 100 * chunks, hosts, chunks);
    size_t busiest = 0;
    for (const Plan& plan : plans) busiest = std::max(busiest, plan.steps.size());
    EXPECT_LE(simulatedTime(plans, 1), static_cast<int>(busiest) + 4 * treeHeight(n, hosts))
        << nhosts << " hosts x " << perHost;
  }
}

TEST(TreeTest, AllReduceOnlyAndWellFormedLayoutsOnly) {
  EXPECT_TRUE(treeSupports(Collective::kAllReduce));
  EXPECT_FALSE(treeSupports(Collective::kAllGather));
  EXPECT_FALSE(treeSupports(Collective::kReduceScatter));
  const std::vector<int> hosts = {0, 0, 1, 1};
  EXPECT_FALSE(treePlan(Collective::kAllGather, 4, 0, 8, hosts).has_value());
  EXPECT_FALSE(treePlan(Collective::kReduceScatter, 4, 0, 8, hosts).has_value());
  EXPECT_EQ(treePlan(Collective::kAllReduce, 4, 0, 8, hosts)->algorithm, "tree");
  EXPECT_FALSE(treePlan(Collective::kAllReduce, 4, 0, 8, {0, 0, 1}).has_value());
  EXPECT_FALSE(treePlan(Collective::kAllReduce, 4, 0, 8, {0, -1, 1, 1}).has_value());
  EXPECT_FALSE(treePlan(Collective::kAllReduce, 4, 4, 8, hosts).has_value());
  EXPECT_TRUE(treePeers(4, 0, {0, 0, 1}).empty());
  // Host indices are only labels: gaps and order do not matter.
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(treePlan(Collective::kAllReduce, 4, r, 8, {7, 7, 3, 3})->steps.size(),
              treePlan(Collective::kAllReduce, 4, r, 8, {1, 1, 0, 0})->steps.size());
    EXPECT_EQ(treePeers(4, r, {7, 7, 3, 3}), treePeers(4, r, {1, 1, 0, 0}));
  }
}

TEST(TreeTest, SingleRankIsOneCopyAndCountZeroIsEmpty) {
  Plan one = *treePlan(Collective::kAllReduce, 1, 0, 10, {0});
  ASSERT_EQ(one.steps.size(), 1u);
  EXPECT_EQ(one.steps[0].kind, StepKind::kCopy);
  EXPECT_EQ(one.steps[0].count, 10u);
  EXPECT_TRUE(one.steps[0].finalize);
  EXPECT_TRUE(treePlan(Collective::kAllReduce, 4, 2, 0, {0, 1, 2, 3})->steps.empty());
}

TEST(TreeTest, DefaultChunksGrowWithTheCountUpToTheCap) {
  EXPECT_EQ(defaultTreeChunks(0), 1);
  EXPECT_EQ(defaultTreeChunks(2 * kTreeChunkElements), 1);
  EXPECT_EQ(defaultTreeChunks(2 * kTreeChunkElements + 2), 2);
  EXPECT_EQ(defaultTreeChunks(size_t{1} << 40), kTreeMaxChunks);
  const std::vector<int> hosts = {0, 1, 2, 3, 4, 5, 6, 7};
  const size_t count = 2 * 20 * kTreeChunkElements;  // 20 chunks per half
  const Plan plan = *treePlan(Collective::kAllReduce, 8, 7, count, hosts);
  const Plan twenty = *treePlan(Collective::kAllReduce, 8, 7, count, hosts, 20);
  ASSERT_EQ(plan.steps.size(), twenty.steps.size());
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    EXPECT_EQ(describeStep(plan.steps[i]), describeStep(twenty.steps[i])) << "step " << i;
  }
  // Rank 7 is tree 0's root with one child (a recvReduce and a send per chunk) and a leaf in
  // tree 1 (a send and a recv).
  EXPECT_EQ(plan.steps.size(), 20u * 4);
}

// The verifier must catch broken tree plans, or the sweeps above prove nothing.
TEST(TreeTest, VerifierCatchesBrokenTreePlans) {
  const std::vector<int> hosts = {0, 0, 1, 1, 2, 2, 3, 3, 4};
  const int n = static_cast<int>(hosts.size());
  const std::vector<Plan> good = allPlans(n, 40, hosts, 2);
  ASSERT_TRUE(verifyPlans(good, false).ok);
  const DoubleBinaryTree trees = doubleBinaryTree(5);
  const int root0 =
      static_cast<int>(std::find(hosts.begin(), hosts.end(), trees.root[0]) - hosts.begin());

  // The root broadcasts a chunk before reducing it: it sends its own input, so the other ranks
  // miss contributions (or the root waits for a reduction that never comes).
  std::vector<Plan> early = good;
  {
    std::vector<Step>& steps = early[root0].steps;
    auto firstSend = std::find_if(steps.begin(), steps.end(),
                                  [](const Step& s) { return s.kind == StepKind::kSend; });
    ASSERT_NE(firstSend, steps.end());
    Step send = *firstSend;
    steps.erase(firstSend);
    steps.insert(steps.begin(), send);
  }
  EXPECT_FALSE(verifyPlans(early, false).ok);

  // A chain follower waits for the broadcast before sending its partial sum up: deadlock.
  std::vector<Plan> waits = good;
  {
    std::vector<Step>& steps = waits[1].steps;  // host 0's tail
    auto recv = std::find_if(steps.begin(), steps.end(),
                             [](const Step& s) { return s.kind == StepKind::kRecv; });
    ASSERT_NE(recv, steps.end());
    Step step = *recv;
    steps.erase(recv);
    steps.insert(steps.begin(), step);
  }
  VerifyResult deadlock = verifyPlans(waits, false);
  EXPECT_FALSE(deadlock.ok);
  EXPECT_NE(deadlock.problem.find("deadlock"), std::string::npos) << deadlock.problem;

  // The root forgets to finalize: Avg would never divide.
  std::vector<Plan> unfinalized = good;
  for (Step& step : unfinalized[root0].steps) step.finalize = false;
  VerifyResult never = verifyPlans(unfinalized, false);
  EXPECT_FALSE(never.ok);
  EXPECT_NE(never.problem.find("finalized 0 times"), std::string::npos) << never.problem;

  // A head reduces its own input again in its second fold: its first child's sum is lost.
  std::vector<Plan> stale = good;
  {
    std::vector<Step>& steps = stale[root0].steps;
    auto second = std::find_if(steps.begin(), steps.end(), [](const Step& s) {
      return stepReceives(s.kind) && s.src.buffer == BufferId::kRecv &&
             (s.kind == StepKind::kRecvReduce || s.kind == StepKind::kRecvReduceSend);
    });
    ASSERT_NE(second, steps.end());
    second->src.buffer = BufferId::kSend;
  }
  VerifyResult lost = verifyPlans(stale, false);
  EXPECT_FALSE(lost.ok);
  EXPECT_NE(lost.problem.find("contributions"), std::string::npos) << lost.problem;

  // A head sends both halves' partial sums to its tree 0 parent, although tree 1's waits.
  std::vector<Plan> wrongParent = good;
  auto sendsUp = [](const Step& step) {
    return step.kind == StepKind::kRecvReduceSend ||
           (step.kind == StepKind::kSend && step.src.buffer == BufferId::kSend);
  };
  bool redirected = false;
  for (Plan& plan : wrongParent) {
    std::set<int> parents;
    for (const Step& step : plan.steps) {
      if (sendsUp(step)) parents.insert(step.sendPeer);
    }
    if (parents.size() < 2) continue;
    for (Step& step : plan.steps) {
      if (sendsUp(step)) step.sendPeer = *parents.begin();
    }
    redirected = true;
    break;
  }
  ASSERT_TRUE(redirected);
  EXPECT_FALSE(verifyPlans(wrongParent, false).ok);
}

}  // namespace
}  // namespace tutti
