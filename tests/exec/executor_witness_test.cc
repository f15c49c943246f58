// A call whose peers never answer (a mismatch with no data edge between the differing ranks)
// fails naming both calls as soon as the communicator's CallWitness knows a rank in another
// call, and publishes itself there after half a second of stall; without a difference or a
// witness it waits for its timeout.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "algo/algorithm.h"
#include "exec/executor.h"
#include "exec/host_mover.h"
#include "transports/still_connection.h"

namespace tutti {
namespace {

using Clock = std::chrono::steady_clock;

class FakeWitness : public CallWitness {
 public:
  void publish(const CallDescriptor& call) override { published.push_back(call); }
  bool differs(const CallDescriptor& mine, int* peer, CallDescriptor* theirs) const override {
    if (!knowsOther || other.sequence != mine.sequence) return false;
    *peer = 1;
    *theirs = other;
    return true;
  }
  std::string whereIs(int peer, const CallDescriptor& mine) override {
    asked.push_back(peer);
    return "rank " + std::to_string(peer) + " is somewhere else";
  }
  std::vector<CallDescriptor> published;
  std::vector<int> asked;  // the peers whereIs was asked about
  bool knowsOther = false;
  CallDescriptor other;
};

struct Outcome {
  Status status;
  long ms;
};

Outcome runStalledCall(CallWitness* witness, int timeoutMs) {
  constexpr size_t kCount = 64;
  Params params;
  params.timeoutMs = timeoutMs;
  HostMover mover;
  Executor executor(params, &mover);
  executor.setWitness(witness);
  ProgressEngine engine(WaitPolicy{0, 0, timeoutMs}, nullptr);
  StillConnection peer;
  const std::vector<Connection*> connections = {nullptr, &peer};
  const Plan plan = makePlan(Algorithm::kRing, Collective::kAllReduce, 2, 0, kCount);
  const CallDescriptor call =
      describeCall(7, Collective::kAllReduce, kCount, tuttiFloat32, tuttiSum, 0);
  std::vector<float> send(kCount, 1.0f);
  std::vector<float> recv(kCount, 0.0f);
  const auto start = Clock::now();
  Status status = executor.run(plan, CallBuffers{send.data(), recv.data()}, tuttiFloat32, tuttiSum,
                               connections, engine, &call);
  const long ms = static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  return Outcome{status, ms};
}

TEST(ExecutorWitnessTest, AStalledCallFailsOnAnotherRanksPublishedCall) {
  FakeWitness witness;
  witness.knowsOther = true;
  witness.other = describeCall(7, Collective::kAllGather, 32, tuttiFloat32, tuttiSum, 0);
  const Outcome run = runStalledCall(&witness, 30000);
  EXPECT_EQ(run.status.code(), tuttiInvalidUsage) << run.status.message();
  EXPECT_NE(run.status.message().find("collective mismatch: rank 1 called all_gather(count 32, "
                                      "float) as call #7 while rank 0 called all_reduce(count "
                                      "64, float, sum) as call #7"),
            std::string::npos)
      << run.status.message();
  // Found at the first stall report, long before the timeout, and before publishing: the other
  // rank had.
  EXPECT_GE(run.ms, ProgressEngine::kStallReportMs);
  EXPECT_LT(run.ms, 5000);
  EXPECT_TRUE(witness.published.empty());
}

TEST(ExecutorWitnessTest, AStalledCallWithoutADifferenceWaitsForItsTimeout) {
  FakeWitness witness;  // knows no other call
  const Outcome withWitness = runStalledCall(&witness, 1200);
  EXPECT_EQ(withWitness.status.code(), tuttiTimeout) << withWitness.status.message();
  EXPECT_GE(withWitness.ms, 1200);
  // Once per call, however many stall reports, after kPublishAfterStalls of them.
  ASSERT_EQ(witness.published.size(), 1u);
  EXPECT_EQ(callText(witness.published[0]), "all_reduce(count 64, float, sum)");
  // The timeout's message says where the witness saw the rank the call waited for.
  EXPECT_EQ(witness.asked, std::vector<int>{1});
  EXPECT_NE(withWitness.status.message().find("waiting for rank 1 to start call #7"),
            std::string::npos)
      << withWitness.status.message();
  EXPECT_NE(withWitness.status.message().find("; the watch says rank 1 is somewhere else"),
            std::string::npos)
      << withWitness.status.message();
  const Outcome alone = runStalledCall(nullptr, 400);
  EXPECT_EQ(alone.status.code(), tuttiTimeout) << alone.status.message();
}

}  // namespace
}  // namespace tutti
