// tutti-perf's output: nccl-tests' header and table on stdout (then p50/p99 and, with --bound,
// the memory-traffic bound), and the --json and --csv files.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/comm_info.h"
#include "perf/bench/perf_bench.h"
#include "perf/bench/perf_options.h"

namespace tutti::perf {

struct RankPlace {
  int pid;
  char host[64];
};

// Where the header, table and footer go: stdout unless the CSV does (--csv -).
void setTableOutput(std::FILE* out);
std::FILE* tableOutput();

// The run's description and its ranks (the "#" lines above the column names).
void printPreamble(const PerfOptions& options, const CommInfo& info,
                   const std::vector<RankPlace>& ranks);
// The preamble, the bound's lines and the column names.
void printHeader(const PerfOptions& options, const CommInfo& info,
                 const std::vector<RankPlace>& ranks, const BoundInfo& bound);
// A time in nccl-tests' 7 columns, its precision stepping down as it grows.
std::string timeText(double us);
// "Out of bounds values" as nccl-tests prints it (wrong < 0 with -c 0).
void printWrongCount(const PerfOptions& options, long wrong);
void printRow(const PerfOptions& options, const Row& row, int nranks, const BoundInfo& bound);
// Out-of-bounds count and average bus bandwidth; returns the average.
double printFooter(const PerfOptions& options, const CommInfo& info, const std::vector<Row>& rows);
// The footer's last line: how algbw and busbw are computed.
void printBandwidthNote(const PerfOptions& options, int nranks);
// One level of the cost model in words: "alpha 5 us, beta 0.12 ns/B, gamma 0.15 ns/B" (plus
// the rendezvous alpha and threshold where it has one).
std::string linkCostText(const LinkCost& cost);
// The op as the table names it ("none" for all_gather).
const char* opName(const PerfOptions& options, tuttiRedOp_t op);
// The TUTTI_* environment variables with their defaults (tutti-perf --params).
void printParams();
bool writeJson(const std::string& path, const PerfOptions& options, const CommInfo& info,
               const std::vector<Row>& rows, double avgBusbw, const BoundInfo& bound);
// The parts of the JSON file that other modes share: the run's description, one measurement.
nlohmann::json runJson(const PerfOptions& options, const CommInfo& info);
nlohmann::json measurementJson(const Measurement& m);

// The CSV line a number takes.
std::string csvNumber(double value);
// nccl-tests' CSV columns (the header of open's default).
extern const char* const kRowCsvHeader;

// --csv: the header when opened, then one line per (size, type, op, placement) as rows finish.
// Each call prints its own error and returns false on failure.
class CsvWriter {
 public:
  CsvWriter() = default;
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;
  ~CsvWriter();

  bool open(const std::string& path, const char* header = kRowCsvHeader);  // "-": stdout
  bool writeRow(const PerfOptions& options, const Row& row, int nranks, const BoundInfo& bound);
  bool writeLine(const std::string& line);  // one line, without its newline
  bool close();

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace tutti::perf
