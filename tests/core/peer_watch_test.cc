// The bootstrap watch with its ranks as threads: which ranks link, a verdict reaching every
// rank, and a goodbye that is no failure. Killed and stopped processes: tests/mp/root_cause_test.
#include "core/peer_watch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "transports/fake_setup_channel.h"

namespace tutti {
namespace {

// Every rank reaches every other over links, without the rank `gone` (-1: none).
bool connectedWithout(int nranks, int gone) {
  std::vector<bool> seen(nranks, false);
  const int start = gone == 0 ? 1 : 0;
  std::vector<int> todo = {start};
  seen[start] = true;
  while (!todo.empty()) {
    const int rank = todo.back();
    todo.pop_back();
    for (int peer : watchLinks(rank, nranks)) {
      if (peer == gone || seen[peer]) continue;
      seen[peer] = true;
      todo.push_back(peer);
    }
  }
  for (int rank = 0; rank < nranks; ++rank) {
    if (rank != gone && !seen[rank]) return false;
  }
  return true;
}

TEST(PeerWatchTest, LinksAreSymmetricFewAndSurviveAnyOneRankGone) {
  for (int nranks = 1; nranks <= 70; ++nranks) {
    int most = 0;
    for (int rank = 0; rank < nranks; ++rank) {
      const std::vector<int> links = watchLinks(rank, nranks);
      EXPECT_TRUE(std::is_sorted(links.begin(), links.end()));
      EXPECT_EQ(std::count(links.begin(), links.end(), rank), 0);
      for (int peer : links) {
        const std::vector<int> back = watchLinks(peer, nranks);
        EXPECT_NE(std::find(back.begin(), back.end(), rank), back.end())
            << nranks << " ranks: " << rank << " links " << peer << " but not back";
      }
      most = std::max(most, static_cast<int>(links.size()));
    }
    int log2 = 0;
    while ((1 << log2) < nranks) ++log2;
    EXPECT_LE(most, 2 * log2) << nranks << " ranks";
    EXPECT_TRUE(connectedWithout(nranks, -1)) << nranks << " ranks";
    for (int gone = 0; nranks >= 3 && gone < nranks; ++gone) {
      EXPECT_TRUE(connectedWithout(nranks, gone)) << nranks << " ranks without " << gone;
    }
  }
  EXPECT_EQ(watchLinks(0, 8), (std::vector<int>{1, 2, 4, 6, 7}));
}

// nranks watches created together (create is collective), each recording the verdict it heard.
struct Watches {
  explicit Watches(int nranks) : group(nranks), heard(nranks), watches(nranks) {
    std::vector<std::unique_ptr<SetupChannel>> channels;
    for (int rank = 0; rank < nranks; ++rank) channels.push_back(group.channel(rank));
    std::vector<Status> created(nranks, Status::ok());
    std::vector<std::thread> threads;
    for (int rank = 0; rank < nranks; ++rank) {
      threads.emplace_back([&, rank] {
        created[rank] = PeerWatch::create(
            *channels[rank], /*heartbeatTimeoutMs=*/0, /*timeoutMs=*/10000,
            [this, rank](const Verdict& verdict) {
              std::lock_guard<std::mutex> lock(mutex);
              heard[rank].push_back(verdict);
            },
            &watches[rank]);
      });
    }
    for (std::thread& thread : threads) thread.join();
    for (const Status& status : created) EXPECT_TRUE(status.isOk()) << status.message();
  }

  // Waits up to 5 s until every rank but `except` heard a verdict.
  bool everyoneHeard(int except) {
    const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < giveUp) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        bool all = true;
        for (size_t rank = 0; rank < heard.size(); ++rank) {
          all = all && (static_cast<int>(rank) == except || !heard[rank].empty());
        }
        if (all) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  FakeSetupGroup group;
  std::mutex mutex;
  std::vector<std::vector<Verdict>> heard;
  std::vector<std::unique_ptr<PeerWatch>> watches;
};

TEST(PeerWatchTest, AnAnnouncedFailureReachesEveryRankOnce) {
  Watches group(6);
  const Verdict inForce =
      group.watches[2]->announce(Verdict{4, 2, tuttiTimeout, "rank 2 waited for rank 4"});
  EXPECT_EQ(inForce.failedRank, 4);
  // A second announcement does not replace the first.
  EXPECT_EQ(group.watches[2]->announce(Verdict{1, 2, tuttiRemoteError, "later"}).failedRank, 4);
  ASSERT_TRUE(group.everyoneHeard(-1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a second verdict would be here
  std::lock_guard<std::mutex> lock(group.mutex);
  for (int rank = 0; rank < 6; ++rank) {
    ASSERT_EQ(group.heard[rank].size(), 1u) << "rank " << rank;
    const Verdict& verdict = group.heard[rank][0];
    EXPECT_EQ(verdict.failedRank, 4);
    EXPECT_EQ(verdict.reporter, 2);
    EXPECT_EQ(verdict.code, tuttiTimeout);
    EXPECT_EQ(verdict.what, "rank 2 waited for rank 4");
  }
}

// Two failures found at once by two ranks: each rank keeps the first verdict it heard (either),
// but every rank learns both failed ranks, so that the survivors can agree on a shrink's list.
TEST(PeerWatchTest, SeveralFailuresAtOnceReachEveryRankAsFailedRanks) {
  constexpr int kRanks = 8;
  Watches group(kRanks);
  std::thread other([&] { group.watches[6]->announce(Verdict{1, 6, tuttiRemoteError, "b"}); });
  group.watches[2]->announce(Verdict{4, 2, tuttiRemoteError, "a"});
  other.join();
  ASSERT_TRUE(group.everyoneHeard(-1));
  // A named rank (told of its own failure: a stopped one that runs again) knows the other one;
  // it lists itself only where its verdict names it.
  auto contains = [](const std::vector<int>& ranks, int rank) {
    return std::find(ranks.begin(), ranks.end(), rank) != ranks.end();
  };
  const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (int rank = 0; rank < kRanks; ++rank) {
    auto complete = [&](const std::vector<int>& known) {
      return (rank == 1 || contains(known, 1)) && (rank == 4 || contains(known, 4));
    };
    std::vector<int> known = group.watches[rank]->failedRanks();
    while (!complete(known) && std::chrono::steady_clock::now() < giveUp) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      known = group.watches[rank]->failedRanks();
    }
    Verdict verdict;
    ASSERT_TRUE(group.watches[rank]->verdict(&verdict));
    std::vector<int> expected;
    for (int failed : {1, 4}) {
      if (failed != rank || verdict.failedRank == rank) expected.push_back(failed);
    }
    EXPECT_EQ(known, expected) << "rank " << rank;
  }
  std::lock_guard<std::mutex> lock(group.mutex);
  for (int rank = 0; rank < kRanks; ++rank) {
    ASSERT_EQ(group.heard[rank].size(), 1u) << "rank " << rank;  // one verdict each, still
    EXPECT_TRUE(group.heard[rank][0].failedRank == 1 || group.heard[rank][0].failedRank == 4);
  }
}

// Two ranks ask one rank at once (each its first query, so both carry number 1): each gets the
// answer, which floods back to it over ranks that are not linked to the one asked. A rank that
// answers nothing leaves the asker waiting only as long as it said.
TEST(PeerWatchTest, EveryAskerGetsTheAnswerOfTheRankItAsked) {
  constexpr int kRanks = 8;
  Watches group(kRanks);
  group.watches[5]->answerQueriesWith([] { return PeerWatch::Whereabouts{"in no call", -1}; });
  PeerWatch::Whereabouts heard[2];
  bool got[2] = {false, false};
  std::thread other([&] { got[1] = group.watches[3]->ask(5, 5000, &heard[1]); });
  got[0] = group.watches[0]->ask(5, 5000, &heard[0]);  // rank 0 has no link to rank 5
  other.join();
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(got[i]) << "asker " << i;
    EXPECT_EQ(heard[i].text, "in no call") << "asker " << i;
    EXPECT_EQ(heard[i].awaiting, -1) << "asker " << i;
  }
  PeerWatch::Whereabouts none;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(group.watches[0]->ask(6, 100, &none));  // rank 6 answers nothing
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  Verdict verdict;
  EXPECT_FALSE(group.watches[0]->verdict(&verdict)) << verdict.what;  // asking is no failure
}

// whereIs follows the chain of waits: the rank asked says whom it waits for, that rank is asked
// in turn, and so on to the rank that waits for nobody, or one that does not answer, or a rank
// asked before (a cycle), or the asker itself.
TEST(PeerWatchTest, WhereIsFollowsTheChainOfWaitsToItsEnd) {
  constexpr int kRanks = 8;
  Watches group(kRanks);
  const CallDescriptor mine = describeCall(2, Collective::kAllReduce, 8, tuttiInt32, tuttiSum, 0);
  auto answers = [&](int rank, int awaiting) {
    const std::string text = awaiting < 0 ? "in no call (rank " + std::to_string(rank) + ")"
                                          : "waiting for rank " + std::to_string(awaiting);
    group.watches[rank]->answerQueriesWith([text, awaiting] {
      return PeerWatch::Whereabouts{text, awaiting};
    });
  };
  auto has = [](const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  };
  answers(5, 2);
  answers(2, 6);
  answers(6, -1);
  std::string where = group.watches[0]->whereIs(5, mine);
  EXPECT_TRUE(has(where,
                  "; the chain of waits: rank 0 -> 5 -> 2 -> 6, which awaits no rank's "
                  "bytes; asked now, rank 5 answered in "))
      << where;
  EXPECT_TRUE(has(where, " ms: it is waiting for rank 2; asked in turn, rank 2 answered in "))
      << where;
  EXPECT_TRUE(has(where, " ms: it is waiting for rank 6; asked in turn, rank 6 answered in "))
      << where;
  EXPECT_TRUE(has(where, " ms: it is in no call (rank 6)")) << where;

  answers(6, 5);
  where = group.watches[0]->whereIs(5, mine);
  EXPECT_TRUE(has(where, "; the chain of waits: rank 0 -> 5 -> 2 -> 6 -> 5, a cycle of waits"))
      << where;
  EXPECT_TRUE(has(where, "; rank 6 waits for rank 5, asked before: a cycle of waits")) << where;

  answers(6, 0);
  where = group.watches[0]->whereIs(5, mine);
  EXPECT_TRUE(has(where, "; the chain of waits: rank 0 -> 5 -> 2 -> 6 -> 0, back to this rank"))
      << where;
  EXPECT_TRUE(has(where, "; rank 6 waits for this rank")) << where;

  answers(6, 7);  // rank 7 answers nothing
  const auto start = std::chrono::steady_clock::now();
  where = group.watches[0]->whereIs(5, mine);
  EXPECT_TRUE(has(where, "rank 6 answered in ")) << where;
  EXPECT_TRUE(has(where, "-> 6 -> 7, which did not answer;")) << where;
  EXPECT_TRUE(has(where, "; asked in turn, rank 7 did not answer within the ")) << where;
  // One budget for the whole chain: a quarter of the 10 s timeout, 500 ms at most.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2000));

  // Rank 7 leaves (a goodbye to its links, rank 0 among them): it is not asked.
  group.watches[7].reset();
  const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (group.watches[0]->departed() != 7 && std::chrono::steady_clock::now() < giveUp) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  where = group.watches[0]->whereIs(5, mine);
  EXPECT_TRUE(has(where, "-> 6 -> 7, which has failed or left;")) << where;
  EXPECT_TRUE(has(where, "; rank 6 waits for rank 7, which has failed or left")) << where;
  Verdict verdict;
  EXPECT_FALSE(group.watches[0]->verdict(&verdict)) << verdict.what;
}

TEST(PeerWatchTest, ADestroyedWatchSaysGoodbyeAndIsNoFailure) {
  Watches group(3);
  group.watches[1].reset();
  const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while ((group.watches[0]->departed() != 1 || group.watches[2]->departed() != 1) &&
         std::chrono::steady_clock::now() < giveUp) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(group.watches[0]->departed(), 1);
  EXPECT_EQ(group.watches[2]->departed(), 1);
  Verdict verdict;
  EXPECT_FALSE(group.watches[0]->waitVerdict(200, &verdict)) << verdict.what;
  EXPECT_FALSE(group.watches[2]->verdict(&verdict)) << verdict.what;
}

// Rank 1 leaves first; rank 0, seeing it gone, says goodbye only to rank 2 and closes while rank
// 1 is still leaving. Rank 1 must not call that closing a death and tell rank 2 (it did, and
// failed the last call of ranks still finishing: tests/mp collectives, once in a few runs).
TEST(PeerWatchTest, ARankLeavingJudgesNoPeerThatLeavesAfterIt) {
  Watches group(3);
  group.watches[1]->depart();
  const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while ((group.watches[0]->departed() != 1 || group.watches[2]->departed() != 1) &&
         std::chrono::steady_clock::now() < giveUp) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(group.watches[0]->departed(), 1);
  group.watches[0].reset();  // no goodbye to rank 1, which departed
  Verdict verdict;
  EXPECT_FALSE(group.watches[2]->waitVerdict(300, &verdict)) << verdict.what;
  EXPECT_FALSE(group.watches[1]->verdict(&verdict)) << verdict.what;
  std::lock_guard<std::mutex> lock(group.mutex);
  EXPECT_TRUE(group.heard[1].empty());
  EXPECT_TRUE(group.heard[2].empty());
}

// A shrink's meeting address floods to every rank still linked, here with a rank gone first
// (its links say goodbye: they carry nothing more), and each rank passes it on once.
TEST(PeerWatchTest, AMeetingReachesEveryRankStillLinked) {
  Watches group(6);
  group.watches[3].reset();
  WireAddr root{};
  root.family = 2;
  root.port = 4242;
  root.addr[0] = 127;
  root.addr[3] = 1;
  group.watches[1]->offerMeeting(7, root);
  for (int rank : {0, 1, 2, 4, 5}) {
    WireAddr heard{};
    Status status = group.watches[rank]->waitMeeting(7, 5000, &heard);
    ASSERT_TRUE(status.isOk()) << "rank " << rank << ": " << status.message();
    EXPECT_EQ(std::memcmp(&heard, &root, sizeof(root)), 0) << "rank " << rank;
  }
  // Another shrink's number is another meeting: none was offered.
  WireAddr other{};
  const Status none = group.watches[4]->waitMeeting(8, 100, &other);
  EXPECT_EQ(none.code(), tuttiTimeout) << none.message();
  // No verdict came of it, and the departed rank is no failed rank.
  Verdict verdict;
  EXPECT_FALSE(group.watches[0]->verdict(&verdict)) << verdict.what;
  EXPECT_TRUE(group.watches[0]->failedRanks().empty());
}

// A published call floods to every rank (8 ranks: most are not linked to the publisher), and
// differs() finds it only for a call of the same number that is another call.
TEST(PeerWatchTest, APublishedCallReachesEveryRankAndDiffersOnlyFromAnotherCall) {
  constexpr int kRanks = 8;
  Watches group(kRanks);
  const CallDescriptor usual =
      describeCall(5, Collective::kAllReduce, 100, tuttiFloat32, tuttiSum, 0);
  const CallDescriptor other =
      describeCall(5, Collective::kAllGather, 25, tuttiFloat32, tuttiSum, 0);
  group.watches[3]->publish(other);
  for (int rank = 0; rank < kRanks; ++rank) {
    if (rank == 3) continue;
    int peer = -1;
    CallDescriptor theirs;
    const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!group.watches[rank]->differs(usual, &peer, &theirs) &&
           std::chrono::steady_clock::now() < giveUp) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_EQ(peer, 3) << "rank " << rank;
    EXPECT_EQ(callText(theirs), callText(other)) << "rank " << rank;
    // The same call, or a call of another number, is no difference.
    EXPECT_FALSE(group.watches[rank]->differs(other, &peer, &theirs)) << "rank " << rank;
    const CallDescriptor later =
        describeCall(6, Collective::kAllReduce, 100, tuttiFloat32, tuttiSum, 0);
    EXPECT_FALSE(group.watches[rank]->differs(later, &peer, &theirs)) << "rank " << rank;
  }
  // The publisher never differs from itself, and no verdict came of it.
  int peer = -1;
  CallDescriptor theirs;
  EXPECT_FALSE(group.watches[3]->differs(usual, &peer, &theirs));
  Verdict verdict;
  EXPECT_FALSE(group.watches[0]->verdict(&verdict)) << verdict.what;
}

// A revoke is a verdict naming no failed rank: every rank hears it as a revoke, once.
TEST(PeerWatchTest, ARevokeReachesEveryRankAndNamesNoFailedRank) {
  Watches group(5);
  group.watches[3]->announce(Verdict{-1, 3, tuttiInvalidUsage, "revoked", /*revoked=*/true});
  ASSERT_TRUE(group.everyoneHeard(-1));
  std::lock_guard<std::mutex> lock(group.mutex);
  for (int rank = 0; rank < 5; ++rank) {
    ASSERT_EQ(group.heard[rank].size(), 1u) << "rank " << rank;
    EXPECT_TRUE(group.heard[rank][0].revoked) << "rank " << rank;
    EXPECT_EQ(group.heard[rank][0].reporter, 3);
    EXPECT_EQ(group.heard[rank][0].code, tuttiInvalidUsage);
    EXPECT_TRUE(group.watches[rank]->failedRanks().empty()) << "rank " << rank;
  }
}

}  // namespace
}  // namespace tutti
