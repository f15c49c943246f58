// The rank and size a launcher exported, for tuttiCommInitFromEnv and tutti-perf.
#pragma once

#include <string>

#include "base/status.h"

namespace tutti {

// LauncherRank::source when srun's SLURM_PROCID/SLURM_NTASKS gave the rank and size.
inline constexpr const char* kSlurmLauncherSource = "SLURM_PROCID/SLURM_NTASKS";

struct LauncherRank {
  int rank = -1;
  int size = -1;
  std::string source;  // which variables gave them, e.g. "OMPI_COMM_WORLD_RANK/SIZE"
};

// First match of TUTTI_RANK/TUTTI_WORLD_SIZE, OMPI_COMM_WORLD_RANK/SIZE, SLURM_PROCID/NTASKS,
// PMI_RANK/PMI_SIZE, RANK/WORLD_SIZE. tuttiInvalidArgument when none is set or a value is
// malformed or out of range; *found is false (and OK is returned) when none is set.
Status rankFromLauncher(LauncherRank* out, bool* found);

}  // namespace tutti
