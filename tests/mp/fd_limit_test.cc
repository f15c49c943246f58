// Too few file descriptors (ulimit -n 64, 8 ranks): init ends on every rank, with exact results
// or with an error naming the limit and how to raise it; never a signal, never a hang.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "mp/exact_round.h"
#include "mp/harness.h"
#include "testing/rank_launcher.h"

namespace tutti::test {
namespace {

constexpr int kRanks = 8;
constexpr rlim_t kFdLimit = 64;

// Exit codes of a rank.
constexpr int kExact = 0;
constexpr int kWrong = 1;
constexpr int kNamedFdLimit = 3;  // init failed, saying file descriptors ran out and what to do
constexpr int kOtherError = 4;    // init failed otherwise (a peer that ran out, a timeout)

int rankUnderFdLimit(int rank, const tuttiUniqueId& id, const char* socketsPerPeer) {
  rlimit limit{kFdLimit, kFdLimit};
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return kWrong;
  setenv("TUTTI_TRANSPORT", "tcp", 1);
  setenv("TUTTI_NSOCKS_PERPEER", socketsPerPeer, 1);
  tuttiConfig_t config = TUTTI_CONFIG_INITIALIZER;
  config.timeoutMs = 5000;
  tuttiComm_t comm = nullptr;
  if (tuttiCommInitRankConfig(&comm, kRanks, id, rank, &config) != tuttiSuccess) {
    const std::string message = tuttiGetLastError(nullptr);
    std::fprintf(stderr, "rank %d: %s\n", rank, message.c_str());
    const bool named = message.find("file descriptor") != std::string::npos &&
                       message.find("ulimit -n") != std::string::npos;
    return named ? kNamedFdLimit : kOtherError;
  }
  long wrong = exactRound(comm, rank, kRanks);
  tuttiCommDestroy(comm);
  return wrong == 0 ? kExact : kWrong;
}

struct Outcome {
  int exact = 0;
  int namedFdLimit = 0;
  int otherError = 0;
  std::string bad;  // ranks that ended otherwise: a signal, a hang, wrong results
};

Outcome runUnderFdLimit(const char* socketsPerPeer) {
  RankLaunch launch = forkRanksSharingId(
      kRanks,
      [&](int rank, const tuttiUniqueId& id) { return rankUnderFdLimit(rank, id, socketsPerPeer); },
      120);
  Outcome outcome;
  if (!launch.error.empty()) outcome.bad = launch.error;
  for (size_t r = 0; r < launch.ranks.size(); ++r) {
    const RankExit& exit = launch.ranks[r];
    if (exit.exited && exit.code == kExact) {
      ++outcome.exact;
    } else if (exit.exited && exit.code == kNamedFdLimit) {
      ++outcome.namedFdLimit;
    } else if (exit.exited && exit.code == kOtherError) {
      ++outcome.otherError;
    } else {
      outcome.bad += "rank " + std::to_string(r) + (exit.timedOut ? " hung" : "") +
                     (exit.exited ? " exited with " + std::to_string(exit.code)
                                  : " died of signal " + std::to_string(exit.signal)) +
                     "; ";
    }
  }
  return outcome;
}

// 16 sockets to each of 7 peers cannot fit in 64 descriptors: init must fail, and the rank that
// ran out must say so.
TEST(FdLimitTest, RunningOutIsAnErrorNamingTheLimit) {
  Outcome outcome = runUnderFdLimit("16");
  EXPECT_TRUE(outcome.bad.empty()) << outcome.bad;
  EXPECT_EQ(outcome.exact, 0);
  EXPECT_GE(outcome.namedFdLimit, 1);
}

// The default sockets per peer: whether 64 suffices depends on what else a rank holds open;
// either every rank gets exact results, or the error names the limit.
TEST(FdLimitTest, EightRanksUnderUlimit64EndCleanly) {
  Outcome outcome = runUnderFdLimit("2");
  EXPECT_TRUE(outcome.bad.empty()) << outcome.bad;
  std::printf("8 ranks, ulimit -n 64: %d exact, %d named the limit, %d other errors\n",
              outcome.exact, outcome.namedFdLimit, outcome.otherError);
  EXPECT_TRUE(outcome.exact == kRanks || outcome.namedFdLimit >= 1);
}

}  // namespace
}  // namespace tutti::test
