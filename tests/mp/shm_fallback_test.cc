// The shared-memory transport's fallbacks, forced for real: ptrace rules that forbid reading a
// peer's memory (the single-copy path turns off, the FIFOs carry everything), a rank that cannot
// open its peer's segment (every rank falls back to TCP alike), and a /dev/shm too small for the
// segments (the same fallback, found at setup). Results stay exact.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/comm_info.h"
#include "mp/exact_round.h"
#include "mp/harness.h"
#include "testing/small_dev_shm.h"

namespace tutti::test {
namespace {

// A process that is not dumpable may be read only by one holding CAP_SYS_PTRACE, which a
// hardened container or an unprivileged user does not have.
bool makeNotDumpable() { return prctl(PR_SET_DUMPABLE, 0) == 0; }

bool dropPtraceCapability() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  data[0].effective &= ~(1u << CAP_SYS_PTRACE);
  return syscall(SYS_capset, &header, data) == 0;
}

// Whether a child may read its parent's memory here at all (seccomp may forbid it outright).
bool crossMemoryAttachWorks() {
  static volatile uint64_t word = 0x1234;
  pid_t parent = getpid();
  pid_t child = fork();
  if (child == 0) {
    uint64_t value = 0;
    iovec local{&value, sizeof(value)};
    iovec remote{const_cast<uint64_t*>(&word), sizeof(value)};
    bool ok =
        process_vm_readv(parent, &local, 1, &remote, 1, 0) == sizeof(value) && value == 0x1234;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string transportOf(tuttiComm_t comm) {
  CommInfo info;
  return getCommInfo(comm, &info).isOk() ? info.transport : "?";
}

// A rank's body: creates a communicator, checks that it runs over `expected` (shm/cma, shm or
// tcp) and that a round of collectives is exact. 0 when all holds.
int exactOver(const char* expected, int rank, int nranks, const tuttiUniqueId& id) {
  tuttiComm_t comm = initComm(rank, nranks, id);
  if (comm == nullptr) return 2;
  std::string transport = transportOf(comm);
  if (transport != expected) {
    std::fprintf(stderr, "rank %d: transport %s, expected %s\n", rank, transport.c_str(), expected);
    return 1;
  }
  long wrong = exactRound(comm, rank, nranks);
  tuttiCommDestroy(comm);
  return wrong == 0 ? 0 : 1;
}

TEST(ShmFallbackTest, SingleCopyIsUsedWhereCrossMemoryAttachWorks) {
  if (!crossMemoryAttachWorks()) GTEST_SKIP() << "process_vm_readv is not permitted here";
  LaunchResult result = runRanks(3, [](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_SHM_CMA", "1", 1);  // on even where the ranks outnumber the CPUs
    return exactOver("shm/cma", rank, nranks, id);
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// Segments a killed process left in /dev/shm under the names this rank's pid would give, as a
// later process gets the same pid once pids wrap (32768 by default: a long test run or a busy
// node gets there), must not turn shm off: names carry a random tag too. Without it rank 0's
// first segment (created O_EXCL) collided and every rank fell back to tcp.
TEST(ShmFallbackTest, StaleSegmentsOfAnEarlierProcessWithTheSamePidDoNotTurnShmOff) {
  if (!crossMemoryAttachWorks()) GTEST_SKIP() << "process_vm_readv is not permitted here";
  LaunchResult result = runRanks(3, [](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_SHM_CMA", "1", 1);
    std::vector<std::string> stale;
    for (int peer = rank + 1; peer < nranks; ++peer) {
      stale.push_back("/tutti-" + std::to_string(getpid()) + "-0-" + std::to_string(rank) + "-" +
                      std::to_string(peer));
      const int fd = shm_open(stale.back().c_str(), O_CREAT | O_RDWR, 0600);
      if (fd < 0) return 4;
      close(fd);
    }
    const int code = exactOver("shm/cma", rank, nranks, id);
    for (const std::string& name : stale) shm_unlink(name.c_str());
    return code;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

TEST(ShmFallbackTest, PtraceRulesThatForbidReadingPeersTurnSingleCopyOff) {
  // No rank readable and no rank privileged; then only rank 1 unprivileged, so that ranks 0 and 2
  // could read everyone but rank 1 could not: the choice must still be the same on every rank.
  for (bool onlyRank1 : {false, true}) {
    LaunchResult result = runRanks(3, [onlyRank1](int rank, int nranks, const tuttiUniqueId& id) {
      setenv("TUTTI_SHM_CMA", "1", 1);  // so that only the probe can turn it off
      if (!makeNotDumpable() || ((!onlyRank1 || rank == 1) && !dropPtraceCapability())) {
        std::fprintf(stderr, "rank %d: could not drop CAP_SYS_PTRACE\n", rank);
        return 2;
      }
      return exactOver("shm", rank, nranks, id);  // without cma
    });
    EXPECT_TRUE(result.ok) << (onlyRank1 ? "rank 1: " : "all ranks: ") << result.failure;
  }
}

TEST(ShmFallbackTest, CmaDisabledByEnvironment) {
  LaunchResult result = runRanks(2, [](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_SHM_CMA", "0", 1);
    return exactOver("shm", rank, nranks, id);
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

TEST(ShmFallbackTest, RankThatCannotOpenTheSegmentMakesEveryRankUseTcp) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run one rank as another user";
  LaunchResult result = runRanks(3, [](int rank, int nranks, const tuttiUniqueId& id) {
    // Rank 2 becomes "nobody": the segments rank 0 and 1 create (mode 0600) are closed to it.
    if (rank == 2 && setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) != 0) {
      return 2;
    }
    // Ranks 0 and 1 could share memory with each other, but the choice is collective.
    return exactOver("tcp", rank, nranks, id);
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// A container's /dev/shm (64 MiB by default) that cannot hold the segments: each is checked to be
// backed at setup, and every rank falls back to tcp with exact results. Without the check, ranks
// died of SIGBUS at the first large collective.
TEST(ShmFallbackTest, TooLittleDevShmFallsBackToTcpInsteadOfSigbus) {
  std::string why;
  int code = runWithSmallDevShm(
      "1m",
      [] {
        LaunchResult result = runRanks(3, [](int rank, int nranks, const tuttiUniqueId& id) {
          return exactOver("tcp", rank, nranks, id);
        });
        if (!result.ok) std::fprintf(stderr, "%s\n", result.failure.c_str());
        return result.ok ? 0 : 1;
      },
      &why);
  if (code < 0) GTEST_SKIP() << why;
  EXPECT_EQ(code, 0);
}

}  // namespace
}  // namespace tutti::test
