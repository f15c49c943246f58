// Where a call's descriptors go: for a collective whose descriptors follow its data, only with
// the data (to the peers the plan sends to, from the peers it receives from); for a rooted
// collective or count 0, to and from every connected peer.
#include "exec/call_exchange.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "algo/algorithm.h"

namespace tutti {
namespace {

// Counts the descriptors posted to and from one peer.
class CountingPeer : public Connection {
 public:
  explicit CountingPeer(int peer) : peer_(peer) {}
  int peer() const override { return peer_; }
  MemoryDomain& memoryDomain() override { return domain_; }
  Status postSend(const Slice&, TransferRequest* request) override {
    ++sends;
    request->done = true;
    return Status::ok();
  }
  Status postRecv(const Slice& slice, TransferRequest* request) override {
    ++recvs;
    if (answer != nullptr) {  // the peer's descriptor is there at once
      std::memcpy(slice.data(), answer, sizeof(CallDescriptor));
      request->done = true;
    }
    return Status::ok();
  }
  Status progress(bool*) override { return Status::ok(); }
  bool busy() const override { return false; }
  bool armWait(std::vector<WaitSource>*) override { return false; }
  void shutdown() override {}

  int sends = 0;  // queued or posted
  int recvs = 0;
  const CallDescriptor* answer = nullptr;  // set: every receive completes with it

 private:
  int peer_;
  MemoryDomain domain_;
};

constexpr int kRanks = 4;

// Rank 0's connections to ranks 1..3 of 4 (connections[0] is nullptr).
struct PeersOfRankZero {
  PeersOfRankZero() : connections(kRanks, nullptr) {
    for (int peer = 1; peer < kRanks; ++peer) {
      peers.push_back(std::make_unique<CountingPeer>(peer));
      connections[peer] = peers.back().get();
    }
  }
  std::vector<std::unique_ptr<CountingPeer>> peers;
  std::vector<Connection*> connections;
};

struct Exchanged {
  std::vector<int> sends;  // by peer, after the call's data went to every data peer
  std::vector<int> recvs;
};

// Rank 0 of 4 starts the exchange of `call` for a recursive-doubling plan (data with ranks 1 and
// 2 only) and sends its first data to every peer the plan sends to.
Exchanged exchange(const CallDescriptor& call, Collective collective, size_t count) {
  PeersOfRankZero rankZero;
  std::vector<std::unique_ptr<CountingPeer>>& peers = rankZero.peers;
  std::vector<Connection*>& connections = rankZero.connections;
  const Plan plan =
      makePlan(Algorithm::kRecursiveDoubling, collective, kRanks, 0, count, {}, /*root=*/0);
  std::vector<char> buffers(4 * count * kRanks + 64);
  char* const bases[3] = {buffers.data(), buffers.data() + buffers.size() / 2, nullptr};
  LoweredPlan lowered;
  lowered.lower(plan, bases, 4, 1 << 20);
  CallExchange exchange;
  std::vector<Connection*> active;
  EXPECT_TRUE(exchange.start(call, 0, lowered, connections, &active).isOk());
  for (const LoweredSlice& slice : lowered.slices()) {
    if (!stepSends(slice.step->kind)) continue;
    const int peer = slice.step->sendPeer;
    EXPECT_TRUE(exchange.beforeFirstSend(peer, connections[peer]).isOk());
  }
  Exchanged out{std::vector<int>(kRanks, 0), std::vector<int>(kRanks, 0)};
  for (const auto& peer : peers) {
    out.sends[peer->peer()] = peer->sends;
    out.recvs[peer->peer()] = peer->recvs;
  }
  return out;
}

TEST(CallExchangeTest, DescriptorsFollowTheDataOfAnAllReduce) {
  const CallDescriptor call =
      describeCall(3, Collective::kAllReduce, 64, tuttiFloat32, tuttiSum, 0);
  ASSERT_TRUE(descriptorsFollowData(call));
  const Exchanged out = exchange(call, Collective::kAllReduce, 64);
  // Recursive doubling on 4 ranks: rank 0 exchanges data with 1 and 2, never with 3.
  EXPECT_EQ(out.sends, (std::vector<int>{0, 1, 1, 0}));
  EXPECT_EQ(out.recvs, (std::vector<int>{0, 1, 1, 0}));
}

TEST(CallExchangeTest, RootedCallsAndCountZeroExchangeWithEveryPeer) {
  const CallDescriptor broadcast =
      describeCall(3, Collective::kBroadcast, 64, tuttiFloat32, tuttiSum, 0);
  ASSERT_FALSE(descriptorsFollowData(broadcast));
  Exchanged out = exchange(broadcast, Collective::kBroadcast, 64);
  EXPECT_EQ(out.sends, (std::vector<int>{0, 1, 1, 1}));
  EXPECT_EQ(out.recvs, (std::vector<int>{0, 1, 1, 1}));

  const CallDescriptor empty =
      describeCall(3, Collective::kAllReduce, 0, tuttiFloat32, tuttiSum, 0);
  ASSERT_FALSE(descriptorsFollowData(empty));
  out = exchange(empty, Collective::kAllReduce, 0);
  EXPECT_EQ(out.sends, (std::vector<int>{0, 1, 1, 1}));
  EXPECT_EQ(out.recvs, (std::vector<int>{0, 1, 1, 1}));
}

// One exchange object for consecutive calls, as the executor keeps it: a call with fewer peers
// than the one before must wait for its own peers only.
TEST(CallExchangeTest, ACallWaitsOnlyForItsOwnPeersAfterACallWithMore) {
  PeersOfRankZero rankZero;
  std::vector<std::unique_ptr<CountingPeer>>& peers = rankZero.peers;
  std::vector<Connection*>& connections = rankZero.connections;
  std::vector<char> buffers(4096);
  char* const bases[3] = {buffers.data(), buffers.data() + 2048, nullptr};
  CallExchange exchange;
  std::vector<Connection*> active;

  // A broadcast exchanges with every peer; none answers.
  const CallDescriptor broadcast =
      describeCall(1, Collective::kBroadcast, 64, tuttiFloat32, tuttiSum, 0);
  // A lowered plan points into its plan: both live to the end.
  const Plan broadcastPlan =
      makePlan(Algorithm::kRecursiveDoubling, Collective::kBroadcast, kRanks, 0, 64, {}, 0);
  LoweredPlan first;
  first.lower(broadcastPlan, bases, 4, 1 << 20);
  ASSERT_TRUE(exchange.start(broadcast, 0, first, connections, &active).isOk());
  ASSERT_TRUE(exchange.poll().isOk());
  EXPECT_GT(exchange.pending(), 0u);

  // Then an all-reduce by recursive doubling: ranks 1 and 2 only, and both answer at once.
  const CallDescriptor allReduce =
      describeCall(2, Collective::kAllReduce, 64, tuttiFloat32, tuttiSum, 0);
  for (auto& peer : peers) peer->answer = &allReduce;
  const Plan allReducePlan =
      makePlan(Algorithm::kRecursiveDoubling, Collective::kAllReduce, kRanks, 0, 64, {}, 0);
  LoweredPlan second;
  second.lower(allReducePlan, bases, 4, 1 << 20);
  active.clear();
  ASSERT_TRUE(exchange.start(allReduce, 0, second, connections, &active).isOk());
  for (int peer : {1, 2}) ASSERT_TRUE(exchange.beforeFirstSend(peer, connections[peer]).isOk());
  ASSERT_TRUE(exchange.poll().isOk());
  EXPECT_TRUE(exchange.matched(1));
  EXPECT_TRUE(exchange.matched(2));
  EXPECT_EQ(exchange.pending(), 0u);
  // Rank 3's unanswered broadcast descriptor is not this call's business.
  int awaited = -1;
  EXPECT_EQ(exchange.describeWait(&awaited), "");
  EXPECT_EQ(awaited, -1);
  EXPECT_EQ(active.size(), 2u);
}

}  // namespace
}  // namespace tutti
