// tutti-perf --algo on every rank: the listed algorithms measured in turn at each size (size
// first, then algorithm, so that drift over the run hits them alike), each under TUTTI_ALGO set
// to it, then the model's choice asked under the run's own TUTTI_ALGO. Rank 0 prints.
#pragma once

#include <vector>

#include "core/comm_info.h"
#include "perf/bench/perf_options.h"
#include "perf/bench/perf_report.h"

namespace tutti::perf {

// Returns the rank's exit status: 0, or 1 when a call failed or a value was wrong.
int runAlgoComparison(tuttiComm_t comm, const PerfOptions& options, const CommInfo& info,
                      const std::vector<RankPlace>& ranks, CsvWriter* csv);

}  // namespace tutti::perf
