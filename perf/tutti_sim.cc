// tutti-sim: what Tutti's cost model predicts for a cluster this machine is not (a topology file
// replicated to N hosts, one rank per GPU), checked against the real plan generators: for every
// size, sampled ranks' plans are generated and their messages, bytes sent, bytes reduced and
// (for the tree) depth are compared with the terms the model assumes (costTerms); --validate
// also runs the symbolic verifier. --compare-published sets predictions beside published NCCL
// figures. docs/simulation.md describes every relation checked and what validation covers.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "algo/plan.h"
#include "algo/plan_verify.h"
#include "algo/select.h"
#include "algo/topo_cost.h"
#include "algo/tree.h"
#include "topo/builder.h"
#include "topo/topology_file.h"

namespace {

using namespace tutti;

constexpr double kElementBytes = 4;  // float32, nccl-tests' default type
// Display order: the two bandwidth algorithms, then rd.
constexpr Algorithm kShown[] = {Algorithm::kRing, Algorithm::kTree, Algorithm::kRecursiveDoubling};
constexpr Collective kCollectives[] = {Collective::kAllReduce, Collective::kAllGather,
                                       Collective::kReduceScatter};
// Jobs up to this many ranks sample every rank.
constexpr int kSampleAllRanksUpTo = 64;
// Symbolic verification runs all ranks of jobs up to this size, at sizes where ranks^2 x count
// symbolic contributions (each output element carries one per contributing rank) stay within
// kVerifyBudget; larger jobs are verified at the same ranks per host on fewer hosts.
constexpr int kVerifyMaxRanks = 128;
constexpr double kVerifyBudget = 1 << 21;

// ---------------------------------------------------------------------------------------------
// The job: a host topology replicated, ranks host-major on its GPUs, and the costs.

struct Job {
  std::string source;
  topo::Topology cluster;
  int hosts = 0;
  int perHost = 0;
  int nranks = 0;
  std::vector<int> hostOfRank;
  std::vector<int> gpuOfRank;
  HostShape shape;
  TopologyCost cost;
  std::string machineNote;  // what --nvlinks / --sm changed
};

// --sm: the compute capability of GPUs the file leaves unknown (skeleton files).
Status setUnknownSm(topo::Topology* host, int sm, std::string* note) {
  int changed = 0;
  for (topo::Node& node : host->nodes) {
    if (node.kind == topo::NodeKind::kGpu && node.sm == 0) {
      node.sm = sm;
      ++changed;
    }
  }
  if (changed == 0) {
    return makeError(tuttiInvalidArgument, "--sm {}: every GPU of the file has its SM already", sm);
  }
  *note += fmt::format("{}--sm {}: set on {} GPUs the file left unknown.", note->empty() ? "" : " ",
                       sm, changed);
  return Status::ok();
}

// --nvlinks: an NVSwitch fabric the file does not describe (PCIe skeletons), each GPU with this
// many NVLinks to it at NCCL's per-link bandwidth for its SM (link_model.h). One NVSwitch node
// stands for all of them, as NCCL merges them (topo_cost.h).
Status addNvSwitchFabric(topo::Topology* host, int nvlinks, std::string* note) {
  if (host->hasNvlink()) {
    return makeError(tuttiInvalidArgument,
                     "--nvlinks {}: the file describes NVLinks already; it is for files without",
                     nvlinks);
  }
  const std::vector<int> gpus = host->nodesOf(topo::NodeKind::kGpu);
  if (gpus.empty()) return makeError(tuttiInvalidArgument, "--nvlinks: the file has no GPUs");
  topo::Node nvswitch;
  nvswitch.kind = topo::NodeKind::kNvSwitch;
  nvswitch.name = topo::defaultNodeName(topo::NodeKind::kNvSwitch, 0);
  nvswitch.host = 0;
  const int index = host->addNode(nvswitch);
  topo::TopologyBuilder builder(host, 0);
  for (int gpu : gpus) builder.addNvlink(gpu, index, nvlinks, /*mergeSameCount=*/false);
  *note +=
      fmt::format("{}--nvlinks {}: every GPU joined to an NVSwitch by {} NVLinks ({:.1f} GB/s).",
                  note->empty() ? "" : " ", nvlinks, nvlinks, host->links.back().bandwidthGBps);
  return Status::ok();
}

Status makeJob(topo::Topology host, const std::string& source, int hosts, int gpusPerHost,
               int nvlinks, int sm, Job* job) {
  if (host.hostCount() != 1) {
    return makeError(tuttiInvalidArgument, "{} describes {} hosts; tutti-sim replicates one",
                     source, host.hostCount());
  }
  job->source = source;
  if (sm > 0) TUTTI_RETURN_IF_ERROR(setUnknownSm(&host, sm, &job->machineNote));
  if (nvlinks > 0) TUTTI_RETURN_IF_ERROR(addNvSwitchFabric(&host, nvlinks, &job->machineNote));
  const int gpus = host.gpuCount();
  if (gpusPerHost <= 0) {
    if (gpus == 0) {
      return makeError(tuttiInvalidArgument,
                       "{} has no GPUs: give --gpus-per-host, the CPU ranks per host", source);
    }
    gpusPerHost = gpus;
  }
  if (gpus > 0 && gpusPerHost > gpus) {
    return makeError(tuttiInvalidArgument, "--gpus-per-host {}: {} has {} GPUs", gpusPerHost,
                     source, gpus);
  }
  if (static_cast<long>(hosts) * gpusPerHost < 2) {
    return makeError(tuttiInvalidArgument, "1 rank: nothing to communicate (need 2 or more)");
  }
  job->cluster = hosts > 1 ? topo::replicateHosts(host, hosts) : std::move(host);
  job->hosts = hosts;
  job->perHost = gpusPerHost;
  job->nranks = hosts * gpusPerHost;
  TUTTI_RETURN_IF_ERROR(placeRanks(job->cluster, job->nranks, &job->hostOfRank, &job->gpuOfRank));
  job->shape = hostShapeOf(job->hostOfRank);
  return clusterCostFromTopology(job->cluster, job->hostOfRank, job->gpuOfRank,
                                 defaultCpuClusterCost(), &job->cost);
}

// ---------------------------------------------------------------------------------------------
// Sizes as nccl-tests counts them: S is the larger buffer; all-reduce moves S/4 floats,
// all-gather and reduce-scatter S/(4n) per rank (sizes round down to whole elements per rank).

struct CallShape {
  size_t count = 0;  // the call's count argument
  size_t bytes = 0;  // S after rounding
};

CallShape callShape(Collective collective, int nranks, size_t bytes) {
  CallShape shape;
  const size_t elements = bytes / static_cast<size_t>(kElementBytes);
  if (collective == Collective::kAllReduce) {
    shape.count = elements;
    shape.bytes = elements * static_cast<size_t>(kElementBytes);
  } else {
    shape.count = elements / static_cast<size_t>(nranks);
    shape.bytes = shape.count * static_cast<size_t>(nranks) * static_cast<size_t>(kElementBytes);
  }
  return shape;
}

// nccl-tests' busbw factors (doc/PERFORMANCE.md).
double busFactor(Collective collective, int n) {
  return collective == Collective::kAllReduce ? 2.0 * (n - 1) / n : double(n - 1) / n;
}

double busbwGBps(Collective collective, int n, double bytes, double us) {
  return us > 0 ? bytes / (us * 1e3) * busFactor(collective, n) : 0;
}

// ---------------------------------------------------------------------------------------------
// What a plan does, derived from its steps.

struct PlanStats {
  long sends = 0;         // steps that send: message rounds this rank takes part in as sender
  long offHostSends = 0;  // of them, to a rank on another host
  double sent = 0;        // bytes
  double sentOnHost = 0;
  double sentOffHost = 0;
  double reduced = 0;  // bytes of input reduced (recvReduce, recvReduceSend)
  double largest = 0;  // the largest message
  // Tree: per half (tree), the peer the reduction goes up to (-1: none, the root), whether it
  // was always the same one, and how many finalizing reductions (chunks, at the root).
  int up[2] = {-1, -1};
  bool upConsistent = true;
  int finalizes[2] = {0, 0};
  bool stepsInHalf[2] = {false, false};
};

PlanStats statsOf(const Plan& plan, const std::vector<int>& hostOfRank, size_t halfOffset) {
  PlanStats stats;
  const int host = hostOfRank[plan.rank];
  auto halfOf = [&](const Region& region) { return region.offset < halfOffset ? 0 : 1; };
  for (const Step& step : plan.steps) {
    const double bytes = static_cast<double>(step.count) * kElementBytes;
    if (step.kind == StepKind::kRecvReduce || step.kind == StepKind::kRecvReduceSend) {
      stats.reduced += bytes;
    }
    const Region& region = step.kind == StepKind::kSend ? step.src : step.dst;
    const int half = halfOf(region);
    stats.stepsInHalf[half] = true;
    if (step.finalize && step.kind == StepKind::kRecvReduce) ++stats.finalizes[half];
    if (!stepSends(step.kind)) continue;
    ++stats.sends;
    stats.sent += bytes;
    stats.largest = std::max(stats.largest, bytes);
    if (hostOfRank[step.sendPeer] == host) {
      stats.sentOnHost += bytes;
    } else {
      ++stats.offHostSends;
      stats.sentOffHost += bytes;
    }
    // Toward the parent: a reduction that sends on, or a send of the input (a leaf). Sends of
    // the result (from recv) go down.
    const bool up = step.kind == StepKind::kRecvReduceSend ||
                    (step.kind == StepKind::kSend && step.src.buffer == BufferId::kSend);
    if (up) {
      if (stats.up[half] >= 0 && stats.up[half] != step.sendPeer) stats.upConsistent = false;
      stats.up[half] = step.sendPeer;
    }
  }
  return stats;
}

// ---------------------------------------------------------------------------------------------
// Sampling: which ranks' plans are generated at full scale.

struct Sample {
  std::vector<int> hosts;  // every rank of these hosts is sampled
  std::vector<int> ranks;  // sorted
};

Sample sampleRanks(const Job& job) {
  Sample sample;
  std::set<int> hosts, ranks;
  if (job.nranks <= kSampleAllRanksUpTo) {
    for (int h = 0; h < job.hosts; ++h) hosts.insert(h);
  } else {
    // The first two hosts (host 0 holds the deepest rank of tree 0: position 1 of the in-order
    // tree, its chain's tail), the middle and the last, and two drawn with a fixed seed.
    std::mt19937 random(20240611);
    hosts = {0, std::min(1, job.hosts - 1), job.hosts / 2, job.hosts - 1};
    std::uniform_int_distribution<int> anyHost(0, job.hosts - 1);
    for (int i = 0; i < 2; ++i) hosts.insert(anyHost(random));
    std::uniform_int_distribution<int> anyRank(0, job.nranks - 1);
    for (int i = 0; i < 8; ++i) ranks.insert(anyRank(random));
  }
  for (int h : hosts) {
    for (int r = h * job.perHost; r < (h + 1) * job.perHost; ++r) ranks.insert(r);
  }
  // rd's fold pairs (n not a power of two): both ranks of a sampled pair.
  int p = 1;
  while (p * 2 <= job.nranks) p *= 2;
  for (int r : std::vector<int>(ranks.begin(), ranks.end())) {
    if (r < 2 * (job.nranks - p)) ranks.insert(r ^ 1);
  }
  // The roots of the two trees (their finalizing steps count the chunks).
  const DoubleBinaryTree trees = doubleBinaryTree(job.hosts);
  for (int t = 0; t < 2; ++t) ranks.insert(trees.root[t] * job.perHost);
  sample.hosts.assign(hosts.begin(), hosts.end());
  sample.ranks.assign(ranks.begin(), ranks.end());
  return sample;
}

// Plans of one call, generated on demand.
class PlanSet {
 public:
  PlanSet(const Job& job, Algorithm algorithm, Collective collective, size_t count)
      : job_(job), algorithm_(algorithm), collective_(collective), count_(count) {}
  const Plan& plan(int rank) {
    auto it = plans_.find(rank);
    if (it == plans_.end()) {
      it = plans_
               .emplace(rank, makePlan(algorithm_, collective_, job_.nranks, rank, count_,
                                       job_.hostOfRank))
               .first;
    }
    return it->second;
  }
  size_t generated() const { return plans_.size(); }

 private:
  const Job& job_;
  Algorithm algorithm_;
  Collective collective_;
  size_t count_;
  std::map<int, Plan> plans_;
};

// ---------------------------------------------------------------------------------------------
// The relations between the plans and the model's terms (docs/simulation.md, "Plan checks").

// Problems grouped by their wording with the numbers left out (one relation, every size and
// rank it fails at): the first instance and how many there were.
struct Problems {
  struct Entry {
    std::string first;
    long count = 0;
  };
  std::vector<Entry> entries;
  std::map<std::string, size_t> byPattern;

  void add(const std::string& message) {
    std::string pattern;
    for (char c : message) {
      const bool digit = c >= '0' && c <= '9';
      if (!digit || pattern.empty() || pattern.back() != '#') pattern += digit ? '#' : c;
    }
    auto [it, inserted] = byPattern.emplace(pattern, entries.size());
    if (inserted) entries.push_back({message, 0});
    ++entries[it->second].count;
  }
  bool empty() const { return entries.empty(); }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const Entry& entry : entries) {
      out.push_back(entry.count == 1
                        ? entry.first
                        : fmt::format("{} (and {} more like it)", entry.first, entry.count - 1));
    }
    return out;
  }
};

struct Findings {
  long checks = 0;
  Problems errors;
  Problems warnings;
};

class Checker {
 public:
  Checker(Collective collective, Algorithm algorithm, const CallShape& call, Findings* findings)
      : collective_(collective), algorithm_(algorithm), call_(call), findings_(findings) {}

  // A relation the model's derivation claims: false is an error.
  void require(bool ok, const std::string& what) {
    ++findings_->checks;
    if (!ok) findings_->errors.add(context() + what);
  }
  // An upper bound the model relies on; where the term is priced at 0 in this cost, breaking it
  // cannot change a prediction: a warning.
  void bound(bool ok, double price, const std::string& what) {
    ++findings_->checks;
    if (ok) return;
    if (price == 0) {
      findings_->warnings.add(context() + what + " (priced at 0 here: no effect on time)");
    } else {
      findings_->errors.add(context() + what);
    }
  }

 private:
  std::string context() const {
    return fmt::format("{} {} {} B: ", collectiveName(collective_), algorithmName(algorithm_),
                       call_.bytes);
  }
  Collective collective_;
  Algorithm algorithm_;
  CallShape call_;
  Findings* findings_;
};

bool near(double a, double b, double tolerance) { return std::fabs(a - b) <= tolerance + 1e-6; }

// Tree parents found so far, by (rank, tree): the tree's shape does not depend on the count, so
// ancestors met at one size are not generated again at the next; sampled ranks' own parents are
// derived from their plans at every size and must agree.
using ParentCache = std::map<std::pair<int, int>, int>;

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
    for (int r : sample.ranks) stats[r] = statsOf(plans.plan(r), job.hostOfRank, halfOffset);
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
    const PlanStats st = statsOf(plans.plan(rank), job.hostOfRank, halfOffset);
    (*parents)[{rank, tree}] = st.up[tree];
    return st.up[tree];
  }
};

// ---------------------------------------------------------------------------------------------
// Validation (--validate).

std::vector<int> hostMajor(int hosts, int perHost) {
  std::vector<int> hostOfRank;
  for (int h = 0; h < hosts; ++h) hostOfRank.insert(hostOfRank.end(), perHost, h);
  return hostOfRank;
}

// Every rank's plan of one call, verified symbolically out of place and in place; the problem
// or empty.
std::string verifyAll(Algorithm algorithm, Collective collective,
                      const std::vector<int>& hostOfRank, size_t count) {
  const int n = static_cast<int>(hostOfRank.size());
  std::vector<Plan> plans;
  for (int r = 0; r < n; ++r)
    plans.push_back(makePlan(algorithm, collective, n, r, count, hostOfRank));
  for (bool inPlace : {false, true}) {
    VerifyResult result = verifyPlans(plans, inPlace);
    if (!result.ok)
      return fmt::format("{}: {}", inPlace ? "in place" : "out of place", result.problem);
  }
  return "";
}

// Sampled ranks at full scale: what a rank sends to each peer, in order and size, is what the
// peer's plan receives from it, and the other way round.
std::string matchPeers(const Job& job, const Sample& sample, Algorithm algorithm,
                       Collective collective, size_t count, long* pairs) {
  PlanSet plans(job, algorithm, collective, count);
  auto messages = [](const Plan& plan, int peer, bool sending) {
    std::vector<size_t> sizes;
    for (const Step& step : plan.steps) {
      if (sending && stepSends(step.kind) && step.sendPeer == peer) sizes.push_back(step.count);
      if (!sending && stepReceives(step.kind) && step.recvPeer == peer) sizes.push_back(step.count);
    }
    return sizes;
  };
  for (int r : sample.ranks) {
    const std::vector<int> peers = plans.plan(r).peers();
    for (int q : peers) {
      const Plan& mine = plans.plan(r);
      const Plan& theirs = plans.plan(q);
      ++*pairs;
      if (messages(mine, q, true) != messages(theirs, r, false)) {
        return fmt::format(
            "rank {} sends {} messages to rank {}, which receives {} from it "
            "(or their sizes differ)",
            r, messages(mine, q, true).size(), q, messages(theirs, r, false).size());
      }
      if (messages(mine, q, false) != messages(theirs, r, true)) {
        return fmt::format(
            "rank {} receives {} messages from rank {}, which sends {} to it (or "
            "their sizes differ)",
            r, messages(mine, q, false).size(), q, messages(theirs, r, true).size());
      }
    }
  }
  return "";
}

struct Validation {
  std::string scope;  // what the symbolic part covered
  long verified = 0;  // calls verified symbolically
  long pairs = 0;     // rank pairs matched at full scale
  std::vector<std::string> problems;
};

// ---------------------------------------------------------------------------------------------
// One collective's sweep.

struct Row {
  CallShape call;
  std::optional<double> us[kNumAlgorithms];
  Algorithm choice = Algorithm::kRing;
};

struct Sweep {
  Collective collective;
  std::vector<Row> rows;
  size_t skipped = 0;  // sizes below one element per rank
};

struct Totals {
  Findings findings;
  Validation validation;
  long plans = 0;
  size_t sizes = 0;  // of the sweep
};

Sweep sweep(const Job& job, const Sample& sample, Collective collective,
            const std::vector<size_t>& sizes, bool validate, Totals* totals) {
  Sweep result{collective, {}, 0};
  ParentCache parents;
  // Validation at a smaller job of the same ranks per host, when the job is too large to verify.
  const int verifyHosts =
      job.nranks <= kVerifyMaxRanks ? job.hosts : std::max(1, kVerifyMaxRanks / job.perHost);
  const std::vector<int> verifyLayout = hostMajor(verifyHosts, job.perHost);
  const int verifyRanks = static_cast<int>(verifyLayout.size());
  for (size_t bytes : sizes) {
    const CallShape call = callShape(collective, job.nranks, bytes);
    if (call.count == 0) {
      ++result.skipped;
      continue;
    }
    Row row;
    row.call = call;
    for (Algorithm a : kShown) {
      std::optional<CostTerms> terms = costTerms(a, collective, job.nranks, call.bytes, job.shape);
      if (!terms) continue;
      row.us[static_cast<int>(a)] = timeUs(*terms, job.cost.cost);
      SizeCheck check{job, sample, collective, a, call, *terms, &parents, &totals->findings};
      check.run();
      totals->plans += check.plansGenerated;
      if (!validate) continue;
      const CallShape small = callShape(collective, verifyRanks, bytes);
      const double elements = double(verifyRanks) * verifyRanks * small.count;
      const bool applies = a != Algorithm::kRecursiveDoubling ||
                           costTerms(a, collective, verifyRanks, small.bytes).has_value();
      if (small.count > 0 && verifyRanks > 1 && elements <= kVerifyBudget && applies) {
        const std::string problem = verifyAll(a, collective, verifyLayout, small.count);
        ++totals->validation.verified;
        if (!problem.empty()) {
          totals->validation.problems.push_back(
              fmt::format("{} {} {} ranks, count {}: {}", collectiveName(collective),
                          algorithmName(a), verifyRanks, small.count, problem));
        }
      }
      if (job.nranks > verifyRanks) {
        const std::string problem =
            matchPeers(job, sample, a, collective, call.count, &totals->validation.pairs);
        if (!problem.empty()) {
          totals->validation.problems.push_back(fmt::format(
              "{} {} {} B: {}", collectiveName(collective), algorithmName(a), call.bytes, problem));
        }
      }
    }
    row.choice = chooseAlgorithm(AlgoSpec(), collective, job.nranks, call.bytes, job.cost.cost,
                                 nullptr, job.shape)
                     .algorithm;
    result.rows.push_back(row);
  }
  if (validate) {
    totals->validation.scope =
        job.nranks <= kVerifyMaxRanks
            ? fmt::format("all {} ranks", job.nranks)
            : fmt::format(
                  "{} hosts x {} ranks ({} ranks; the full job is too large), plus message "
                  "matching between every sampled rank and its peers at the full {} ranks",
                  verifyHosts, job.perHost, verifyRanks, job.nranks);
  }
  return result;
}

// The largest size where the tree is predicted faster than ring; 0 where it never is.
size_t treeCrossover(const Sweep& sweep) {
  size_t largest = 0;
  for (const Row& row : sweep.rows) {
    const auto& ring = row.us[static_cast<int>(Algorithm::kRing)];
    const auto& tree = row.us[static_cast<int>(Algorithm::kTree)];
    if (ring && tree && *tree < *ring) largest = row.call.bytes;
  }
  return largest;
}

void printSweep(const Job& job, const Sweep& sweep) {
  const Collective c = sweep.collective;
  std::printf(
      "#\n# %s: %d ranks = %d host(s) x %d, float32; time in us, busbw in GB/s "
      "(algbw x %s)\n",
      collectiveName(c), job.nranks, job.hosts, job.perHost,
      c == Collective::kAllReduce ? "2(n-1)/n" : "(n-1)/n");
  std::string header = fmt::format("# {:>12} {:>12}", "size", "count");
  for (Algorithm a : kShown) {
    header += fmt::format(" {:>12} {:>8}", fmt::format("{} time", algorithmName(a)), "busbw");
  }
  std::printf("%s  %s\n", header.c_str(), "model");
  for (const Row& row : sweep.rows) {
    std::string line = fmt::format("  {:>12} {:>12}", row.call.bytes, row.call.count);
    for (Algorithm a : kShown) {
      const auto& us = row.us[static_cast<int>(a)];
      if (us) {
        line += fmt::format(" {:>12.2f} {:>8.2f}", *us,
                            busbwGBps(c, job.nranks, double(row.call.bytes), *us));
      } else {
        line += fmt::format(" {:>12} {:>8}", "-", "-");
      }
    }
    std::printf("%s  %s\n", line.c_str(), algorithmName(row.choice));
  }
  if (sweep.skipped > 0) {
    std::printf("# %zu sizes below one float per rank skipped\n", sweep.skipped);
  }
  if (c == Collective::kAllReduce && !sweep.rows.empty()) {
    const size_t crossover = treeCrossover(sweep);
    if (crossover == 0) {
      std::printf("# ring/tree crossover: the model never predicts tree faster in this sweep\n");
    } else if (crossover == sweep.rows.back().call.bytes) {
      std::printf(
          "# ring/tree crossover: none in this sweep; tree is predicted faster than ring "
          "up to its largest size, %zu B\n",
          crossover);
    } else {
      std::printf(
          "# ring/tree crossover: tree is predicted faster than ring up to %zu B, ring "
          "above\n",
          crossover);
    }
  }
}

void printCost(const Job& job) {
  std::printf("# %s, %d host(s) x %d %s = %d ranks\n", job.source.c_str(), job.hosts, job.perHost,
              job.gpuOfRank[0] >= 0 ? "GPUs" : "CPU ranks", job.nranks);
  if (!job.machineNote.empty()) std::printf("# %s\n", job.machineNote.c_str());
  std::printf("%s", describeTopologyCost(job.cost, "# ").c_str());
  if (!job.cost.fromTopology) {
    std::printf(
        "# CPU ranks (no GPUs): the transports' defaults, intra defaultLinkCost(\"shm/cma\"), "
        "inter defaultLinkCost(\"tcp\"), not the topology's links\n");
  }
}

std::string jsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<int>(c));
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string jsonList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + jsonString(items[i]);
  return out + "]";
}

Status writeJson(const std::string& path, const Job& job, const std::vector<Sweep>& sweeps,
                 const Totals& totals) {
  const LinkCost& intra = job.cost.cost.intra;
  const LinkCost& inter = job.cost.cost.inter;
  std::string out = "{\n";
  out += fmt::format(
      "  \"topology\": {},\n  \"hosts\": {},\n  \"ranks_per_host\": {},\n"
      "  \"nranks\": {},\n",
      jsonString(job.source), job.hosts, job.perHost, job.nranks);
  out += fmt::format(
      "  \"cost\": {{\"intra\": {{\"alpha_us\": {}, \"beta_ns_per_byte\": {}, "
      "\"gamma_ns_per_byte\": {}, \"gbps\": {}, \"basis\": {}}}, \"inter\": {{\"alpha_us\": {}, "
      "\"beta_ns_per_byte\": {}, \"gbps\": {}, \"basis\": {}}}}},\n",
      intra.alphaUs, intra.betaNsPerByte, intra.gammaNsPerByte, job.cost.intraGBps,
      jsonString(job.cost.intraBasis), inter.alphaUs, inter.betaNsPerByte, job.cost.interGBps,
      jsonString(job.cost.interBasis));
  out += "  \"collectives\": [\n";
  for (size_t i = 0; i < sweeps.size(); ++i) {
    const Sweep& sweep = sweeps[i];
    out += fmt::format("    {{\"collective\": {}, \"rows\": [\n",
                       jsonString(collectiveName(sweep.collective)));
    for (size_t j = 0; j < sweep.rows.size(); ++j) {
      const Row& row = sweep.rows[j];
      out += fmt::format("      {{\"size\": {}, \"count\": {}", row.call.bytes, row.call.count);
      for (Algorithm a : kShown) {
        const auto& us = row.us[static_cast<int>(a)];
        if (us) {
          out +=
              fmt::format(", \"{}\": {{\"time_us\": {}, \"algbw\": {}, \"busbw\": {}}}",
                          algorithmName(a), *us, *us > 0 ? double(row.call.bytes) / (*us * 1e3) : 0,
                          busbwGBps(sweep.collective, job.nranks, double(row.call.bytes), *us));
        } else {
          out += fmt::format(", \"{}\": null", algorithmName(a));
        }
      }
      out += fmt::format(", \"choice\": {}}}{}\n", jsonString(algorithmName(row.choice)),
                         j + 1 < sweep.rows.size() ? "," : "");
    }
    out += "    ]";
    if (sweep.collective == Collective::kAllReduce) {
      out += fmt::format(", \"tree_faster_up_to\": {}", treeCrossover(sweep));
    }
    out += fmt::format("}}{}\n", i + 1 < sweeps.size() ? "," : "");
  }
  out += "  ],\n";
  out += fmt::format("  \"plan_checks\": {}, \"plans_generated\": {},\n", totals.findings.checks,
                     totals.plans);
  out += fmt::format("  \"errors\": {},\n  \"warnings\": {},\n",
                     jsonList(totals.findings.errors.lines()),
                     jsonList(totals.findings.warnings.lines()));
  out += fmt::format("  \"validation_problems\": {}\n}}\n", jsonList(totals.validation.problems));
  std::ofstream file(path);
  file << out;
  file.close();
  if (!file) return makeError(tuttiSystemError, "cannot write {}", path);
  return Status::ok();
}

// Prints what was found; true when nothing is wrong.
bool report(const Sample& sample, const Totals& totals, bool validate) {
  const Findings& f = totals.findings;
  std::string hosts;
  for (size_t i = 0; i < sample.hosts.size() && i < 8; ++i) {
    hosts += fmt::format("{}{}", i ? "," : "", sample.hosts[i]);
  }
  if (sample.hosts.size() > 8) hosts += ",...";
  std::printf(
      "#\n# plan checks: %ld relations on the plans of %zu sampled ranks (every rank of "
      "hosts %s) at %zu sizes, %ld plans generated: %s\n",
      f.checks, sample.ranks.size(), hosts.c_str(), totals.sizes, totals.plans,
      f.errors.empty() ? "all hold" : "DISAGREEMENTS");
  for (const std::string& line : f.errors.lines()) std::printf("# ERROR %s\n", line.c_str());
  for (const std::string& line : f.warnings.lines()) std::printf("# warning %s\n", line.c_str());
  const Validation& v = totals.validation;
  if (validate) {
    const std::string matched =
        v.pairs > 0 ? fmt::format("; {} sampled rank-peer pairs' messages matched", v.pairs) : "";
    std::printf(
        "# validate: %ld calls verified symbolically (verifyPlans, out of place and in "
        "place) on %s%s: %s\n",
        v.verified, v.scope.c_str(), matched.c_str(), v.problems.empty() ? "ok" : "PROBLEMS");
    for (const std::string& problem : v.problems) {
      std::printf("# ERROR validate %s\n", problem.c_str());
    }
  }
  return f.errors.empty() && v.problems.empty();
}

// ---------------------------------------------------------------------------------------------
// Published NCCL figures (docs/simulation.md, "Published figures").

struct Published {
  const char* what;
  const char* file;
  bool shared;  // in the shared topologies folder, else the shipped one
  int hosts;
  int nvlinks;  // 0: as the file says
  int sm;       // 0: as the file says
  size_t bytes;
  double gbps;     // the published busbw (per NIC where perNic)
  double gbpsLow;  // the range it gives
  double gbpsHigh;
  bool perNic;
  const char* source;
};

// Sources (URL, who, what it says) are in the footer and docs/simulation.md.
const Published kPublished[] = {
    {"8 x H100 SXM, NVSwitch (DGX H100 file)", "dgx-h100.topo", false, 1, 0, 0, size_t{4} << 30,
     370, 370, 370, false, "[1] [2]"},
    {"8 x H100 SXM, NVSwitch (IBM Cloud gx3d NCCL dump)", "ibm-cloud-gx3d-h100x8.nccl.xml", true, 1,
     0, 0, size_t{4} << 30, 370, 370, 370, false, "[1] [2]"},
    {"8 x H100 SXM, NVSwitch (Azure ND H100 v5 skeleton + 18 NVLinks)", "azure-nd-h100-v5.nccl.xml",
     true, 1, 18, 90, size_t{4} << 30, 370, 370, 370, false, "[1] [2]"},
    {"8 x A100 SXM4, NVSwitch (Azure ND A100 v4 skeleton + 12 NVLinks)",
     "azure-nd-a100-v4.nccl.xml", true, 1, 12, 80, size_t{8} << 30, 230, 230, 230, false, "[3]"},
    {"8 x A100 SXM4, NVSwitch (AWS p4d skeleton + 12 NVLinks)", "aws-p4d.24xlarge.nccl.xml", true,
     1, 12, 80, size_t{8} << 30, 230, 230, 230, false, "[3]"},
    {"2 x DGX H100, 8 x 400G NDR per host, busbw per NIC", "dgx-h100.topo", false, 2, 0, 0,
     size_t{8} << 30, 47, 46, 48, true, "[4]"},
};

const char* kPublishedSources =
    "# [1] https://github.com/NVIDIA/nccl-tests/issues/212 (NCCL maintainer @sjeaugey, NVIDIA,\n"
    "#     2024-05-06): NVLink4 line rate is 450 GB/s; \"with the protocol overhead (~20%) NCCL\n"
    "#     can get an effective NVLink bandwidth of 370GB/s\", seen as busbw with NCCL_ALGO=RING.\n"
    "# [2] https://github.com/NVIDIA/nccl/issues/1455 (a user, 2024-09-19): 8 x H100 SXM,\n"
    "#     all_reduce_perf -b 2G -e 4G, NCCL_ALGO=RING: busbw 365-370 GB/s from 2 to 8 GPUs.\n"
    "# [3] https://github.com/NVIDIA/nccl-tests/issues/149 (@sjeaugey, 2023-07-05): A100's 12\n"
    "#     NVLinks have 25 GB/s line rate per direction, ~20 GB/s effective each, 240 GB/s\n"
    "#     in all; \"some other bottlenecks on the GPUs limits it to ~230GB/s\"; run to 8G.\n"
    "# [4] https://github.com/NVIDIA/nccl-tests/issues/290 (NCCL maintainer @AddyLaddy, NVIDIA,\n"
    "#     2025-03-03): benchmark two nodes with NCCL_ALGO=RING; \"For NDR @ 400Gbps you should\n"
    "#     see 46-48GB/s per NIC\".\n"
    "# The Azure and AWS files are PCIe skeletons without NVLinks or SMs: --nvlinks 12 --sm 80\n"
    "# adds A100's ([3]; NCCL's SM80 figure, 20 GB/s a link), --nvlinks 18 --sm 90 H100's (the\n"
    "# IBM dump's 5+5+4+4 per GPU; SM90 20.6 GB/s a link). Tutti's column is its ring\n"
    "# prediction, the algorithm the figures were taken with; per NIC: busbw / NICs per host.\n";

int comparePublished(const std::string& shippedDir, const std::string& sharedDir) {
  std::printf(
      "# tutti-sim --compare-published: Tutti's ring all_reduce prediction beside "
      "published NCCL figures (busbw, GB/s)\n");
  std::printf("# %-66s %8s %10s %10s %10s %7s  %s\n", "machine", "ranks", "size", "Tutti",
              "published", "error", "source");
  bool ok = true;
  for (const Published& entry : kPublished) {
    const std::string path = (entry.shared ? sharedDir : shippedDir) + "/" + entry.file;
    topo::Topology host;
    topo::TopologyFileFormat format;
    Status status = topo::loadTopologyFile(path, &host, &format);
    if (!status.isOk()) {
      std::printf("  %-66s skipped: %s\n", entry.what, status.message().c_str());
      continue;
    }
    Job job;
    status = makeJob(host, path, entry.hosts, 0, entry.nvlinks, entry.sm, &job);
    if (!status.isOk()) {
      std::printf("  %-66s ERROR %s\n", entry.what, status.message().c_str());
      ok = false;
      continue;
    }
    const Collective c = Collective::kAllReduce;
    const CallShape call = callShape(c, job.nranks, entry.bytes);
    // The plans of this call are checked as in a sweep.
    const Sample sample = sampleRanks(job);
    Totals totals;
    const Sweep one = sweep(job, sample, c, {entry.bytes}, false, &totals);
    const double us = *one.rows[0].us[static_cast<int>(Algorithm::kRing)];
    double busbw = busbwGBps(c, job.nranks, double(call.bytes), us);
    if (entry.perNic) busbw /= std::max(1, job.cost.nicsPerHost);
    const double error = (busbw - entry.gbps) / entry.gbps * 100;
    const std::string published = entry.gbpsLow == entry.gbpsHigh
                                      ? fmt::format("{:.0f}", entry.gbps)
                                      : fmt::format("{:.0f}-{:.0f}", entry.gbpsLow, entry.gbpsHigh);
    std::printf("  %-66s %8d %10zu %10.1f %10s %+6.1f%%  %s\n", entry.what, job.nranks, call.bytes,
                busbw, published.c_str(), error, entry.source);
    std::printf("  %-66s intra %.1f GB/s, inter %.1f GB/s; model's choice %s\n", "",
                job.cost.intraGBps, job.cost.interGBps, algorithmName(one.rows[0].choice));
    if (!job.machineNote.empty()) std::printf("  %-66s %s\n", "", job.machineNote.c_str());
    for (const std::string& error : totals.findings.errors.lines()) {
      std::printf("# ERROR %s\n", error.c_str());
      ok = false;
    }
  }
  std::printf(
      "# error = (Tutti - published) / published; a published range is compared at its "
      "middle.\n%s",
      kPublishedSources);
  return ok ? 0 : 1;
}

std::vector<size_t> sweepSizes(size_t minBytes, size_t maxBytes, double factor) {
  std::vector<size_t> sizes;
  for (double size = double(minBytes); size <= double(maxBytes); size *= factor) {
    sizes.push_back(static_cast<size_t>(size));
  }
  return sizes;
}

}  // namespace

int main(int argc, char** argv) {
  const auto started = std::chrono::steady_clock::now();
  CLI::App app{
      "tutti-sim: the cost model's predictions for a cluster of copies of a topology file, "
      "checked against the real plan generators"};
  std::string file, json, collectiveArg = "all_reduce";
  std::string shippedDir = TUTTI_SIM_SHIPPED_TOPOLOGIES, sharedDir = TUTTI_SIM_SHARED_TOPOLOGIES;
  int hosts = 0, gpusPerHost = 0, nvlinks = 0, sm = 0;
  size_t minBytes = 8, maxBytes = size_t{8} << 30;
  double factor = 2;
  bool validate = false, published = false;
  app.add_option("--topo", file, "one host's topology (Tutti text, NCCL XML or hwloc XML)");
  app.add_option("--hosts", hosts, "hosts in the cluster (copies of the file's host)")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--gpus-per-host", gpusPerHost,
                 "ranks per host, one per GPU (default: every GPU; required for CPU-only hosts)")
      ->check(CLI::Range(1, 4096));
  app.add_option("-b,--minbytes", minBytes, "smallest size, bytes (K, M, G: powers of 1024)")
      ->transform(CLI::AsSizeValue(false))
      ->default_str("8");
  app.add_option("-e,--maxbytes", maxBytes, "largest size")
      ->transform(CLI::AsSizeValue(false))
      ->default_str("8G");
  app.add_option("-f,--stepfactor", factor, "size multiplier")
      ->check(CLI::Range(1.01, 1024.0))
      ->default_str("2");
  app.add_option("--collective", collectiveArg, "all_reduce, all_gather, reduce_scatter or all")
      ->check(CLI::IsMember({"all_reduce", "all_gather", "reduce_scatter", "all"}))
      ->default_str("all_reduce");
  app.add_flag(
      "--validate", validate,
      "also verify plans symbolically (verifyPlans; all ranks up to 128, else the same "
      "ranks per host on fewer hosts) and match sampled ranks' messages with their peers'");
  app.add_option("--json", json, "also write the results to this file");
  app.add_option("--nvlinks", nvlinks,
                 "join every GPU to an NVSwitch by this many NVLinks, for files without NVLinks "
                 "(PCIe skeletons; A100 SXM4 has 12, H100 SXM 18: NVIDIA datasheets)")
      ->check(CLI::Range(1, 64));
  app.add_option("--sm", sm,
                 "compute capability x 10 for GPUs the file leaves unknown (80 A100, "
                 "90 H100): sets NCCL's NVLink bandwidth per link")
      ->check(CLI::Range(30, 200));
  app.add_flag("--compare-published", published,
               "compare with published NCCL figures (H100 and A100 over NVLink, 400G NDR between "
               "hosts) instead of a sweep");
  app.add_option("--topologies", shippedDir, "the shipped topology files, for --compare-published");
  app.add_option("--shared-topologies", sharedDir,
                 "the published machine files, for --compare-published");
  app.footer(
      "Sizes as nccl-tests counts them (float32): all_reduce S/4 elements, all_gather and "
      "reduce_scatter S/(4n) per rank. Ranks are host-major (rank = host x G + local GPU).\n"
      "Exit status: 0 when every plan check holds, 1 on a disagreement between the plans and the "
      "model or a validation failure, 2 on a usage error. docs/simulation.md describes the "
      "checks.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }
  if (published) return comparePublished(shippedDir, sharedDir);
  if (file.empty() || hosts == 0) {
    std::fprintf(stderr,
                 "tutti-sim: --topo FILE and --hosts N are required (or --compare-published)\n");
    return 2;
  }
  if (minBytes < kElementBytes || minBytes > maxBytes) {
    std::fprintf(stderr, "tutti-sim: sizes from %zu to %zu: need 4 <= -b <= -e (bytes)\n", minBytes,
                 maxBytes);
    return 2;
  }

  topo::Topology host;
  topo::TopologyFileFormat format;
  Status status = topo::loadTopologyFile(file, &host, &format);
  Job job;
  if (status.isOk()) {
    status = makeJob(host, fmt::format("{} ({})", file, topo::topologyFileFormatName(format)),
                     hosts, gpusPerHost, nvlinks, sm, &job);
  }
  if (!status.isOk()) {
    std::fprintf(stderr, "tutti-sim: %s\n", status.message().c_str());
    return 2;
  }
  printCost(job);

  std::vector<Collective> collectives;
  for (Collective c : kCollectives) {
    if (collectiveArg == "all" || collectiveArg == collectiveName(c)) collectives.push_back(c);
  }
  const std::vector<size_t> sizes = sweepSizes(minBytes, maxBytes, factor);
  const Sample sample = sampleRanks(job);
  Totals totals;
  totals.sizes = sizes.size();
  std::vector<Sweep> sweeps;
  for (Collective c : collectives) {
    sweeps.push_back(sweep(job, sample, c, sizes, validate, &totals));
    printSweep(job, sweeps.back());
  }
  const bool ok = report(sample, totals, validate);
  if (!json.empty()) {
    Status written = writeJson(json, job, sweeps, totals);
    if (!written.isOk()) {
      std::fprintf(stderr, "tutti-sim: %s\n", written.message().c_str());
      return 2;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("# %.1f s\n", seconds);
  return ok ? 0 : 1;
}
