#include "perf/bench/perf_options.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "algo/cost_file.h"
#include "exec/datatype.h"
#include "perf/bench/perf_algo.h"
#include "perf/bench/perf_stats.h"

namespace tutti::perf {

namespace {

// "all_reduce", ..., "scatter": the subcommands, as collectiveName spells them.
std::vector<std::string> collectiveNames() {
  std::vector<std::string> names;
  for (int c = 0; c < kNumCollectives; ++c) {
    names.push_back(collectiveName(static_cast<Collective>(c)));
  }
  return names;
}

}  // namespace

bool parseSize(const std::string& text, size_t* out) {
  if (text.empty()) return false;
  size_t end = 0;
  unsigned long long value = 0;
  try {
    value = std::stoull(text, &end);
  } catch (...) {
    return false;
  }
  std::string suffix = text.substr(end);
  unsigned long long scale = 1;
  if (suffix == "K" || suffix == "k")
    scale = 1ull << 10;
  else if (suffix == "M" || suffix == "m")
    scale = 1ull << 20;
  else if (suffix == "G" || suffix == "g")
    scale = 1ull << 30;
  else if (!suffix.empty())
    return false;
  *out = static_cast<size_t>(value * scale);
  return true;
}

std::vector<size_t> sweepSizes(const PerfOptions& options) {
  std::vector<size_t> sizes;
  for (size_t size = options.minBytes; size <= options.maxBytes;) {
    sizes.push_back(size);
    size_t next = options.linearSteps ? size + options.stepBytes
                                      : static_cast<size_t>(size * options.stepFactor);
    if (next <= size) break;  // a size of 0 with a factor, -i 0, or overflow
    size = next;
  }
  return sizes;
}

bool parseOptions(int argc, char** argv, PerfOptions* options, int* exitCode) {
  // CLI11 has no multi-letter short options: accept nccl-style "-np N" as "--np N".
  std::vector<std::string> args(argv, argv + argc);
  for (std::string& arg : args) {
    if (arg == "-np") arg = "--np";
  }
  CLI::App app{"tutti-perf: collective benchmark with nccl-tests' flags and table"};
  app.option_defaults()->always_capture_default();  // --help shows the defaults
  std::string minText = "8", maxText = "32M", stepText = "1M";
  std::string& typeText = options->typeText;
  std::string& opText = options->opText;
  typeText = "float";
  opText = "sum";
  app.add_option("collective", options->collectiveName,
                 "all_reduce | all_gather | reduce_scatter | broadcast | reduce | alltoall | "
                 "gather | scatter | sendrecv (rooted ones at root 0; sendrecv: to rank + 1, "
                 "from rank - 1, grouped)")
      ->check(CLI::IsMember(collectiveNames()));
  app.add_option("-b,--minbytes", minText, "smallest size in bytes (K/M/G suffixes)");
  app.add_option("-e,--maxbytes", maxText, "largest size in bytes");
  CLI::Option* stepBytes = app.add_option("-i,--stepbytes", stepText,
                                          "size increment (linear steps unless -f is given)");
  CLI::Option* stepFactor =
      app.add_option("-f,--stepfactor", options->stepFactor, "size multiplication factor");
  app.add_option("-n,--iters", options->iters, "timed iterations per size")
      ->check(CLI::Range(1, 1 << 30));
  app.add_option("-w,--warmup_iters", options->warmupIters, "warm-up iterations per size")
      ->check(CLI::Range(0, 1 << 30));
  app.add_option("-c,--check", options->check, "check results against exact values (0/1)")
      ->check(CLI::Range(0, 1));
  app.add_option("-d,--datatype", typeText,
                 "type name (float, half, bfloat16, f8e4m3, ...) or all");
  app.add_option("-o,--op", opText, "sum, prod, max, min, avg, or all");
  app.add_option("-a,--average", options->average,
                 "time reported: 0 rank 0, 1 mean, 2 min, 3 max over ranks")
      ->check(CLI::Range(0, 3));
  app.add_option("--np", options->localRanks,
                 "local ranks to fork when not under a launcher (also -np N)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--json", options->jsonPath, "write the results as JSON to this file");
  app.add_option("--csv", options->csvPath,
                 "write the results as CSV to this file ('-': stdout, the table to stderr)");
  app.add_flag(
      "-G,--device", options->device,
      "device buffers on a stream of the device runtime (a GPU, or TUTTI_DEVICE=emulated); "
      "local ranks share the devices round-robin, as nccl-tests does with fewer GPUs "
      "than ranks");
  app.add_option("-R,--register", options->registerMode,
                 "with --device: 2 puts each row's buffers in a window registered with "
                 "tuttiCommWindowRegister (TUTTI_WIN_COLL_SYMMETRIC), as nccl-tests' -R 2; 0 "
                 "(default) does not register (-R 1, nccl-tests' ncclCommRegister, has no Tutti "
                 "counterpart)")
      ->check(CLI::IsMember({0, 2}));
  app.add_flag("--bound", options->bound, "add the memory-traffic bound and bound/time columns");
  app.add_option("--mem-gbps", options->memGBps,
                 "memory GB/s (read + written) for --bound instead of measuring; implies --bound")
      ->default_str("measured");
  app.footer(
      "time is the mean per iteration (combined over ranks as -a says); p50 and p99 are the\n"
      "nearest-rank percentiles of the -n iterations, each iteration's time being the max over\n"
      "ranks.\n"
      "--device: each iteration is enqueued on the rank's stream and waited for with a stream\n"
      "synchronize, so times are stream to stream plus one host wait; results are checked on\n"
      "the device buffers (copied back).\n"
      "--bound adds bound (us): the time the host's memory needs for the bytes that a\n"
      "single-copy host algorithm reads and writes, (ranks on the host) x bytes per rank /\n"
      "bandwidth, with bytes per rank (5n-3)/n x size for all_reduce, 2 x size for all_gather\n"
      "and (3n-1)/n x size for reduce_scatter; and frac = bound / time, out of place and in\n"
      "place. The bandwidth is measured at startup: the best of 5 runs of memcpy of 64 MiB per\n"
      "thread on min(ranks on the host, CPUs) threads, 2 bytes of traffic per byte copied.\n"
      "--csv writes a header, then one row per size, type, op and placement: collective,\n"
      "ranks, bytes, count, type, op, placement (out/in), time_us, p50_us, p99_us, algbw_GBps,\n"
      "busbw_GBps, bound_us, bound_fraction (empty without --bound), wrong (empty with -c 0).\n"
      "--algo ring,rd,tree,auto: one row per size with each algorithm's out-of-place time and\n"
      "busbw (n/a where it does not apply), the measured winner (fastest but auto), the model's\n"
      "choice under this run's TUTTI_ALGO ('pinned' where TUTTI_ALGO decides) and the match:\n"
      "yes, near (its time within 5% of the winner's), no, no* (its choice was not measured),\n"
      "- (pinned). --csv then has one line per size and algorithm; --json an \"algo\" section\n"
      "with both counts.\n"
      "--hosts H (local ranks only; under a launcher the hosts are real): rank r gets\n"
      "TUTTI_HOSTID r x H / np, to exercise the multi-host algorithms on one machine.\n"
      "--calibrate [FILE]: all_reduce (ring, rd) and all_gather (ring), float sum, 16 B to 16\n"
      "MiB x4 unless -b/-e/-f say otherwise, median of 5 runs of -n iterations each; fits\n"
      "alpha, rendezvous alpha, beta and gamma by relative least squares (none negative) and\n"
      "stores them keyed by (transport, ranks on the machine, CPUs). One host: the intra level\n"
      "(--hosts 1); every rank its own host: the inter level (--hosts NP).");
  std::string algoText;
  app.add_option("--algo", algoText,
                 "measure these algorithms in turn at each size, out of place (ring, rd, tree; "
                 "auto: the model's choice), and compare the fastest with the model's choice");
  app.add_option("--hosts", options->hosts,
                 "the -np local ranks pose as this many hosts (TUTTI_HOSTID): rank r on host "
                 "r x H / np")
      ->check(CLI::Range(1, 1024))
      ->default_str("real hosts");
  CLI::Option* calibrate =
      app.add_option("--calibrate", options->calibratePath,
                     "fit the cost model's constants of the level these ranks exercise and store "
                     "them in FILE (default: the cost file communicators read)")
          ->expected(0, 1)
          ->type_name("[FILE]");
  app.add_flag("--params", options->printParams,
               "print the TUTTI_* environment variables, their defaults and meaning, and exit");
  std::vector<const char*> cargs;
  for (const std::string& arg : args) cargs.push_back(arg.c_str());
  try {
    app.parse(static_cast<int>(cargs.size()), const_cast<char**>(cargs.data()));
  } catch (const CLI::ParseError& error) {
    *exitCode = app.exit(error);
    if (*exitCode != 0) *exitCode = 2;  // a usage error, whichever CLI11 code it had
    return false;
  }
  if (options->printParams) return true;
  for (int i = 0; i < argc; ++i) {
    options->commandLine += (i == 0 ? "tutti-perf" : " " + std::string(argv[i]));
  }
  auto usageError = [exitCode](const std::string& message) {
    std::fprintf(stderr, "tutti-perf: %s\n", message.c_str());
    *exitCode = 2;
    return false;
  };
  if (!algoText.empty()) {
    std::string error;
    if (!parseAlgoList(algoText, &options->algos, &error)) return usageError("--algo " + error);
    if (options->bound) return usageError("--algo and --bound do not go together");
  } else if (app.count("--algo") > 0) {
    return usageError("--algo needs a list, e.g. ring,tree,auto");
  }
  options->calibrate = calibrate->count() > 0;
  if (options->device && (options->calibrate || !options->algos.empty() || options->bound ||
                          options->collectiveName == "sendrecv")) {
    return usageError(
        "--device measures the collectives on device buffers: it does not go with --calibrate, "
        "--algo, --bound or sendrecv (point-to-point calls take host buffers in this build)");
  }
  if (options->registerMode != 0 && !options->device) {
    return usageError("-R registers device buffers: it needs --device");
  }
  if (options->calibrate) {
    for (const char* other : {"collective", "--algo", "--bound", "--mem-gbps", "--csv", "--json",
                              "--datatype", "--op"}) {
      if (app.count(other) > 0) {
        return usageError(fmt::format(
            "--calibrate measures all_reduce and all_gather of float sums itself: drop {}{}", other,
            std::string(other) == "collective" ? " '" + options->collectiveName + "'" : ""));
      }
    }
    const std::string& path = options->calibratePath;
    const std::vector<std::string> names = collectiveNames();
    if (std::find(names.begin(), names.end(), path) != names.end()) {
      return usageError(fmt::format(
          "--calibrate {0}: {0} is a collective, not a cost file; --calibrate measures the "
          "collectives itself (name a FILE or none)",
          path));
    }
    if (options->calibratePath.empty()) options->calibratePath = defaultCostFilePath();
    if (options->calibratePath.empty()) {
      return usageError(
          "--calibrate: no cost file: name one (--calibrate FILE) or set TUTTI_COST_FILE, "
          "XDG_CONFIG_HOME or HOME");
    }
    // Its own default sweep, 16 B to 16 MiB by x4: wide enough to separate the per-round and
    // per-byte costs.
    if (app.count("--minbytes") == 0) minText = "16";
    if (app.count("--maxbytes") == 0) maxText = "16M";
    if (stepFactor->count() == 0 && stepBytes->count() == 0) options->stepFactor = 4;
    options->collectiveName = "all_reduce";
  }
  if (app.count("--mem-gbps") > 0) {
    if (!std::isfinite(options->memGBps) || !(options->memGBps > 0)) {
      std::fprintf(stderr, "tutti-perf: --mem-gbps %g: the memory bandwidth must be > 0 GB/s\n",
                   options->memGBps);
      *exitCode = 2;
      return false;
    }
    options->bound = true;
  }
  if (app.count("--csv") > 0 && options->csvPath.empty()) {
    std::fprintf(stderr, "tutti-perf: --csv needs a file name, or '-' for stdout\n");
    *exitCode = 2;
    return false;
  }
  if (options->collectiveName.empty()) {
    std::fprintf(stderr,
                 "tutti-perf: name a collective: all_reduce, all_gather, reduce_scatter, "
                 "broadcast, reduce, alltoall, gather, scatter or sendrecv\n"
                 "Run with --help for more information.\n");
    *exitCode = 2;
    return false;
  }
  options->localRanksGiven = app.count("--np") > 0;
  // nccl-tests: -f makes the steps geometric; -i alone makes them linear.
  options->linearSteps = stepBytes->count() > 0 && stepFactor->count() == 0;
  if (!options->linearSteps && !(options->stepFactor > 1)) {
    std::fprintf(stderr, "tutti-perf: -f %g: the step factor must be > 1\n", options->stepFactor);
    *exitCode = 2;
    return false;
  }
  if (!parseSize(minText, &options->minBytes) || !parseSize(maxText, &options->maxBytes) ||
      !parseSize(stepText, &options->stepBytes) || options->minBytes > options->maxBytes) {
    std::fprintf(stderr, "tutti-perf: bad sizes -b %s -e %s -i %s\n", minText.c_str(),
                 maxText.c_str(), stepText.c_str());
    *exitCode = 2;
    return false;
  }
  for (int c = 0; c < kNumCollectives; ++c) {
    if (options->collectiveName == collectiveName(static_cast<Collective>(c))) {
      options->collective = static_cast<PerfCollective>(c);
    }
  }
  if (options->bound && !boundCovers(options->collective)) {
    std::fprintf(stderr,
                 "tutti-perf: --bound covers all_reduce, all_gather and reduce_scatter, not %s\n",
                 options->collectiveName.c_str());
    *exitCode = 2;
    return false;
  }
  options->types.clear();
  if (typeText == "all") {
    for (int t = 0; t < tuttiNumTypes; ++t)
      options->types.push_back(static_cast<tuttiDataType_t>(t));
  } else {
    tuttiDataType_t type;
    if (!parseDataType(typeText, &type)) {
      std::fprintf(stderr, "tutti-perf: unknown datatype '%s'\n", typeText.c_str());
      *exitCode = 2;
      return false;
    }
    options->types.push_back(type);
  }
  options->ops.clear();
  if (!isReduction(collectiveOf(options->collective))) {
    options->ops.push_back(tuttiSum);  // unused: no op
  } else if (opText == "all") {
    for (int o = 0; o < tuttiNumOps; ++o) options->ops.push_back(static_cast<tuttiRedOp_t>(o));
  } else {
    tuttiRedOp_t op;
    if (!parseRedOp(opText, &op)) {
      std::fprintf(stderr, "tutti-perf: unknown op '%s'\n", opText.c_str());
      *exitCode = 2;
      return false;
    }
    options->ops.push_back(op);
  }
  return true;
}

}  // namespace tutti::perf
