// tutti-sim: what Tutti's cost model predicts for a cluster this machine is not (a topology file
// replicated to N hosts, one rank per GPU), checked against the real plan generators: for every
// size, sampled ranks' plans are generated and their messages, bytes sent, bytes reduced and
// (for the tree) depth are compared with the terms the model assumes (costTerms); --validate
// also runs the symbolic verifier. --compare-published sets predictions beside published NCCL
// figures. docs/simulation.md describes every relation checked and what validation covers.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "perf/sim/job.h"
#include "perf/sim/published.h"
#include "perf/sim/report.h"
#include "perf/sim/sample.h"
#include "perf/sim/sweep.h"
#include "topo/topology_file.h"

using namespace tutti;
using namespace tutti::sim;

int main(int argc, char** argv) {
  const auto started = std::chrono::steady_clock::now();
  CLI::App app{
      "tutti-sim: the cost model's predictions for a cluster of copies of a topology file, "
      "checked against the real plan generators"};
  std::string file, json, collectiveArg = "all_reduce";
  std::string shippedDir = TUTTI_SIM_SHIPPED_TOPOLOGIES, sharedDir = TUTTI_SIM_SHARED_TOPOLOGIES;
  int hosts = 0, gpusPerHost = 0, nvlinks = 0, sm = 0;
  size_t minBytes = 8, maxBytes = size_t{8} << 30;
  double factor = 2;
  bool validate = false, published = false;
  app.add_option("--topo", file, "one host's topology (Tutti text, NCCL XML or hwloc XML)");
  app.add_option("--hosts", hosts, "hosts in the cluster (copies of the file's host)")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--gpus-per-host", gpusPerHost,
                 "ranks per host, one per GPU (default: every GPU; required for CPU-only hosts)")
      ->check(CLI::Range(1, 4096));
  app.add_option("-b,--minbytes", minBytes, "smallest size, bytes (K, M, G: powers of 1024)")
      ->transform(CLI::AsSizeValue(false))
      ->default_str("8");
  app.add_option("-e,--maxbytes", maxBytes, "largest size")
      ->transform(CLI::AsSizeValue(false))
      ->default_str("8G");
  app.add_option("-f,--stepfactor", factor, "size multiplier")
      ->check(CLI::Range(1.01, 1024.0))
      ->default_str("2");
  app.add_option("--collective", collectiveArg, "all_reduce, all_gather, reduce_scatter or all")
      ->check(CLI::IsMember({"all_reduce", "all_gather", "reduce_scatter", "all"}))
      ->default_str("all_reduce");
  app.add_flag(
      "--validate", validate,
      "also verify plans symbolically (verifyPlans; all ranks up to 128, else the same "
      "ranks per host on fewer hosts) and match sampled ranks' messages with their peers'");
  app.add_option("--json", json, "also write the results to this file");
  app.add_option("--nvlinks", nvlinks,
                 "join every GPU to an NVSwitch by this many NVLinks, for files without NVLinks "
                 "(PCIe skeletons; A100 SXM4 has 12, H100 SXM 18: NVIDIA datasheets)")
      ->check(CLI::Range(1, 64));
  app.add_option("--sm", sm,
                 "compute capability x 10 for GPUs the file leaves unknown (80 A100, "
                 "90 H100): sets NCCL's NVLink bandwidth per link")
      ->check(CLI::Range(30, 200));
  app.add_flag("--compare-published", published,
               "compare with published NCCL figures (H100 and A100 over NVLink, 400G NDR between "
               "hosts) instead of a sweep");
  app.add_option("--topologies", shippedDir, "the shipped topology files, for --compare-published");
  app.add_option("--shared-topologies", sharedDir,
                 "the published machine files, for --compare-published");
  app.footer(
      "Sizes as nccl-tests counts them (float32): all_reduce S/4 elements, all_gather and "
      "reduce_scatter S/(4n) per rank. Ranks are host-major (rank = host x G + local GPU).\n"
      "Exit status: 0 when every plan check holds, 1 on a disagreement between the plans and the "
      "model or a validation failure, 2 on a usage error. docs/simulation.md describes the "
      "checks.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }
  if (published) return comparePublished(shippedDir, sharedDir);
  if (file.empty() || hosts == 0) {
    std::fprintf(stderr,
                 "tutti-sim: --topo FILE and --hosts N are required (or --compare-published)\n");
    return 2;
  }
  if (minBytes < kElementBytes || minBytes > maxBytes) {
    std::fprintf(stderr, "tutti-sim: sizes from %zu to %zu: need 4 <= -b <= -e (bytes)\n", minBytes,
                 maxBytes);
    return 2;
  }

  topo::Topology host;
  topo::TopologyFileFormat format;
  Status status = topo::loadTopologyFile(file, &host, &format);
  Job job;
  if (status.isOk()) {
    status = makeJob(host, fmt::format("{} ({})", file, topo::topologyFileFormatName(format)),
                     hosts, gpusPerHost, nvlinks, sm, &job);
  }
  if (!status.isOk()) {
    std::fprintf(stderr, "tutti-sim: %s\n", status.message().c_str());
    return 2;
  }
  printCost(job);

  std::vector<Collective> collectives;
  for (Collective c : kCollectives) {
    if (collectiveArg == "all" || collectiveArg == collectiveName(c)) collectives.push_back(c);
  }
  const std::vector<size_t> sizes = sweepSizes(minBytes, maxBytes, factor);
  const Sample sample = sampleRanks(job);
  Totals totals;
  totals.sizes = sizes.size();
  std::vector<Sweep> sweeps;
  for (Collective c : collectives) {
    sweeps.push_back(sweep(job, sample, c, sizes, validate, &totals));
    printSweep(job, sweeps.back());
  }
  const bool ok = report(sample, totals, validate);
  if (!json.empty()) {
    Status written = writeJson(json, job, sweeps, totals);
    if (!written.isOk()) {
      std::fprintf(stderr, "tutti-sim: %s\n", written.message().c_str());
      return 2;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("# %.1f s\n", seconds);
  return ok ? 0 : 1;
}
