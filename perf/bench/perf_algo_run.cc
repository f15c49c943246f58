#include "perf/bench/perf_algo_run.h"

#include <cstdio>
#include <cstdlib>

#include "base/params.h"
#include "perf/bench/perf_algo.h"
#include "perf/bench/perf_algo_report.h"
#include "perf/bench/perf_bench.h"
#include "testing/exact_data.h"
#include "testing/nccl_tests.h"

namespace tutti::perf {
namespace {

bool setSpec(tuttiComm_t comm, const std::string& name, const std::string& text, bool printer) {
  Status status = setAlgoSpec(comm, text);
  if (status.isOk()) return true;
  // Every rank sets the same spec and fails alike: one message is enough.
  if (printer) {
    std::fprintf(stderr, "tutti-perf: --algo %s: %s%s\n", name.c_str(), status.message().c_str(),
                 paramEnv("TUTTI_ALGO") != nullptr ? " (unset TUTTI_ALGO for --algo)" : "");
  }
  return false;
}

}  // namespace

int runAlgoComparison(tuttiComm_t comm, const PerfOptions& options, const CommInfo& info,
                      const std::vector<RankPlace>& ranks, CsvWriter* csv) {
  const bool printer = info.rank == 0;
  // The communicator read TUTTI_ALGO at init (tutti-perf passes no config): the spec to go
  // back to, under which the model's choice is asked.
  const char* env = paramEnv("TUTTI_ALGO");
  const std::string ownSpec = env != nullptr ? env : "";
  // Refuse before measuring what the communicator cannot run (peers it did not connect).
  for (const std::string& name : options.algos) {
    if (!setSpec(comm, name, algoSpecText(name), printer)) return 1;
  }
  if (!setSpec(comm, "(restoring TUTTI_ALGO)", ownSpec, printer)) return 1;

  const Collective collective = collectiveOf(options.collective);
  const HostShape hosts = hostShapeOf(info.hostOfRank);
  if (printer) printAlgoHeader(options, info, ranks, ownSpec);
  std::vector<AlgoRow> rows;
  bool failed = false;
  for (tuttiDataType_t type : options.types) {
    for (tuttiRedOp_t op : options.ops) {
      for (size_t bytes : sweepSizes(options)) {
        const Row shape = describeRow(options.collective, type, op, bytes, info.nranks);
        AlgoRow row;
        row.bytes = shape.bytes;
        row.count = shape.count;
        row.type = type;
        row.op = op;
        // The algorithm measured first at a size runs on freshly allocated buffers and after
        // another's traffic pattern; measured 15-50% slower at 128-512 KiB on 2 ranks whichever
        // it was. Rotating which one goes first, size by size, spreads that over all of them.
        const size_t algos = options.algos.size();
        row.measured.resize(algos);
        for (size_t turn = 0; turn < algos; ++turn) {
          const size_t index = (turn + rows.size()) % algos;
          const std::string& name = options.algos[index];
          // A spec naming an algorithm that does not apply runs ring instead: not this column.
          const std::optional<Algorithm> algorithm = parseAlgorithm(name);
          if (algorithm && !costTerms(*algorithm, collective, info.nranks, shape.bytes, hosts)) {
            continue;
          }
          Row measured;
          if (!setSpec(comm, name, algoSpecText(name), printer) ||
              !runRow(comm, options, type, op, bytes, &measured, Placements::kOutOfPlace)) {
            return 1;
          }
          row.measured[index] = measured.outOfPlace;
          failed = failed || measured.outOfPlace.wrong > 0;
        }
        if (!setSpec(comm, "(restoring TUTTI_ALGO)", ownSpec, printer)) return 1;
        const size_t callCount =
            test::callShapeOf(collective, row.bytes, test::typeSize(type), info.nranks).callCount;
        Choice choice;
        Status status = explainChoice(comm, collective, callCount, type, &choice);
        if (!status.isOk()) {
          std::fprintf(stderr, "tutti-perf: the model's choice: %s\n", status.message().c_str());
          return 1;
        }
        row.model = choice.algorithm;
        row.pinned = choice.pinned;
        judgeRow(options.algos, ownSpec.empty(), &row);
        if (printer) {
          printAlgoRow(options, row);
          if (!writeAlgoCsv(csv, options, info.nranks, row)) return 1;
        }
        rows.push_back(row);
      }
    }
  }
  if (printer) {
    printAlgoFooter(options, info.nranks, rows, ownSpec);
    if (!options.jsonPath.empty() &&
        !writeAlgoJson(options.jsonPath, options, info, rows, ownSpec)) {
      std::fprintf(stderr, "tutti-perf: cannot write %s\n", options.jsonPath.c_str());
      return 1;
    }
    if (!csv->close()) return 1;
  }
  return failed ? 1 : 0;
}

}  // namespace tutti::perf
