// tutti-put-bench: one-sided puts against two-sided messages, per transport, between two ranks
// forked on this host. Each rank makes a communicator with TUTTI_TRANSPORT set to the transport
// under test and drives its connection to the other rank directly (put_bench_rank.h), so the
// numbers are the transport's, without the executor's planning or the collective's headers.
//
// Per size, in the manner of the OSU micro-benchmarks (osu_latency, osu_bw, osu_put_latency,
// osu_put_bw): latency is half a ping-pong round trip; bandwidth is rank 0 streaming --window
// transfers in flight until rank 1 acknowledges the last one with an 8-byte message. A put is
// Connection::putWithSignal: the data, then the signal the owner waits on. Every transfer's
// bytes are checked; a wrong byte makes the exit status 1.
#include <sys/mman.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "perf/put-bench/put_bench_rank.h"
#include "perf/put-bench/put_bench_report.h"
#include "testing/json_file.h"
#include "testing/rank_launcher.h"

namespace {

using tutti::perf::PutBenchOptions;
using tutti::perf::PutBenchResult;

// Runs the two ranks for one transport; rank 0's results come back through shared memory.
int runTransport(const std::string& transport, const PutBenchOptions& options,
                 PutBenchResult* result) {
  void* shared = mmap(nullptr, sizeof(PutBenchResult), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) {
    std::perror("tutti-put-bench: mmap");
    return 2;
  }
  auto* fromRanks = new (shared) PutBenchResult();
  const int launchTimeoutSec = options.timeoutMs / 1000 * 4 + 60;
  tutti::test::RankLaunch launch = tutti::test::forkRanksSharingId(
      2,
      [&](int rank, const tuttiUniqueId& id) {
        setenv("TUTTI_TRANSPORT", transport.c_str(), 1);
        return tutti::perf::runPutBenchRank(rank, id, options, fromRanks);
      },
      launchTimeoutSec);
  *result = *fromRanks;
  munmap(shared, sizeof(PutBenchResult));
  if (!launch.error.empty()) {
    std::fprintf(stderr, "tutti-put-bench: %s\n", launch.error.c_str());
    return 2;
  }
  if (!launch.ok()) {
    std::fprintf(stderr, "tutti-put-bench: %s: %s\n", transport.c_str(), launch.failures().c_str());
  }
  return launch.exitStatus();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tutti-put-bench: one-sided puts against two-sided messages, per transport"};
  PutBenchOptions options;
  options.transports = {"shm", "tcp", "ucx"};
  app.add_option("-t,--transports", options.transports,
                 "comma-separated TUTTI_TRANSPORT values, one launch of two ranks each")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("-b,--min", options.minBytes, "smallest message (bytes; K, M suffixes)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  app.add_option("-e,--max", options.maxBytes, "largest message (bytes; K, M suffixes)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  app.add_option("-f,--factor", options.factor, "size multiplier between rows")
      ->check(CLI::Range(2, 1024))
      ->capture_default_str();
  app.add_option("-n,--iters", options.iters, "timed repetitions per size (fewer above 1 MiB)")
      ->check(CLI::Range(1, 1 << 24))
      ->capture_default_str();
  app.add_option("-w,--warmup", options.warmup, "untimed repetitions per size and test")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
  app.add_option("--window", options.window, "transfers in flight in the bandwidth tests")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--timeout-ms", options.timeoutMs, "the longest any one wait may take")
      ->check(CLI::Range(100, 3600 * 1000))
      ->capture_default_str();
  app.add_option("--json", options.jsonPath, "also write the results to this file");
  app.footer(
      "Latency is half a round trip in microseconds; bandwidth is bytes delivered per second "
      "(GB/s, 1e9) with --window transfers in flight; memcpy is one core copying the same size, "
      "the limit a copy between processes on one host approaches. Exit status: 0 when every "
      "byte arrived right, 1 when some did not, 2 when a transport failed or the options are "
      "wrong.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }
  if (options.minBytes == 0 || options.minBytes > options.maxBytes ||
      options.maxBytes > (size_t{1} << 30)) {
    std::fprintf(stderr, "tutti-put-bench: need 1 <= --min <= --max <= 1G (got %zu and %zu)\n",
                 options.minBytes, options.maxBytes);
    return 2;
  }
  options.transports.erase(
      std::remove(options.transports.begin(), options.transports.end(), std::string()),
      options.transports.end());
  if (options.transports.empty()) {
    std::fprintf(stderr, "tutti-put-bench: --transports names none\n");
    return 2;
  }

  int exitStatus = 0;
  nlohmann::json launches = nlohmann::json::array();
  for (const std::string& transport : options.transports) {
    auto result = std::make_unique<PutBenchResult>();
    const int status = runTransport(transport, options, result.get());
    exitStatus = std::max(exitStatus, status);
    if (result->rows > 0) {
      tutti::perf::printPutBenchTable(*result, options);
      launches.push_back(tutti::perf::putBenchJson(*result, options));
    }
  }
  if (!options.jsonPath.empty() &&
      !tutti::test::writeJsonFile(options.jsonPath,
                                  {{"tool", "tutti-put-bench"}, {"launches", launches}})) {
    std::fprintf(stderr, "tutti-put-bench: cannot write %s\n", options.jsonPath.c_str());
    return 2;
  }
  return exitStatus;
}
