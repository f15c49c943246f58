#include "algo/peer_exchange.h"

#include <fmt/format.h>

namespace tutti {

std::optional<Plan> peerExchangePlan(int nranks, int rank,
                                     const std::vector<PeerTransfer>& transfers,
                                     std::string* problem) {
  Plan plan;
  startPlan(&plan, Collective::kSendRecv, "p2p", nranks, rank, 0);
  std::vector<const PeerTransfer*> selfSends, selfRecvs;
  for (const PeerTransfer& t : transfers) {
    if (t.peer < 0 || t.peer >= nranks) {
      *problem = fmt::format("peer {} is outside [0, nranks = {})", t.peer, nranks);
      return std::nullopt;
    }
    if (!t.send) plan.count += t.bytes;
    if (t.peer == rank) {
      (t.send ? selfSends : selfRecvs).push_back(&t);
    } else if (t.send) {
      appendSend(&plan, t.peer, Region{BufferId::kSend, t.offset}, t.bytes);
    }
  }
  if (selfSends.size() != selfRecvs.size()) {
    *problem = fmt::format("{} send(s) to itself (rank {}) but {} receive(s) from itself",
                           selfSends.size(), rank, selfRecvs.size());
    return std::nullopt;
  }
  for (size_t i = 0; i < selfSends.size(); ++i) {
    if (selfSends[i]->bytes != selfRecvs[i]->bytes) {
      *problem = fmt::format(
          "send {} to itself has {} bytes, the receive from itself it pairs with {} bytes", i,
          selfSends[i]->bytes, selfRecvs[i]->bytes);
      return std::nullopt;
    }
    appendCopy(&plan, Region{BufferId::kSend, selfSends[i]->offset},
               Region{BufferId::kRecv, selfRecvs[i]->offset}, selfSends[i]->bytes);
  }
  for (const PeerTransfer& t : transfers) {
    if (!t.send && t.peer != rank) {
      appendRecv(&plan, t.peer, Region{BufferId::kRecv, t.offset}, t.bytes);
    }
  }
  return plan;
}

}  // namespace tutti
