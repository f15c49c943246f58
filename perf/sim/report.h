// What tutti-sim prints (the cost, each sweep's table, the checks' verdict) and its --json file.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "perf/sim/job.h"
#include "perf/sim/sample.h"
#include "perf/sim/sweep.h"

namespace tutti::sim {

// The job and the cost model's constants for it.
void printCost(const Job& job);

// One sweep's table, and for all-reduce where tree stops being faster than ring.
void printSweep(const Job& job, const Sweep& sweep);

// Prints what was found; true when nothing is wrong.
bool report(const Sample& sample, const Totals& totals, bool validate);

// Everything printed, as JSON (docs/simulation.md).
Status writeJson(const std::string& path, const Job& job, const std::vector<Sweep>& sweeps,
                 const Totals& totals);

}  // namespace tutti::sim
