#include "algo/recursive_doubling.h"

#include <algorithm>
#include <cmath>

#include "algo/powers_of_two.h"

namespace tutti {
namespace {

// The fold for n that is not a power of two: of the first 2 * extra ranks, each odd rank hands
// its input to the even rank below it and sits out; the remaining p ranks, renumbered 0..p-1,
// run recursive doubling.
struct Fold {
  int p;      // ranks in the recursive doubling core
  int extra;  // n - p folded-out ranks

  explicit Fold(int nranks) : p(largestPowerOfTwoAtMost(nranks)), extra(nranks - p) {}
  bool inPair(int rank) const { return rank < 2 * extra; }
  bool foldedOut(int rank) const { return inPair(rank) && rank % 2 == 1; }
  int coreRank(int rank) const { return inPair(rank) ? rank / 2 : rank - extra; }
  int realRank(int core) const { return core < extra ? core * 2 : core + extra; }
};

void addRecvReduce(Plan* plan, int peer, Region src, Region dst, size_t count, bool finalize) {
  Step step;
  step.kind = StepKind::kRecvReduce;
  step.recvPeer = peer;
  step.src = src;
  step.dst = dst;
  step.count = count;
  step.finalize = finalize;
  appendStep(plan, step);
}

void appendAllReduce(Plan* plan) {
  const Fold fold(plan->nranks);
  const int rank = plan->rank;
  const size_t count = plan->count;
  const Region input{BufferId::kSend, 0};
  const Region output{BufferId::kRecv, 0};
  if (fold.foldedOut(rank)) {
    appendSend(plan, rank - 1, input, count);
    appendRecv(plan, rank - 1, output, count);  // already finalized by the partner
    return;
  }
  // The first reduction reads the input where it is: no copy into recv for out-of-place calls.
  Region current = input;
  if (fold.inPair(rank)) {
    addRecvReduce(plan, rank + 1, input, output, count, /*finalize=*/false);
    current = output;
  }
  const int core = fold.coreRank(rank);
  for (int mask = 1; mask < fold.p; mask *= 2) {
    const int partner = fold.realRank(core ^ mask);
    appendSend(plan, partner, current, count);
    addRecvReduce(plan, partner, current, output, count, /*finalize=*/mask * 2 == fold.p);
    current = output;
  }
  if (fold.inPair(rank)) appendSend(plan, rank + 1, output, count);
}

// Chunk c of the recv buffer is rank c's contribution. Before round `mask` a rank holds the
// mask chunks of its aligned block; the partner's block is the adjacent one.
void appendAllGather(Plan* plan) {
  const int n = plan->nranks;
  const int rank = plan->rank;
  const size_t count = plan->count;
  auto block = [&](int chunk) {
    return Region{BufferId::kRecv, static_cast<size_t>(chunk) * count};
  };
  Step copy;
  copy.kind = StepKind::kCopy;
  copy.src = Region{BufferId::kSend, 0};
  copy.dst = block(rank);
  copy.count = count;
  for (int mask = 1; mask < n; mask *= 2) {
    const int partner = rank ^ mask;
    const size_t blockCount = static_cast<size_t>(mask) * count;
    // The first round sends the own block from the send buffer and copies it into place after,
    // so that the partner's transfer overlaps the local copy.
    appendSend(plan, partner, mask == 1 ? copy.src : block(rank & ~(mask - 1)), blockCount);
    if (mask == 1) appendStep(plan, copy);
    appendRecv(plan, partner, block(partner & ~(mask - 1)), blockCount);
  }
}

// Chunk c of the send buffer is everyone's contribution to rank c. The live range starts as all
// n chunks; each round keeps the aligned half holding `rank` and hands the other half to the
// partner, who keeps it. Partial sums live in scratch, which holds the half kept after the first
// round (chunk c at (c mod n/2) * count).
void appendReduceScatter(Plan* plan) {
  const int n = plan->nranks;
  const int rank = plan->rank;
  const size_t count = plan->count;
  const int half = n / 2;
  plan->scratchCount = static_cast<size_t>(half) * count;
  auto input = [&](int chunk) {
    return Region{BufferId::kSend, static_cast<size_t>(chunk) * count};
  };
  auto partial = [&](int chunk) {
    return Region{BufferId::kScratch, static_cast<size_t>(chunk % half) * count};
  };
  bool firstRound = true;
  int live = 0;  // first chunk of the live range, which is 2 * mask chunks long
  for (int mask = half; mask >= 1; mask /= 2) {
    const int partner = rank ^ mask;
    const int keep = (rank & mask) != 0 ? live + mask : live;
    const int give = (rank & mask) != 0 ? live : live + mask;
    const size_t rangeCount = static_cast<size_t>(mask) * count;
    const bool last = mask == 1;
    appendSend(plan, partner, firstRound ? input(give) : partial(give), rangeCount);
    addRecvReduce(plan, partner, firstRound ? input(keep) : partial(keep),
                  last ? Region{BufferId::kRecv, 0} : partial(keep), rangeCount, last);
    live = keep;
    firstRound = false;
  }
}

CostTerms recursiveDoublingCostTerms(Collective collective, const CostShape& shape) {
  const double n = shape.n;
  const double s = shape.s;
  const double log2p = floorLog2(shape.nranks);
  // Partners at distance below the ranks per host (a power of two, hosts contiguous) stay on
  // the host; the rest, and the fold's exchanges, cross. Every rank of a host crosses in the
  // same rounds.
  const double intraLevels =
      shape.crossesHosts ? std::min<double>(log2p, floorLog2(std::max(1, shape.perHost))) : log2p;
  const double interLevels = log2p - intraLevels;
  CostTerms terms;
  if (collective == Collective::kAllReduce) {
    // In, then the result back out.
    const double fold = shape.nranks > largestPowerOfTwoAtMost(shape.nranks) ? 1 : 0;
    terms.intraRounds = intraLevels + (shape.crossesHosts ? 0 : 2 * fold);
    terms.interRounds = interLevels + (shape.crossesHosts ? 2 * fold : 0);
    terms.intraWireBytes = (log2p + 2 * fold) * s;
    terms.interWireBytes = shape.crossesHosts ? shape.perHost * terms.interRounds * s : 0;
    terms.reducedBytes = (log2p + fold) * s;
    terms.messageBytes = s;
  } else {
    // All-gather doubles its message from S/n, reduce-scatter halves it from S/2: the rounds at
    // distance >= m move (n - m)/n x S per rank either way.
    const double m = std::pow(2.0, intraLevels);
    terms.intraRounds = intraLevels;
    terms.interRounds = interLevels;
    terms.intraWireBytes = (n - 1) / n * s;
    terms.interWireBytes = shape.crossesHosts ? shape.perHost * (n - m) / n * s : 0;
    terms.reducedBytes = collective != Collective::kAllGather ? (n - 1) / n * s : 0;
    terms.messageBytes = s / 2;  // from S/n in the first round to S/2 in the last
  }
  // The busiest rank's, as an average too: a fold's odd ranks send less, the rest alike.
  terms.averageWireBytes = terms.intraWireBytes;
  terms.averageReducedBytes = terms.reducedBytes;
  return terms;
}

bool recursiveDoublingApplies(Collective collective, int nranks, const HostShape&) {
  return recursiveDoublingSupports(collective, nranks);
}

std::optional<Plan> recursiveDoublingPlanOnLayout(Collective collective, int nranks, int rank,
                                                  size_t count, int, const std::vector<int>&) {
  return recursiveDoublingPlan(collective, nranks, rank, count);
}

std::vector<int> recursiveDoublingPeersOnLayout(int nranks, int rank, const std::vector<int>&) {
  return recursiveDoublingPeers(nranks, rank);
}

}  // namespace

const AlgorithmEntry kRecursiveDoublingAlgorithm = {
    "rd",
    "recursive_doubling",
    &recursiveDoublingApplies,
    &recursiveDoublingPlanOnLayout,
    &recursiveDoublingPeersOnLayout,
    &recursiveDoublingCostTerms,
};

bool recursiveDoublingSupports(Collective collective, int nranks) {
  if (nranks < 1) return false;
  if (collective == Collective::kAllReduce) return true;
  const bool gatherOrScatter =
      collective == Collective::kAllGather || collective == Collective::kReduceScatter;
  return gatherOrScatter && isPowerOfTwo(nranks);
}

std::optional<Plan> recursiveDoublingPlan(Collective collective, int nranks, int rank,
                                          size_t count) {
  if (!recursiveDoublingSupports(collective, nranks)) return std::nullopt;
  Plan plan;
  if (startPlan(&plan, collective, "rd", nranks, rank, count)) return plan;

  switch (collective) {
    case Collective::kAllReduce:
      appendAllReduce(&plan);
      break;
    case Collective::kAllGather:
      appendAllGather(&plan);
      break;
    case Collective::kReduceScatter:
      appendReduceScatter(&plan);
      break;
    default:
      break;  // recursiveDoublingSupports refused it above
  }
  return plan;
}

std::vector<int> recursiveDoublingPeers(int nranks, int rank) {
  std::vector<int> peers;
  if (nranks < 2) return peers;
  // All-gather and reduce-scatter run only where n is a power of two, where there is no fold
  // and their partners rank ^ mask are the all-reduce's: the all-reduce's peers cover all three.
  const Fold fold(nranks);
  if (fold.foldedOut(rank)) return {rank - 1};
  if (fold.inPair(rank)) peers.push_back(rank + 1);
  const int core = fold.coreRank(rank);
  for (int mask = 1; mask < fold.p; mask *= 2) peers.push_back(fold.realRank(core ^ mask));
  std::sort(peers.begin(), peers.end());
  return peers;
}

}  // namespace tutti
