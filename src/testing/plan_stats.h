// What a plan does, counted from its steps: the messages and bytes it sends (on and off its
// host), the bytes it reduces, and for the tree, which peer each half's reduction goes up to.
// tutti-sim compares these with the cost model's terms; they are facts about algo/plan.h's
// plans, not about the tool, so they sit beside the other shared test pieces (and are a
// candidate to move next to plan_verify in src/algo).
#pragma once

#include <cstddef>
#include <vector>

#include "algo/plan.h"

namespace tutti::test {

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

// hostOfRank[r]: rank r's host. halfOffset: where the second half (the second tree's data)
// starts, in elements; 0 when the plan has one.
PlanStats planStats(const Plan& plan, const std::vector<int>& hostOfRank, size_t halfOffset,
                    double elementBytes);

// The element counts of the messages plan sends to peer (sending) or receives from it, in
// order: two ranks' plans agree when each one's sends to the other are the other's receives.
std::vector<size_t> messagesWith(const Plan& plan, int peer, bool sending);

}  // namespace tutti::test
