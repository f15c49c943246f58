// Bootstrap among threads of one process: meeting at the root, the ring allgather, and the
// errors of a wrong secret and of a rank that never arrives.
#include "core/bootstrap.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "base/handshake.h"
#include "core/loopback_root.h"
#include "testing/strangers.h"

namespace tutti {
namespace {

using test::connectStranger;
using test::kStrangerKinds;
using test::ListenerAddress;
using test::StrangerKind;

UniqueIdContents startRoot(int timeoutMs, int expectedRanks = 0) {
  return test::startLoopbackRoot(timeoutMs, expectedRanks);
}

// nranks threads meet at the root and allgather; EXPECTs every rank's slot everywhere.
void meetAndAllGather(const UniqueIdContents& id, int nranks) {
  Params params;
  params.timeoutMs = 10000;
  std::vector<std::vector<int>> gathered(nranks);
  std::vector<std::thread> threads;
  std::vector<Status> results(nranks);
  for (int rank = 0; rank < nranks; ++rank) {
    threads.emplace_back([&, rank] {
      std::unique_ptr<Bootstrap> boot;
      results[rank] = Bootstrap::create(id, rank, nranks, params, nullptr, &boot);
      if (!results[rank].isOk()) return;
      gathered[rank].assign(nranks, -1);
      gathered[rank][rank] = rank * 10;
      results[rank] = boot->allGather(gathered[rank].data(), sizeof(int));
      if (results[rank].isOk()) results[rank] = boot->barrier();
    });
  }
  for (auto& thread : threads) thread.join();
  for (int rank = 0; rank < nranks; ++rank) {
    ASSERT_TRUE(results[rank].isOk()) << results[rank].message();
    for (int r = 0; r < nranks; ++r) EXPECT_EQ(gathered[rank][r], r * 10);
  }
}

TEST(BootstrapTest, RanksMeetAndAllGather) {
  for (int nranks : {1, 2, 3, 5}) meetAndAllGather(startRoot(10000), nranks);
}

// Two ranks; rank 1 comes to each of two allgathers `lateMs` after rank 0. Each wait alone is
// shorter than the timeout, the two together longer. Returns each rank's status of the second
// allgather, and how long rank 0 took from its bootstrap's start to that status.
struct LateRanks {
  Status second[2];
  std::chrono::milliseconds rank0Ms{0};
};
LateRanks allGatherWithALateRank(int timeoutMs, int initTimeoutMs, int lateMs, bool endSetup) {
  const UniqueIdContents id = startRoot(10000);
  Params params;
  params.timeoutMs = timeoutMs;
  params.initTimeoutMs = initTimeoutMs;
  LateRanks result;
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 2; ++rank) {
    threads.emplace_back([&, rank] {
      const auto start = std::chrono::steady_clock::now();
      std::unique_ptr<Bootstrap> boot;
      Status status = Bootstrap::create(id, rank, 2, params, nullptr, &boot);
      if (status.isOk() && endSetup) boot->endSetup();
      int slots[2] = {rank, rank};
      for (int round = 0; round < 2 && status.isOk(); ++round) {
        if (rank == 1) std::this_thread::sleep_for(std::chrono::milliseconds(lateMs));
        status = boot->allGather(slots, sizeof(int));
      }
      result.second[rank] = status;
      if (rank == 0) {
        result.rank0Ms = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  return result;
}

// TUTTI_INIT_TIMEOUT_MS is one deadline for all of setup's waits: a rank late to every step
// cannot stretch init past it.
TEST(BootstrapTest, InitTimeoutIsOneDeadlineForAllSetupWaits) {
  const LateRanks late = allGatherWithALateRank(1500, 1500, 1000, false);
  // (Rank 1 may still succeed: rank 0's entry already waits in its socket when it comes.)
  EXPECT_EQ(late.second[0].code(), tuttiTimeout) << late.second[0].message();
  EXPECT_LT(late.rank0Ms, std::chrono::milliseconds(1900)) << late.second[0].message();
}

// Without it (the default), each wait has TUTTI_TIMEOUT_MS to itself; and with it, so do the
// waits after endSetup (init is over).
TEST(BootstrapTest, WithoutInitTimeoutOrAfterSetupEachWaitHasItsOwnTimeout) {
  for (const bool endSetup : {false, true}) {
    const LateRanks late = allGatherWithALateRank(1500, endSetup ? 1500 : 0, 1000, endSetup);
    EXPECT_TRUE(late.second[0].isOk()) << late.second[0].message();
    EXPECT_TRUE(late.second[1].isOk()) << late.second[1].message();
    EXPECT_GE(late.rank0Ms, std::chrono::milliseconds(1900));
  }
}

TEST(BootstrapTest, WrongSecretIsRejected) {
  UniqueIdContents id = startRoot(3000);
  UniqueIdContents forged = id;
  forged.secret[0] ^= 1;
  Params params;
  params.timeoutMs = 3000;
  std::unique_ptr<Bootstrap> boot;
  Status status = Bootstrap::create(forged, 0, 1, params, nullptr, &boot);
  EXPECT_EQ(status.code(), tuttiRemoteError);
  EXPECT_NE(status.message().find("secret"), std::string::npos) << status.message();
}

TEST(BootstrapTest, MissingRankTimesOutWithItsNumber) {
  UniqueIdContents id = startRoot(1000);
  Params params;
  params.timeoutMs = 5000;
  std::unique_ptr<Bootstrap> boot;
  auto start = std::chrono::steady_clock::now();
  Status status = Bootstrap::create(id, 0, 2, params, nullptr, &boot);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(status.code(), tuttiTimeout);
  EXPECT_NE(status.message().find("missing ranks: 1"), std::string::npos) << status.message();
  EXPECT_LT(elapsed, std::chrono::seconds(4));
}

// Rank 1 of 3 arrives at the root and gives up (its abort flag, as a killed process's closed
// socket would look to the root) while rank 2 has not come yet: the meeting cannot complete, and
// rank 0, waiting there, learns it at once instead of at its timeout.
TEST(BootstrapTest, ARankGoneAtTheRootEndsTheMeeting) {
  UniqueIdContents id = startRoot(20000);
  Params params;
  params.timeoutMs = 20000;
  std::atomic<bool> giveUp{false};
  Status gone;
  std::thread leaver([&] {
    std::unique_ptr<Bootstrap> boot;
    gone = Bootstrap::create(id, 1, 3, params, &giveUp, &boot);
  });
  std::thread aborter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // rank 1's hello is in by now
    giveUp.store(true);
  });
  std::unique_ptr<Bootstrap> boot;
  auto start = std::chrono::steady_clock::now();
  Status status = Bootstrap::create(id, 0, 3, params, nullptr, &boot);
  auto elapsed = std::chrono::steady_clock::now() - start;
  leaver.join();
  aborter.join();
  EXPECT_EQ(gone.code(), tuttiRemoteError) << gone.message();
  EXPECT_EQ(status.code(), tuttiRemoteError) << status.message();
  EXPECT_NE(status.message().find("rank 1 closed its link"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("missing ranks: 2"), std::string::npos) << status.message();
  EXPECT_LT(elapsed, std::chrono::seconds(3)) << status.message();
}

ListenerAddress rootListener(const UniqueIdContents& id) {
  ListenerAddress listener;
  EXPECT_TRUE(fromWire(id.root, &listener.tcp).isOk());
  return listener;
}

// What the root answers a connection it turns away (RootReply in bootstrap.cc).
struct Answer {
  int32_t result = -1;
  char message[252] = {0};
};

Answer answerTo(const Fd& conn) {
  Answer answer;
  EXPECT_TRUE(recvAll(conn.get(), &answer, sizeof(answer), Deadline::afterMs(3000)).isOk());
  answer.message[sizeof(answer.message) - 1] = '\0';
  return answer;
}

// A well-formed hello, with the right secret, claiming 2^31-1 ranks, used to make the root
// allocate for them and abort on std::bad_alloc; it is an error for that connection alone.
TEST(BootstrapTest, AbsurdRankCountIsAnErrorForThatConnectionNotACrash) {
  UniqueIdContents id = startRoot(10000);
  Fd absurd = connectStranger(rootListener(id), StrangerKind::kAbsurdCount, id.secret);
  ASSERT_TRUE(absurd.valid());
  Answer answer = answerTo(absurd);
  EXPECT_EQ(answer.result, tuttiInvalidArgument);
  EXPECT_NE(std::string(answer.message).find("rank count 2147483647"), std::string::npos)
      << answer.message;
  meetAndAllGather(id, 3);
}

// TUTTI_COMM_ID: anyone who knows the string can derive its secret, so rank 0 tells the root
// the rank count, and a hello with another one is turned away even when it comes first.
TEST(BootstrapTest, RootThatKnowsTheRankCountRefusesAnother) {
  UniqueIdContents id = startRoot(10000, 2);
  Fd other = connectStranger(rootListener(id), StrangerKind::kSilent, nullptr);
  Hello hello = makeHello(HelloKind::kBootstrapRoot, id.secret, 0);
  hello.count = 5;
  ASSERT_TRUE(sendHello(other.get(), hello, Deadline::afterMs(1000)).isOk());
  Answer answer = answerTo(other);
  EXPECT_EQ(answer.result, tuttiInvalidArgument);
  EXPECT_NE(std::string(answer.message).find("gathers 2"), std::string::npos) << answer.message;
  meetAndAllGather(id, 2);
}

// Strangers of every kind, connected to the root before any rank, cost the ranks nothing: each
// silent one used to hold the root for 5 s.
TEST(BootstrapTest, StrangersOfEveryKindDoNotDelayTheRanks) {
  UniqueIdContents id = startRoot(10000);
  std::vector<Fd> strangers;
  for (int round = 0; round < 10; ++round) {
    for (int kind = 0; kind < kStrangerKinds; ++kind) {
      strangers.push_back(
          connectStranger(rootListener(id), static_cast<StrangerKind>(kind), id.secret));
    }
  }
  const auto start = std::chrono::steady_clock::now();
  meetAndAllGather(id, 3);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 1.0);
}

// Strangers that keep coming do not keep the root past its timeout.
TEST(BootstrapTest, TimeoutHoldsWhileStrangersKeepComing) {
  UniqueIdContents id = startRoot(1000);
  std::atomic<bool> stop{false};
  std::thread flood([&] {
    std::vector<Fd> strangers;
    for (int i = 0; !stop.load() && i < 1000; ++i) {
      strangers.push_back(connectStranger(rootListener(id), StrangerKind::kSilent, nullptr));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  Params params;
  params.timeoutMs = 8000;
  std::unique_ptr<Bootstrap> boot;
  const auto start = std::chrono::steady_clock::now();
  Status status = Bootstrap::create(id, 0, 2, params, nullptr, &boot);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  stop.store(true);
  flood.join();
  EXPECT_EQ(status.code(), tuttiTimeout) << status.message();
  EXPECT_NE(status.message().find("missing ranks: 1"), std::string::npos) << status.message();
  EXPECT_LT(elapsed, std::chrono::milliseconds(2500));
}

}  // namespace
}  // namespace tutti
