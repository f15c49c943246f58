// Local ranks as forked processes, for the multi-process tests (tests/mp/harness) and for
// tutti-perf -np alike: one way to start them, wait for them, kill the ones that hang, and say
// how each ended. It lives in src/testing rather than perf/ because the tests use it and build
// without perf/ (TUTTI_BUILD_PERF=OFF). Ranks inherit stdout and stderr: their logs interleave
// in the caller's output, where ctest and the user already look.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tutti/tutti.h"

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

// forkRanks, with bytes from the parent made only once every rank is forked: the parent then
// calls handout() and sends what it returns to each rank, whose body receives it. A test's
// unique id is made this way, so that the bootstrap root thread it starts does not exist yet
// when the parent forks (a lock another thread holds at fork, an allocator's say, stays locked
// in the child for ever: under AddressSanitizer such ranks hung in their first allocation).
// handout() returning nothing ends every rank with code 98 and the launch with an error.
RankLaunch forkRanksWithHandout(int nranks,
                                const std::function<std::optional<std::string>()>& handout,
                                const std::function<int(int rank, const std::string&)>& body,
                                int timeoutSec);

// forkRanks for ranks that share a unique id: the parent makes it once they are forked and
// hands it to each (forkRanksWithHandout says why). If the id cannot be made, the launch's
// error says so ("tuttiGetUniqueId: ...") and the ranks end without running body.
RankLaunch forkRanksSharingId(int nranks,
                              const std::function<int(int rank, const tuttiUniqueId& id)>& body,
                              int timeoutSec);

}  // namespace tutti::test
