// A rank lost in the middle of a transport's setup (its process died, or its init failed after
// one of the setup's exchanges) ends every other rank's setup with an error within seconds, not
// at the timeout: the ranks waiting for its connection ask the bootstrap whether their ring
// neighbours are still there (SetupChannel::checkPeers), its neighbours find its links closed and
// fail, and each rank that fails closes its own links, which its neighbours find in turn. Ranks
// are threads of this process over a real bootstrap on loopback.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/bootstrap.h"
#include "core/builtin_transports.h"
#include "core/loopback_root.h"

namespace tutti {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kRanks = 5;
constexpr int kTimeoutMs = 20000;  // what a rank waiting for the lost one would wait without
constexpr long kWithinMs = 5000;   // ranks' links found closed 50 ms a hop, on a loaded machine

// The bootstrap of the rank that is lost: its allGather number `lostAfter` completes, and then
// the rank is gone (its links closed) and says so to its transport, which gives up.
class LosingChannel : public SetupChannel {
 public:
  LosingChannel(std::unique_ptr<Bootstrap> boot, int lostAfter)
      : boot_(std::move(boot)),
        rank_(boot_->rank()),
        nranks_(boot_->nranks()),
        local_(boot_->localAddress()),
        lostAfter_(lostAfter) {
    std::copy(boot_->secret(), boot_->secret() + kSecretBytes, secret_);
  }
  int rank() const override { return rank_; }
  int nranks() const override { return nranks_; }
  const SockAddr& localAddress() const override { return local_; }
  const uint8_t* secret() const override { return secret_; }
  Status allGather(void* data, size_t bytesPerRank) override {
    if (boot_ == nullptr) return makeError(tuttiInternalError, "rank {} is gone", rank_);
    TUTTI_RETURN_IF_ERROR(boot_->allGather(data, bytesPerRank));
    if (--lostAfter_ > 0) return Status::ok();
    lostAt = Clock::now();
    boot_.reset();
    return makeError(tuttiInternalError, "rank {} is gone", rank_);
  }
  Status barrier() override {
    std::vector<char> slots(nranks_, 1);
    return allGather(slots.data(), 1);
  }

  Clock::time_point lostAt;

 private:
  std::unique_ptr<Bootstrap> boot_;
  int rank_;
  int nranks_;
  SockAddr local_;
  uint8_t secret_[kSecretBytes];
  int lostAfter_;
};

struct Case {
  const char* transport;
  int lostRank;
  int lostAfter;  // the transport's allGathers the lost rank completes: then its peers wait
  const char* waitsFor;
};

class SetupLossTest : public ::testing::TestWithParam<Case> {};

TEST_P(SetupLossTest, EveryOtherRanksSetupFailsSoonAfter) {
  const Case c = GetParam();
  const UniqueIdContents id = test::startLoopbackRoot(kTimeoutMs, kRanks);
  Params params;
  params.timeoutMs = kTimeoutMs;
  params.settings["TUTTI_SHM_SLOTS"] = "4";

  std::vector<Status> results(kRanks);
  std::vector<Clock::time_point> ended(kRanks);
  std::unique_ptr<LosingChannel> lost;
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int rank = 0; rank < kRanks; ++rank) {
    threads.emplace_back([&, rank] {
      std::unique_ptr<Bootstrap> boot;
      results[rank] = Bootstrap::create(id, rank, kRanks, params, nullptr, &boot);
      ++created;
      if (!results[rank].isOk()) return;
      std::unique_ptr<Transport> transport;
      for (const TransportEntry& entry : builtinTransports().entries()) {
        if (std::string(entry.name) == c.transport) {
          results[rank] = entry.create(params, &transport);
        }
      }
      if (transport == nullptr) return;
      std::vector<int> peers;
      for (int p = 0; p < kRanks; ++p) {
        if (p != rank) peers.push_back(p);
      }
      std::vector<std::unique_ptr<Connection>> connections;
      if (rank == c.lostRank) {
        // Written before the other threads look at it: they join first.
        lost = std::make_unique<LosingChannel>(std::move(boot), c.lostAfter);
        results[rank] = transport->connect(*lost, peers, &connections);
      } else {
        results[rank] = transport->connect(*boot, peers, &connections);
      }
      ended[rank] = Clock::now();
      // Returning destroys the bootstrap, as a failed init does: the neighbours see it.
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(created.load(), kRanks);
  ASSERT_NE(lost, nullptr);
  for (int rank = 0; rank < kRanks; ++rank) {
    if (rank == c.lostRank) continue;
    const Status& status = results[rank];
    const long ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(ended[rank] - lost->lostAt).count();
    std::printf("%s, rank %d lost (peers wait for %s): rank %d failed %ld ms after: %s\n",
                c.transport, c.lostRank, c.waitsFor, rank, ms, status.message().c_str());
    EXPECT_EQ(status.code(), tuttiRemoteError) << "rank " << rank << ": " << status.message();
    EXPECT_LE(ms, kWithinMs) << "rank " << rank << " waited for the timeout: " << status.message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Transports, SetupLossTest,
    ::testing::Values(
        // tcp: after the address exchange the lower rank of each pair connects and the higher one
        // accepts. Rank 0 lost there: every other rank waits to accept its connection, and only
        // the neighbours' closed links (checkPeers) end those waits before the timeout.
        Case{"tcp", 0, 1, "its connection"},
        // shm: a rank rings its lower peers' doorbells before the agreement that precedes the
        // waits for doorbells, so a rank lost after the segments are agreed is found by that
        // agreement's allGather (its neighbours' links close under it), not by a doorbell wait.
        Case{"shm", kRanks - 1, 2, "the agreement before its doorbells"}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return std::string(info.param.transport) + "_rank" + std::to_string(info.param.lostRank);
    });

}  // namespace
}  // namespace tutti
