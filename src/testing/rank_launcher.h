// Local ranks as forked processes, for the multi-process tests (tests/mp/harness) and for
// tutti-perf -np alike: one way to start them, wait for them, kill the ones that hang, and say
// how each ended. It lives in src/testing rather than perf/ because the tests use it and build
// without perf/ (TUTTI_BUILD_PERF=OFF). Ranks inherit stdout and stderr: their logs interleave
// in the caller's output, where ctest and the user already look.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace tutti::test {

// How one rank ended.
struct RankExit {
  pid_t pid = -1;
  bool exited = false;  // exited on its own with code
  int code = 0;
  int signal = 0;         // killed by this signal (when not exited)
  bool timedOut = false;  // still running at the deadline and killed
  bool ok() const { return exited && code == 0; }
};

struct RankLaunch {
  std::string error;            // the fork failed (no rank is left running); empty otherwise
  int timeoutSec = 0;           // as given to forkRanks
  std::vector<RankExit> ranks;  // per rank, when every rank started
  bool ok() const;              // started, and every rank exited with 0
  // Which ranks failed and how ("rank 1 exited with 3; rank 2 died of signal 9; "), for a
  // test's failure message.
  std::string failures() const;
  // The process's exit status for a tool: the highest code of any rank (a usage error the
  // ranks found, 2, stays one), 1 for a rank that did not exit by itself.
  int exitStatus() const;
};

// Runs body(rank) in nranks forked processes, each exiting with body's return value without
// returning into the caller (no destructors or test framework code run twice). Ranks still
// running after timeoutSec are killed; timeoutSec <= 0 waits for ever.
RankLaunch forkRanks(int nranks, const std::function<int(int rank)>& body, int timeoutSec);

}  // namespace tutti::test
