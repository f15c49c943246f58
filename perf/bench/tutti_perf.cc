// tutti-perf: the collective benchmark, in the spirit of NVIDIA's nccl-tests.
//   tutti-perf all_reduce -b 8 -e 128M -f 2 -np 4
//   mpirun -np 8 tutti-perf all_gather -c 1
//   tutti-perf all_reduce -np 2 --bound --csv results.csv
//   tutti-perf all_reduce -np 4 --hosts 2 --algo ring,rd,tree,auto
//   tutti-perf --calibrate -np 2
//   tutti-perf --params
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/comm_info.h"
#include "perf/bench/perf_algo_report.h"
#include "perf/bench/perf_algo_run.h"
#include "perf/bench/perf_bench.h"
#include "perf/bench/perf_calibrate_run.h"
#include "perf/bench/perf_launch.h"
#include "perf/bench/perf_options.h"
#include "perf/bench/perf_report.h"

using namespace tutti;
using namespace tutti::perf;

namespace {

int runBenchmark(tuttiComm_t comm, const PerfOptions& options) {
  CommInfo info;
  Status status = getCommInfo(comm, &info);
  if (!status.isOk()) {
    std::fprintf(stderr, "tutti-perf: %s\n", status.message().c_str());
    return 1;
  }
  if (options.calibrate) return runCalibration(comm, options, info);
  std::vector<RankPlace> places(info.nranks);
  RankPlace& mine = places[info.rank];
  mine.pid = getpid();
  std::snprintf(mine.host, sizeof(mine.host), "%s", info.hostname.c_str());
  if (tuttiAllGather(&mine, places.data(), sizeof(RankPlace), tuttiUint8, comm, nullptr) !=
      tuttiSuccess) {
    std::fprintf(stderr, "tutti-perf: all-gather of rank places: %s\n", tuttiGetLastError(comm));
    return 1;
  }
  const bool printer = info.rank == 0;
  // Rank 0 writes the CSV as rows finish; a file it cannot open stops every rank before the
  // sweep.
  CsvWriter csv;
  if (!options.csvPath.empty()) {
    const char* header = options.algos.empty() ? kRowCsvHeader : kAlgoCsvHeader;
    int64_t failed = printer && !csv.open(options.csvPath, header) ? 1 : 0;
    if (tuttiAllReduce(&failed, &failed, 1, tuttiInt64, tuttiSum, comm, nullptr) != tuttiSuccess) {
      std::fprintf(stderr, "tutti-perf: --csv: %s\n", tuttiGetLastError(comm));
      return 1;
    }
    if (failed != 0) return 1;
  }
  if (!options.algos.empty()) return runAlgoComparison(comm, options, info, places, &csv);
  BoundInfo bound;
  if (options.bound) {
    std::vector<std::string> hosts;
    for (const RankPlace& place : places) hosts.emplace_back(place.host);
    if (!measureBound(comm, options, hosts, &bound)) return 1;
  }
  if (printer) printHeader(options, info, places, bound);
  std::vector<Row> rows;
  for (tuttiDataType_t type : options.types) {
    for (tuttiRedOp_t op : options.ops) {
      for (size_t bytes : sweepSizes(options)) {
        Row row;
        if (!runRow(comm, options, type, op, bytes, &row)) return 1;
        if (printer) {
          printRow(options, row, info.nranks, bound);
          if (!csv.writeRow(options, row, info.nranks, bound)) return 1;
        }
        rows.push_back(row);
      }
    }
  }
  long wrong = 0;
  for (const Row& row : rows) {
    wrong += row.outOfPlace.wrong > 0 ? row.outOfPlace.wrong : 0;
    wrong += row.inPlace.wrong > 0 ? row.inPlace.wrong : 0;
  }
  if (printer) {
    double avg = printFooter(options, info, rows);
    if (!options.jsonPath.empty() &&
        !writeJson(options.jsonPath, options, info, rows, avg, bound)) {
      std::fprintf(stderr, "tutti-perf: cannot write %s\n", options.jsonPath.c_str());
      return 1;
    }
    if (!csv.close()) return 1;
  }
  return wrong == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  PerfOptions options;
  int exitCode = 0;
  if (!parseOptions(argc, argv, &options, &exitCode)) return exitCode;
  if (options.printParams) {
    printParams();
    return 0;
  }
  if (options.csvPath == "-") setTableOutput(stderr);  // stdout carries the CSV
  return launchRanks(argc, argv, options,
                     [&options](tuttiComm_t comm) { return runBenchmark(comm, options); });
}
