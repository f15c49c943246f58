// How tutti-perf gets its ranks: one per process under a launcher (mpirun, srun, or
// TUTTI_RANK/TUTTI_WORLD_SIZE), else -np N processes forked on this host. The ranks meet by
// MPI_Bcast under mpirun, at TUTTI_COMM_ID, or under srun at the address every task derives
// from the step when TUTTI_COMM_ID is not set (tuttiCommInitFromEnv, core/slurm_rendezvous.h).
#pragma once

#include <functional>

#include "perf/bench/perf_options.h"
#include "tutti/tutti.h"

namespace tutti::perf {

using RankMain = std::function<int(tuttiComm_t comm)>;

// Creates the communicator(s), runs rankMain on every rank, destroys them; returns the exit
// status for the process (non-zero when any rank failed).
int launchRanks(int argc, char** argv, const PerfOptions& options, const RankMain& rankMain);

}  // namespace tutti::perf
