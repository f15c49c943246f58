// tutti-perf --algo's output: per size each algorithm's out-of-place time and busbw, the
// measured winner, the model's choice and the verdict; the footer's counts; CSV lines and JSON.
#pragma once

#include <string>
#include <vector>

#include "core/comm_info.h"
#include "perf/bench/perf_algo.h"
#include "perf/bench/perf_options.h"
#include "perf/bench/perf_report.h"

namespace tutti::perf {

// ownSpec: the run's own TUTTI_ALGO, under which the model's choice is asked.
void printAlgoHeader(const PerfOptions& options, const CommInfo& info,
                     const std::vector<RankPlace>& ranks, const std::string& ownSpec);
void printAlgoRow(const PerfOptions& options, const AlgoRow& row);
void printAlgoFooter(const PerfOptions& options, int nranks, const std::vector<AlgoRow>& rows,
                     const std::string& ownSpec);

// The CSV: one line per size and listed algorithm (empty measurement fields where it does not
// apply).
extern const char* const kAlgoCsvHeader;
bool writeAlgoCsv(CsvWriter* csv, const PerfOptions& options, int nranks, const AlgoRow& row);

// The JSON file: the run's description and an "algo" section with every row and both counts.
bool writeAlgoJson(const std::string& path, const PerfOptions& options, const CommInfo& info,
                   const std::vector<AlgoRow>& rows, const std::string& ownSpec);

}  // namespace tutti::perf
