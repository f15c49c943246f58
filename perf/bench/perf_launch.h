// How tutti-perf gets its ranks: one per process under a launcher (mpirun, srun, or
// TUTTI_RANK/TUTTI_WORLD_SIZE), else -np N processes forked on this host.
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
