#include "perf/bench/perf_calibrate_run.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <ctime>

#include "algo/cost_file.h"
#include "base/params.h"
#include "perf/bench/perf_bench.h"
#include "perf/bench/perf_calibrate.h"
#include "perf/bench/perf_report.h"
#include "perf/bench/perf_stats.h"

namespace tutti::perf {
namespace {

// Each time is the median of this many runs of -n iterations: one slow run (another process
// on a 2-core machine) does not move it.
constexpr int kRepetitions = 5;
// An rms relative error above this gets a warning: a few percent is what timing noise gives.
constexpr double kPoorFit = 0.25;

struct Series {
  Algorithm algorithm;
  PerfCollective collective;
  const char* collectiveName;
};
// Ring and rd all-reduce differ in rounds per byte; all-gather reduces nothing: together they
// separate alpha, beta and gamma.
constexpr Series kSeries[] = {
    {Algorithm::kRing, PerfCollective::kAllReduce, "all_reduce"},
    {Algorithm::kRecursiveDoubling, PerfCollective::kAllReduce, "all_reduce"},
    {Algorithm::kRing, PerfCollective::kAllGather, "all_gather"},
};

// Measured constants carry a few percent of noise: four digits say all they know.
double rounded(double value) { return value > 0 ? std::stod(fmt::format("{:.4g}", value)) : value; }

std::string today() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d", &utc);
  return text;
}

bool setSpec(tuttiComm_t comm, const std::string& text, bool printer) {
  Status status = setAlgoSpec(comm, text);
  if (!status.isOk() && printer) {
    std::fprintf(stderr, "tutti-perf: --calibrate: %s%s\n", status.message().c_str(),
                 paramEnv("TUTTI_ALGO") != nullptr ? " (unset TUTTI_ALGO for --calibrate)" : "");
  }
  return status.isOk();
}

// Every rank measures; the times are combined over ranks inside runRow, so all ranks hold the
// same samples.
bool measure(tuttiComm_t comm, const PerfOptions& options, const CommInfo& info,
             std::vector<CalibrationSample>* samples) {
  const bool printer = info.rank == 0;
  for (size_t bytes : sweepSizes(options)) {
    for (const Series& series : kSeries) {
      PerfOptions run = options;
      run.collective = series.collective;
      run.collectiveName = series.collectiveName;
      const Row shape = describeRow(series.collective, tuttiFloat32, tuttiSum, bytes, info.nranks);
      if (shape.bytes == 0) continue;  // less than one element per rank
      if (!setSpec(comm, algorithmName(series.algorithm), printer)) return false;
      std::vector<double> times;
      for (int repetition = 0; repetition < kRepetitions; ++repetition) {
        run.check = repetition == 0 ? options.check : 0;
        Row row;
        if (!runRow(comm, run, tuttiFloat32, tuttiSum, bytes, &row, Placements::kOutOfPlace)) {
          return false;
        }
        if (row.outOfPlace.wrong > 0) {
          if (printer) {
            std::fprintf(stderr, "tutti-perf: --calibrate: %s %s of %zu B: %ld wrong values\n",
                         series.collectiveName, algorithmName(series.algorithm), row.bytes,
                         row.outOfPlace.wrong);
          }
          return false;
        }
        times.push_back(row.outOfPlace.timeUs);
      }
      samples->push_back(CalibrationSample{series.algorithm, collectiveOf(series.collective),
                                           shape.bytes, nearestRankPercentile(times, 50)});
    }
  }
  return true;
}

void printSamples(const std::vector<CalibrationSample>& samples, const CalibrationFit* fit) {
  fmt::print("#\n# {:>10s}  {:>9s}  {:>12s}  {:>10s}  {:>10s}  {:>6s}\n", "collective", "algorithm",
             "size", "measured", "fitted", "error");
  fmt::print("# {:>10s}  {:>9s}  {:>12s}  {:>10s}  {:>10s}\n", "", "", "(B)", "(us)", "(us)");
  for (size_t i = 0; i < samples.size(); ++i) {
    const CalibrationSample& s = samples[i];
    std::string fitted = "-";
    std::string error = "-";
    if (fit != nullptr) {
      fitted = fmt::format("{:.2f}", fit->fittedUs[i]);
      error = fmt::format("{:+.1f}%", 100 * (fit->fittedUs[i] - s.measuredUs) / s.measuredUs);
    }
    fmt::print("  {:>10s}  {:>9s}  {:12d}  {:10.2f}  {:>10s}  {:>6s}\n",
               collectiveName(s.collective), algorithmName(s.algorithm), s.bytes, s.measuredUs,
               fitted, error);
  }
}

// Rank 0: fits, prints, stores and reads the entry back. False after printing why.
bool fitAndStore(const PerfOptions& options, const CommInfo& info, CostLevel level,
                 const CostKey& key, const std::vector<CalibrationSample>& samples) {
  const LinkCost& used = level == CostLevel::kIntra ? info.cost.intra : info.cost.inter;
  const size_t rendezvousBytes = level == CostLevel::kIntra ? used.rendezvousBytes : SIZE_MAX;
  CalibrationFit fit;
  Status status =
      fitLinkCost(samples, level, info.nranks, hostShapeOf(info.hostOfRank), rendezvousBytes, &fit);
  if (!status.isOk()) {
    printSamples(samples, nullptr);
    std::fprintf(stderr, "tutti-perf: --calibrate: cannot fit: %s\n", status.message().c_str());
    return false;
  }
  printSamples(samples, &fit);
  CostEntry entry;
  entry.key = key;
  entry.cost = fit.cost;
  for (double* value : {&entry.cost.alphaUs, &entry.cost.betaNsPerByte, &entry.cost.gammaNsPerByte,
                        &entry.cost.rendezvousAlphaUs}) {
    *value = rounded(*value);
  }
  const std::string rms = fmt::format("{:.1f}%", 100 * fit.rmsRelativeError);
  entry.comment = fmt::format("{} {}; rms error {}", today(), options.commandLine, rms);
  fmt::print("#\n# fitted {} costs for {} ({} ranks on the machine, {} CPUs): {}\n",
             costLevelName(level), key.transport, key.ranks, key.cpus, linkCostText(entry.cost));
  for (const std::string& name : fit.clamped) {
    fmt::print("# {} clamped at 0: the free fit wanted it negative\n", name);
  }
  fmt::print("# rms relative error of the fit: {} over {} measurements\n", rms, samples.size());
  if (fit.rmsRelativeError > kPoorFit) {
    fmt::print(
        "# a poor fit: other work on the machine (ranks waiting for a core) or a machine the "
        "model does not describe; on an idle machine, more -n helps\n");
  }
  fmt::print("# this run's model used: {} ({})\n", linkCostText(used), info.costSource);
  status = storeCostEntry(options.calibratePath, entry);
  if (!status.isOk()) {
    std::fprintf(stderr, "tutti-perf: --calibrate: %s\n", status.message().c_str());
    return false;
  }
  // What the communicators will read: the file as written, parsed again.
  std::vector<CostEntry> stored;
  status = loadCostFile(options.calibratePath, &stored);
  std::optional<LinkCost> back = findCost(stored, key);
  const bool same = back && back->alphaUs == entry.cost.alphaUs &&
                    back->betaNsPerByte == entry.cost.betaNsPerByte &&
                    back->gammaNsPerByte == entry.cost.gammaNsPerByte &&
                    back->rendezvousBytes == entry.cost.rendezvousBytes &&
                    back->rendezvousAlphaUs == entry.cost.rendezvousAlphaUs;
  if (!status.isOk() || !same) {
    std::fprintf(stderr, "tutti-perf: --calibrate: %s does not read back: %s\n",
                 options.calibratePath.c_str(),
                 status.isOk() ? "the entry differs" : status.message().c_str());
    return false;
  }
  fmt::print("# stored in {}:\n{}\n", options.calibratePath, costEntryLine(entry));
  std::fflush(stdout);
  return true;
}

}  // namespace

int runCalibration(tuttiComm_t comm, const PerfOptions& options, const CommInfo& info) {
  const bool printer = info.rank == 0;
  CostLevel level = CostLevel::kIntra;
  CostKey key{info.intraTransport, info.ranksOnMachine, info.cpus};
  if (info.nranks < 2) {
    if (printer) std::fprintf(stderr, "tutti-perf: --calibrate needs 2 ranks or more (-np)\n");
    return 2;
  }
  if (info.nhosts == info.nranks) {
    level = CostLevel::kInter;
    key.transport = info.interTransport;
  } else if (info.nhosts != 1) {
    if (printer) {
      std::fprintf(stderr,
                   "tutti-perf: --calibrate: %d ranks on %d hosts exercise both levels at once; "
                   "run it once with all ranks on one host (--hosts 1) for the costs within a "
                   "host, and once with every rank its own host (--hosts %d) for the costs "
                   "between hosts\n",
                   info.nranks, info.nhosts, info.nranks);
    }
    return 2;
  }
  const char* env = paramEnv("TUTTI_ALGO");
  const std::string ownSpec = env != nullptr ? env : "";
  if (printer) {
    fmt::print(
        "# Tutti {}.{}.{} tutti-perf --calibrate: nranks {} nhosts {}: the {} level, transport={} "
        "ranks={} cpus={}\n",
        TUTTI_MAJOR, TUTTI_MINOR, TUTTI_PATCH, info.nranks, info.nhosts, costLevelName(level),
        key.transport, key.ranks, key.cpus);
    const std::vector<size_t> sizes = sweepSizes(options);
    fmt::print(
        "# all_reduce (ring, rd) and all_gather (ring) of float sums out of place, {} B to {} B "
        "{}; each time the median of {} runs of the mean of {} iterations ({} warm-up)\n",
        sizes.front(), sizes.back(),
        options.linearSteps ? fmt::format("+{}", options.stepBytes)
                            : fmt::format("x{}", options.stepFactor),
        kRepetitions, options.iters, options.warmupIters);
    fmt::print(
        "# model: time = eager rounds x alpha + rendezvous rounds x rendezvous alpha + bytes "
        "sent x beta + bytes reduced x gamma (src/algo/select.h)\n");
    std::fflush(stdout);
  }
  std::vector<CalibrationSample> samples;
  bool ok = measure(comm, options, info, &samples);
  if (!setSpec(comm, ownSpec, printer)) return 1;
  if (!ok) return 1;
  int64_t failed = printer && !fitAndStore(options, info, level, key, samples) ? 1 : 0;
  // Every rank ends alike: a file rank 0 could not write fails the run everywhere.
  if (tuttiAllReduce(&failed, &failed, 1, tuttiInt64, tuttiSum, comm, nullptr) != tuttiSuccess) {
    std::fprintf(stderr, "tutti-perf: --calibrate: %s\n", tuttiGetLastError(comm));
    return 1;
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace tutti::perf
