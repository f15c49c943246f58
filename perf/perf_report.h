// tutti-perf's output: nccl-tests' header and table on stdout (then p50/p99 and, with --bound,
// the memory-traffic bound), and the --json and --csv files.
#pragma once

#include <cstdio>
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

// Where the header, table and footer go: stdout unless the CSV does (--csv -).
void setTableOutput(std::FILE* out);

void printHeader(const PerfOptions& options, const CommInfo& info,
                 const std::vector<RankPlace>& ranks, const BoundInfo& bound);
void printRow(const PerfOptions& options, const Row& row, int nranks, const BoundInfo& bound);
// Out-of-bounds count and average bus bandwidth; returns the average.
double printFooter(const PerfOptions& options, const CommInfo& info, const std::vector<Row>& rows);
// The TUTTI_* environment variables with their defaults (tutti-perf --params).
void printParams();
bool writeJson(const std::string& path, const PerfOptions& options, const CommInfo& info,
               const std::vector<Row>& rows, double avgBusbw, const BoundInfo& bound);

// --csv: the header when opened, then one line per (size, type, op, placement) as rows finish.
// Each call prints its own error and returns false on failure.
class CsvWriter {
 public:
  CsvWriter() = default;
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;
  ~CsvWriter();

  bool open(const std::string& path);  // "-": stdout
  bool writeRow(const PerfOptions& options, const Row& row, int nranks, const BoundInfo& bound);
  bool close();

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace tutti::perf
