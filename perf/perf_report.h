// tutti-perf's output: nccl-tests' header and table on stdout, and the --json file.
#pragma once

#include <string>
#include <vector>

#include "core/comm_info.h"
#include "perf/perf_bench.h"
#include "perf/perf_options.h"

namespace tutti::perf {

struct RankPlace {
  int pid;
  char host[64];
};

void printHeader(const PerfOptions& options, const CommInfo& info,
                 const std::vector<RankPlace>& ranks);
void printRow(const PerfOptions& options, const Row& row);
// Out-of-bounds count and average bus bandwidth; returns the average.
double printFooter(const PerfOptions& options, const CommInfo& info, const std::vector<Row>& rows);
// The TUTTI_* environment variables with their defaults (tutti-perf --params).
void printParams();
bool writeJson(const std::string& path, const PerfOptions& options, const CommInfo& info,
               const std::vector<Row>& rows, double avgBusbw);

}  // namespace tutti::perf
