// A group's point-to-point calls on one communicator (tuttiSend and tuttiRecv between
// tuttiGroupStart and tuttiGroupEnd) as one plan, so that they run together: grouped sends and
// receives of any sizes to any peers (an all-to-all-v) cannot deadlock.
//
// The core packs the sends' data into one buffer and the receives' destinations into another
// (offsets in bytes; the plan's elements are bytes). The plan posts every send first, in issue
// order, then every receive in issue order: the executor posts receives ahead and never waits on
// a send, so the only order that matters is each pair's, and both ends keep their issue order,
// as NCCL matches several messages to one peer. A rank's sends to itself pair with its receives
// from itself in issue order and become copies.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "algo/plan.h"

namespace tutti {

struct PeerTransfer {
  bool send = false;  // a send to peer; else a receive from peer
  int peer = 0;
  size_t offset = 0;  // bytes into the packed send (sends) or recv (receives) buffer
  size_t bytes = 0;
};

// Rank `rank`'s plan for its transfers, in issue order. nullopt with *problem set when a peer
// is outside [0, nranks) or the rank's sends to itself and receives from itself do not pair up
// (as many of each, the same sizes in order).
std::optional<Plan> peerExchangePlan(int nranks, int rank,
                                     const std::vector<PeerTransfer>& transfers,
                                     std::string* problem);

}  // namespace tutti
