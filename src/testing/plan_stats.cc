#include "testing/plan_stats.h"

#include <algorithm>

namespace tutti::test {

PlanStats planStats(const Plan& plan, const std::vector<int>& hostOfRank, size_t halfOffset,
                    double elementBytes) {
  PlanStats stats;
  const int host = hostOfRank[plan.rank];
  auto halfOf = [&](const Region& region) { return region.offset < halfOffset ? 0 : 1; };
  for (const Step& step : plan.steps) {
    const double bytes = static_cast<double>(step.count) * elementBytes;
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

std::vector<size_t> messagesWith(const Plan& plan, int peer, bool sending) {
  std::vector<size_t> sizes;
  for (const Step& step : plan.steps) {
    if (sending && stepSends(step.kind) && step.sendPeer == peer) sizes.push_back(step.count);
    if (!sending && stepReceives(step.kind) && step.recvPeer == peer) sizes.push_back(step.count);
  }
  return sizes;
}

}  // namespace tutti::test
