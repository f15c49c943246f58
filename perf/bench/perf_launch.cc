#include "perf/bench/perf_launch.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#ifdef TUTTI_PERF_WITH_MPI
#include <mpi.h>
#endif

#include "base/params.h"
#include "core/launcher_env.h"
#include "core/slurm_rendezvous.h"
#include "testing/rank_launcher.h"

namespace tutti::perf {
namespace {

int runWithComm(tuttiComm_t comm, const RankMain& rankMain) {
  int code = rankMain(comm);
  // After a failure, abort: the peers see the loss at once instead of waiting for a timeout.
  if (code != 0) {
    tuttiCommAbort(comm);
  } else {
    tuttiCommDestroy(comm);
  }
  return code;
}

int failInit(const char* what, tuttiResult_t rc) {
  std::fprintf(stderr, "tutti-perf: %s: %s: %s\n", what, tuttiGetErrorString(rc),
               tuttiGetLastError(nullptr));
  return 1;
}

int launchLocal(const PerfOptions& options, const RankMain& rankMain) {
  if (options.hosts > options.localRanks) {
    std::fprintf(stderr, "tutti-perf: --hosts %d: more hosts than the %d ranks (-np)\n",
                 options.hosts, options.localRanks);
    return 2;
  }
  const int nranks = options.localRanks;
  // The id, and the bootstrap root thread it starts, come after the fork and are handed to the
  // ranks: a process that forks beside a running thread may leave a lock that thread held
  // locked in the child for ever (rank_launcher.h).
  const test::RankLaunch launch = test::forkRanksSharingId(
      nranks,
      [&](int rank, const tuttiUniqueId& id) {
        // Posed hosts, contiguous blocks of ranks: the communicator groups ranks by TUTTI_HOSTID.
        if (options.hosts > 0) {
          const int host = static_cast<int>(static_cast<long>(rank) * options.hosts / nranks);
          setenv("TUTTI_HOSTID", std::to_string(host).c_str(), 1);
        }
        // Forked ranks are local ranks: the communicator takes device rank mod the device count
        // (ranks share devices round-robin when there are fewer devices than ranks).
        if (options.device) setenv("LOCAL_RANK", std::to_string(rank).c_str(), 0);
        tuttiComm_t comm = nullptr;
        tuttiResult_t initRc = tuttiCommInitRank(&comm, nranks, id, rank);
        return initRc == tuttiSuccess ? runWithComm(comm, rankMain)
                                      : failInit("tuttiCommInitRank", initRc);
      },
      /*timeoutSec=*/0);  // a sweep takes as long as it takes; TUTTI_TIMEOUT_MS catches hangs
  if (!launch.error.empty()) {
    std::fprintf(stderr, "tutti-perf: %s\n", launch.error.c_str());
    return 1;
  }
  for (int rank = 0; rank < nranks; ++rank) {
    const test::RankExit& exit = launch.ranks[rank];
    // A rank killed by a signal prints nothing itself: say which one.
    if (!exit.exited) {
      std::fprintf(stderr, "tutti-perf: rank %d (pid %d) killed by signal %d\n", rank,
                   static_cast<int>(exit.pid), exit.signal);
    }
  }
  return launch.exitStatus();
}

}  // namespace

int launchRanks(int argc, char** argv, const PerfOptions& options, const RankMain& rankMain) {
  LauncherRank launcher;
  bool underLauncher = false;
  Status status = rankFromLauncher(&launcher, &underLauncher);
  if (!status.isOk()) {
    std::fprintf(stderr, "tutti-perf: %s\n", status.message().c_str());
    return 1;
  }
  if (!underLauncher) return launchLocal(options, rankMain);
  if (options.hosts > 0) {
    if (launcher.rank == 0) {
      std::fprintf(stderr,
                   "tutti-perf: --hosts %d: only for ranks tutti-perf forks itself (-np); under "
                   "%s the launcher places the ranks (set TUTTI_HOSTID per rank to pose hosts)\n",
                   options.hosts, launcher.source.c_str());
    }
    return 2;
  }
  if (options.localRanksGiven && options.localRanks != launcher.size) {
    std::fprintf(stderr, "tutti-perf: -np %d ignored: the launcher started %d ranks\n",
                 options.localRanks, launcher.size);
  }
#ifdef TUTTI_PERF_WITH_MPI
  if (std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr) {
    MPI_Init(&argc, &argv);
    int rank = 0;
    int size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    tuttiUniqueId id;
    int ok = 1;
    if (rank == 0) ok = tuttiGetUniqueId(&id) == tuttiSuccess;
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!ok) {
      if (rank == 0) failInit("tuttiGetUniqueId", tuttiSystemError);
      MPI_Finalize();
      return 1;
    }
    MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD);
    tuttiComm_t comm = nullptr;
    tuttiResult_t rc = tuttiCommInitRank(&comm, size, id, rank);
    int code = rc == tuttiSuccess ? runWithComm(comm, rankMain) : failInit("tuttiCommInitRank", rc);
    MPI_Finalize();
    return code;
  }
#endif
  (void)argc;
  (void)argv;
  if (paramEnv("TUTTI_COMM_ID") == nullptr) {
    // Under srun tuttiCommInitFromEnv derives rank 0's address from the step: no setup needed.
    std::string why = "this launcher gives no address";
    const bool derived = launcher.source == kSlurmLauncherSource && !slurmCommId(&why).empty();
    if (!derived) {
      std::fprintf(stderr,
                   "tutti-perf: started by a launcher (%s) but TUTTI_COMM_ID is not set (%s)%s: "
                   "set it to host:port of rank 0\n",
                   launcher.source.c_str(), why.c_str(),
#ifdef TUTTI_PERF_WITH_MPI
                   " and this launcher is not MPI"
#else
                   " and this build has no MPI"
#endif
      );
      return 1;
    }
  }
  tuttiComm_t comm = nullptr;
  tuttiResult_t rc = tuttiCommInitFromEnv(&comm);
  if (rc != tuttiSuccess) return failInit("tuttiCommInitFromEnv", rc);
  return runWithComm(comm, rankMain);
}

}  // namespace tutti::perf
