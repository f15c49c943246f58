#include "perf/sim/checks.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "algo/tree.h"
#include "testing/plan_stats.h"

namespace tutti::sim {
namespace {

using test::PlanStats;

bool near(double a, double b, double tolerance) { return std::fabs(a - b) <= tolerance + 1e-6; }

struct SizeCheck {
  const Job& job;
  const Sample& sample;
  Collective collective;
  Algorithm algorithm;
  CallShape call;
  CostTerms terms;
  ParentCache* parents;
  Findings* findings;
  long plansGenerated = 0;

  void run() {
    const size_t halfOffset = algorithm == Algorithm::kTree ? chunkOffset(call.count, 2, 1) : 0;
    PlanSet plans(job, algorithm, collective, call.count);
    std::map<int, PlanStats> stats;
    for (int r : sample.ranks)
      stats[r] = test::planStats(plans.plan(r), job.hostOfRank, halfOffset, kElementBytes);
    Checker check(collective, algorithm, call, findings);
    switch (algorithm) {
      case Algorithm::kRing:
        checkRing(stats, check);
        break;
      case Algorithm::kRecursiveDoubling:
        checkRd(stats, check);
        break;
      case Algorithm::kTree:
        checkTree(stats, plans, halfOffset, check);
        break;
      case Algorithm::kBinomialTree:
      case Algorithm::kDirect:
        break;  // their collectives are not in the sweep (sweep.h); the unit tests verify them
    }
    plansGenerated += static_cast<long>(plans.generated());
  }

  double rounds() const { return terms.intraRounds + terms.interRounds; }
  const ClusterCost& cost() const { return job.cost.cost; }

  // Per sampled host: the bytes its ranks send to other hosts.
  std::map<int, double> offHostBytes(const std::map<int, PlanStats>& stats) const {
    std::map<int, double> bytes;
    for (int h : sample.hosts) {
      for (int r = h * job.perHost; r < (h + 1) * job.perHost; ++r) {
        bytes[h] += stats.at(r).sentOffHost;
      }
    }
    return bytes;
  }

  // Ring: rank r sends 2(n-1) (all-reduce) or n-1 messages to r+1; all-reduce chunks are count/n
  // elements (balanced), so r sends 2 x count - c(r) - c(r+1) elements and reduces count - c(r-1),
  // within two elements of 2(n-1)/n S and one of (n-1)/n S; the others send and reduce exactly
  // (n-1) x count. Chunks of zero elements are dropped (count < n): fewer messages then.
  void checkRing(const std::map<int, PlanStats>& stats, Checker& check) {
    const int n = job.nranks;
    const bool allReduce = collective == Collective::kAllReduce;
    const double k = allReduce ? 2.0 * (n - 1) : n - 1;
    const bool everyChunk = !allReduce || call.count >= static_cast<size_t>(n);
    const double tolerance = allReduce ? 2 * kElementBytes : 0;
    check.require(rounds() == k,
                  fmt::format("the model counts {} rounds, ring takes {}", rounds(), k));
    for (const auto& [r, st] : stats) {
      check.require(
          everyChunk ? st.sends == k : st.sends <= k,
          fmt::format("rank {} sends {} messages; the model counts {} rounds", r, st.sends, k));
      check.require(near(st.sent, terms.intraWireBytes, tolerance),
                    fmt::format("rank {} sends {} B; the model's wire bytes are {}", r, st.sent,
                                terms.intraWireBytes));
      check.require(
          near(st.reduced, terms.reducedBytes, allReduce ? kElementBytes : 0),
          fmt::format("rank {} reduces {} B; the model's {}", r, st.reduced, terms.reducedBytes));
      check.require(near(st.largest, terms.messageBytes, allReduce ? kElementBytes : 0),
                    fmt::format("rank {}'s largest message is {} B; the model's {}", r, st.largest,
                                terms.messageBytes));
    }
    // One ring edge leaves each host: its last rank sends every message off the host, the
    // others none. A chunk's pass around the ring takes n - 1 hops, H - 1 of them between
    // hosts (the latency the model charges: NCCL's nInterSteps).
    const double passes = allReduce ? 2 : 1;
    check.require(terms.interRounds == passes * (job.hosts - 1) &&
                      terms.intraRounds == k - passes * (job.hosts - 1),
                  fmt::format("the model counts {} hops between hosts and {} inside; {} passes "
                              "over {} hosts take {} and {}",
                              terms.interRounds, terms.intraRounds, passes, job.hosts,
                              passes * (job.hosts - 1), k - passes * (job.hosts - 1)));
    for (const auto& [h, bytes] : offHostBytes(stats)) {
      check.require(near(bytes, terms.interWireBytes, tolerance),
                    fmt::format("host {} sends {} B to other hosts; the model's {}", h, bytes,
                                terms.interWireBytes));
      if (job.hosts > 1) {
        const int lastRank = (h + 1) * job.perHost - 1;
        for (int r = h * job.perHost; r <= lastRank; ++r) {
          if (stats.count(r) == 0) continue;
          const PlanStats& st = stats.at(r);
          const int expected = r == lastRank ? st.sends : 0;
          check.require(st.offHostSends == expected,
                        fmt::format("host {}'s rank {} sends {} of {} messages off the host; "
                                    "the ring's edge leaves from the host's last rank only",
                                    h, r, st.offHostSends, st.sends));
        }
      }
    }
  }

  // rd, p = the largest power of two <= n. All-reduce: a rank outside the fold sends log2(p)
  // messages of S; in a fold pair the odd rank sends S once and the even one log2(p) + 1 times,
  // one after the other: the pair's sum is the critical path, log2(p) + 2 rounds and
  // (log2(p) + 2) x S. All-gather and reduce-scatter (n = p): log2(n) messages, (n-1)/n S.
  // Between hosts (ranks contiguous, p ranks per host a power of two): partners at distance
  // >= ranks per host are on other hosts.
  void checkRd(const std::map<int, PlanStats>& stats, Checker& check) {
    const int n = job.nranks;
    int p = 1;
    while (p * 2 <= n) p *= 2;
    const bool fold = n > p;
    const double s = static_cast<double>(call.bytes);
    for (const auto& [r, st] : stats) {
      check.require(st.sends <= rounds(), fmt::format("rank {} sends {} messages; the model "
                                                      "counts {} rounds",
                                                      r, st.sends, rounds()));
      check.require(st.largest == terms.messageBytes,
                    fmt::format("rank {}'s largest message is {} B; the model's {}", r, st.largest,
                                terms.messageBytes));
      check.bound(st.offHostSends <= terms.interRounds, cost().inter.alphaUs,
                  fmt::format("rank {} sends {} messages off its host; the model counts {} "
                              "rounds between hosts",
                              r, st.offHostSends, terms.interRounds));
      check.bound(
          st.reduced <= terms.reducedBytes + 1e-6, cost().intra.gammaNsPerByte,
          fmt::format("rank {} reduces {} B; the model's {}", r, st.reduced, terms.reducedBytes));
      if (!fold) {
        check.require(st.sends == rounds() && near(st.sent, terms.intraWireBytes, 0),
                      fmt::format("rank {} sends {} messages, {} B; the model: {} rounds, {} B", r,
                                  st.sends, st.sent, rounds(), terms.intraWireBytes));
        check.require(st.offHostSends == terms.interRounds,
                      fmt::format("rank {} sends {} messages off its host; the model counts {} "
                                  "rounds between hosts",
                                  r, st.offHostSends, terms.interRounds));
        check.require(
            near(st.reduced, terms.reducedBytes, 0),
            fmt::format("rank {} reduces {} B; the model's {}", r, st.reduced, terms.reducedBytes));
      } else if (r % 2 == 1 && r < 2 * (n - p)) {
        const PlanStats& even = stats.at(r - 1);
        check.require(
            st.sends + even.sends == rounds() && near(st.sent + even.sent, terms.intraWireBytes, 0),
            fmt::format("fold pair {}-{} sends {} messages, {} B on its critical path; "
                        "the model: {} rounds, {} B",
                        r - 1, r, st.sends + even.sends, st.sent + even.sent, rounds(),
                        terms.intraWireBytes));
        check.require(near(even.reduced, terms.reducedBytes, 0),
                      fmt::format("fold rank {} reduces {} B; the model's {}", r - 1, even.reduced,
                                  terms.reducedBytes));
      } else if (r >= 2 * (n - p)) {
        check.require(near(st.sent, std::log2(p) * s, 0),
                      fmt::format("rank {} sends {} B; rd among {} ranks sends {}", r, st.sent, p,
                                  std::log2(p) * s));
      }
    }
    for (const auto& [h, bytes] : offHostBytes(stats)) {
      check.bound(bytes <= terms.interWireBytes + 1e-6, cost().inter.betaNsPerByte,
                  fmt::format("host {} sends {} B to other hosts; the model's {}", h, bytes,
                              terms.interWireBytes));
      if (!fold) {
        check.require(near(bytes, terms.interWireBytes, 0),
                      fmt::format("host {} sends {} B to other hosts; the model's {}", h, bytes,
                                  terms.interWireBytes));
      }
    }
  }

  // Tree: chunks C per half (the root of each tree finalizes each chunk once), messages of
  // ceil(half / C) elements, the deepest rank's depth h (walking up its plans' parents), and
  // 2h rounds: 2 x the chain hops inside hosts, 2 x the host hops between them (the pipeline's
  // later chunks add bytes, not latency).
  // Bytes are bounds: the model takes the busiest rank and host of the trees' shape (per rank
  // 2S on its host, S with two ranks; per host S/2 per tree edge; S/2 reduced per child and
  // tree), which no sampled rank may exceed.
  void checkTree(const std::map<int, PlanStats>& stats, PlanSet& plans, size_t halfOffset,
                 Checker& check) {
    const double s = static_cast<double>(call.bytes);
    const double chunks = std::round(s / 2 / terms.messageBytes);
    const size_t halfCount[2] = {chunkCount(call.count, 2, 0), chunkCount(call.count, 2, 1)};
    const DoubleBinaryTree trees = doubleBinaryTree(job.hosts);
    // The plan's chunks: tree 0's root finalizes each chunk of the first half once.
    const double planChunks = stats.at(trees.root[0] * job.perHost).finalizes[0];
    for (int t = 0; t < 2; ++t) {
      const int root = trees.root[t] * job.perHost;
      const int finals = stats.at(root).finalizes[t];
      check.require(finals == (halfCount[t] > 0 ? chunks : 0),
                    fmt::format("the root of tree {} (rank {}) finalizes {} chunks; the model "
                                "counts {}",
                                t, root, finals, chunks));
    }
    double largest = 0;
    for (const auto& [r, st] : stats) {
      largest = std::max(largest, st.largest);
      check.require(st.upConsistent,
                    fmt::format("rank {} sends its reductions of one half to two parents", r));
      check.bound(st.sentOnHost <= terms.intraWireBytes + 2 * kElementBytes,
                  cost().intra.betaNsPerByte,
                  fmt::format("rank {} sends {} B on its host; the model's {}", r, st.sentOnHost,
                              terms.intraWireBytes));
      check.bound(
          st.reduced <= terms.reducedBytes + 2 * kElementBytes, cost().intra.gammaNsPerByte,
          fmt::format("rank {} reduces {} B; the model's {}", r, st.reduced, terms.reducedBytes));
    }
    const double chunkBytes =
        kElementBytes * std::ceil(static_cast<double>(halfCount[0]) / std::max(1.0, chunks));
    check.require(largest == chunkBytes,
                  fmt::format("the largest message is {} B; {} chunks of the model make {} B",
                              largest, chunks, chunkBytes));
    for (const auto& [h, bytes] : offHostBytes(stats)) {
      check.bound(bytes <= terms.interWireBytes + 2 * kElementBytes, cost().inter.betaNsPerByte,
                  fmt::format("host {} sends {} B to other hosts; the model's {}", h, bytes,
                              terms.interWireBytes));
    }
    // The deepest sampled rank, by walking up the parents.
    int deepest = 0, onHostHops = 0, offHostHops = 0;
    for (int t = 0; t < 2; ++t) {
      if (halfCount[t] == 0) continue;
      for (const auto& [r, st] : stats) {
        auto cached = parents->find({r, t});
        if (cached != parents->end()) {
          check.require(cached->second == st.up[t],
                        fmt::format("rank {}'s parent in tree {} is {} here, {} at another size", r,
                                    t, st.up[t], cached->second));
        }
        (*parents)[{r, t}] = st.up[t];
        int depth = 0, on = 0, off = 0;
        for (int rank = r; depth <= job.nranks;) {
          const int parent = parentOf(rank, t, plans, halfOffset);
          if (parent < 0) break;
          ++(job.hostOfRank[parent] == job.hostOfRank[rank] ? on : off);
          ++depth;
          rank = parent;
        }
        check.require(depth <= job.nranks,
                      fmt::format("rank {}'s parents in tree {} form a cycle", r, t));
        if (depth > deepest) {
          deepest = depth;
          onHostHops = on;
          offHostHops = off;
        }
      }
    }
    // The model charges the first chunk's way up and down (later chunks' latency hides in
    // the pipeline, as NCCL's tree latency counts it).
    const double planRounds = 2.0 * deepest;
    const bool split = terms.intraRounds == 2.0 * onHostHops &&
                       terms.interRounds == (job.hosts > 1 ? 2.0 * offHostHops : 0);
    check.require(planRounds == rounds() && split,
                  fmt::format("the deepest sampled rank is {} hops down ({} inside hosts, {} "
                              "between): {} rounds up and down with {} chunks; the model counts "
                              "{} inside hosts and {} between",
                              deepest, onHostHops, offHostHops, planRounds, planChunks,
                              terms.intraRounds, terms.interRounds));
  }

  int parentOf(int rank, int tree, PlanSet& plans, size_t halfOffset) {
    auto cached = parents->find({rank, tree});
    if (cached != parents->end()) return cached->second;
    const PlanStats st =
        test::planStats(plans.plan(rank), job.hostOfRank, halfOffset, kElementBytes);
    (*parents)[{rank, tree}] = st.up[tree];
    return st.up[tree];
  }
};

}  // namespace

long checkPlans(const Job& job, const Sample& sample, Collective collective, Algorithm algorithm,
                const CallShape& call, const CostTerms& terms, ParentCache* parents,
                Findings* findings) {
  SizeCheck check{job, sample, collective, algorithm, call, terms, parents, findings};
  check.run();
  return check.plansGenerated;
}

}  // namespace tutti::sim
