// The cost model's constants for a communicator: for each level (ranks of a host, hosts), the
// cost file's entry for (transport, ranks of the job on this machine, CPUs) when it has one
// (tutti-perf --calibrate writes them), else defaultLinkCost.
#pragma once

#include <string>

#include "algo/cost_file.h"
#include "algo/select.h"
#include "base/status.h"
#include "core/bootstrap.h"

namespace tutti {

// Collective over the bootstrap. Every rank reads its cost file (defaultCostFilePath(); an
// unreadable or malformed file is logged and ignored), then all take rank 0's costs, so that
// ranks whose files differ still choose the same algorithm for a call (different choices would
// pair different plans). rendezvousBytes of the intra level becomes shmCmaMinBytes, the
// threshold actually in use (SIZE_MAX where the level has no rendezvous); ranksPerCore is the
// job's ranks on this machine per CPU (ClusterCost::ranksPerCore), rank 0's too. *source says
// where rank 0's costs came from. Errors: only the bootstrap's.
Status resolveClusterCost(Bootstrap& bootstrap, int rank, int nranks, const CostKey& intraKey,
                          const CostKey& interKey, size_t shmCmaMinBytes, double ranksPerCore,
                          ClusterCost* out, std::string* source);

}  // namespace tutti
