// tutti-perf --calibrate on every rank: times all_reduce (ring, rd) and all_gather (ring) over
// a sweep of sizes, fits the cost model's constants of the level these ranks exercise
// (perf_calibrate.h) and has rank 0 store them in the cost file (algo/cost_file.h).
#pragma once

#include "core/comm_info.h"
#include "perf/bench/perf_options.h"

namespace tutti::perf {

// Returns the rank's exit status: 0; 1 when a call, the fit or the file failed; 2 when the
// ranks' hosts exercise both levels at once (a usage error).
int runCalibration(tuttiComm_t comm, const PerfOptions& options, const CommInfo& info);

}  // namespace tutti::perf
