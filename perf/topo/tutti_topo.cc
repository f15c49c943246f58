// tutti-topo: prints this host's topology (or a file's) as a tree with link speeds, writes and
// converts topology files (Tutti text, NCCL XML, hwloc XML in; Tutti text out), and with
// --algo-table prints what the cost model predicts and chooses on it.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "algo/cost_topology.h"
#include "algo/select.h"
#include "base/params.h"
#include "topo/describe.h"
#include "topo/detect.h"
#include "topo/topology_file.h"

namespace {

int fail(const tutti::Status& status) {
  std::fprintf(stderr, "tutti-topo: %s\n", status.message().c_str());
  return 1;
}

// Sizes 8 B to 1 GiB, x4, and 1 GiB itself.
std::vector<size_t> tableSizes() {
  std::vector<size_t> sizes;
  for (size_t size = 8; size < (size_t{1} << 30); size *= 4) sizes.push_back(size);
  sizes.push_back(size_t{1} << 30);
  return sizes;
}

// The model's predicted time of every algorithm and its choice, per collective and size, for
// nranks ranks spread over the topology's hosts (GPU ranks where the hosts have GPUs).
int printAlgoTable(const tutti::topo::Topology& cluster, const std::string& source, int nranks) {
  using namespace tutti;
  std::vector<int> hostOfRank, gpuOfRank;
  Status status = placeRanks(cluster, nranks, &hostOfRank, &gpuOfRank);
  TopologyCost cost;
  if (status.isOk()) {
    status =
        clusterCostFromTopology(cluster, hostOfRank, gpuOfRank, defaultCpuClusterCost(), &cost);
  }
  if (!status.isOk()) return fail(status);
  const HostShape shape = hostShapeOf(hostOfRank);
  std::printf("# %s: %d ranks on %d host%s (at most %d per host, host-major), %s\n", source.c_str(),
              nranks, shape.nhosts, shape.nhosts == 1 ? "" : "s", shape.maxRanksPerHost,
              cost.fromTopology ? "one per GPU" : "CPU ranks");
  if (!cost.fromTopology) {
    std::printf(
        "# no GPUs: CPU ranks, costed with the transports' defaults "
        "(defaultLinkCost(\"shm/cma\") inside a host, defaultLinkCost(\"tcp\") between "
        "hosts), not from the topology's links\n");
  }
  std::printf("%s", describeTopologyCost(cost, "# ").c_str());
  std::vector<Algorithm> algorithms;  // the table's, in its order
  for (const RegisteredAlgorithm& entry : algorithmTable()) algorithms.push_back(entry.id);
  for (Collective c :
       {Collective::kAllReduce, Collective::kAllGather, Collective::kReduceScatter}) {
    std::printf("#\n# %s: predicted time (us), '-' where an algorithm does not apply\n#%12s",
                collectiveName(c), "size");
    for (Algorithm a : algorithms) std::printf(" %12s", algorithmName(a));
    std::printf("  choice\n");
    for (size_t bytes : tableSizes()) {
      std::printf(" %12zu", bytes);
      for (Algorithm a : algorithms) {
        std::optional<double> us = predictUs(a, c, nranks, bytes, cost.cost, shape);
        std::printf(" %12s", us ? fmt::format("{:.2f}", *us).c_str() : "-");
      }
      const Choice choice =
          chooseAlgorithm(AlgoSpec(), c, nranks, bytes, cost.cost, nullptr, shape);
      std::printf("  %s\n", algorithmName(choice.algorithm));
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tutti::topo;
  CLI::App app{"tutti-topo: the topology Tutti sees, as a tree with link speeds"};
  std::string file, dump;
  std::vector<std::string> convert;
  int hosts = 1;
  int ranks = 0;
  bool summaryOnly = false;
  bool algoTable = false;
  app.add_option("--file", file,
                 "read this topology file instead of detecting (Tutti text, NCCL XML or hwloc XML, "
                 "told apart by content)");
  app.add_option("--dump", dump, "also write the topology to this file in Tutti's format");
  app.add_option("--convert", convert, "read IN (any format), write OUT in Tutti's format")
      ->expected(2)
      ->type_name("IN OUT");
  app.add_option("--hosts", hosts, "show a cluster of this many copies of the host")
      ->check(CLI::Range(1, 1 << 20));
  app.add_flag("--summary", summaryOnly, "print the one-line summary only");
  app.add_flag("--algo-table", algoTable,
               "print the cost model's predicted time per algorithm and its choice, 8 B to 1 GiB, "
               "for --ranks ranks over the hosts (costs from the GPUs, NVLinks and NICs; the "
               "transports' defaults for CPU-only hosts)");
  app.add_option("--ranks", ranks, "ranks for --algo-table, spread over the hosts in blocks")
      ->check(CLI::Range(1, 1 << 24));
  app.footer(
      "Units: bandwidth in GB/s (10^9 bytes/s, each direction, NCCL's effective figures), NIC "
      "speed in Gb/s.\nWithout --file, TUTTI_TOPO_FILE is read when set, else the host is "
      "detected: hwloc (when built with it) or sysfs, "
      "NVML when libnvidia-ml.so.1 loads, the CUDA driver (libcuda.so.1) for GPUs NVML did not "
      "describe, libibverbs.so.1 for RDMA NICs' port rates. docs/topology.md describes the file "
      "format.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }
  if (!convert.empty() && (!file.empty() || !dump.empty())) {
    std::fprintf(stderr, "tutti-topo: --convert IN OUT stands alone (no --file or --dump)\n");
    return 2;
  }
  if (algoTable && (ranks < 1 || !dump.empty() || !convert.empty() || summaryOnly)) {
    std::fprintf(stderr,
                 "tutti-topo: --algo-table needs --ranks N and goes without --dump, "
                 "--convert and --summary\n");
    return 2;
  }
  if (!algoTable && ranks > 0) {
    std::fprintf(stderr, "tutti-topo: --ranks is for --algo-table\n");
    return 2;
  }

  Topology topology;
  TopologyFileFormat format = TopologyFileFormat::kTutti;
  std::string source = "detected on this host";
  if (!convert.empty()) {
    file = convert[0];
    dump = convert[1];
  }
  if (!file.empty()) {
    tutti::Status status = loadTopologyFile(file, &topology, &format);
    if (!status.isOk()) return fail(status);
    source = file + " (" + topologyFileFormatName(format) + ")";
  } else {
    // TUTTI_TOPO_FILE as a communicator honours it; detection without it.
    tutti::Status status = loadOrDetectHostTopology(&topology);
    if (!status.isOk()) return fail(status);
    const char* envFile = tutti::paramEnv("TUTTI_TOPO_FILE");
    if (envFile != nullptr && *envFile != '\0') source = std::string("TUTTI_TOPO_FILE=") + envFile;
  }
  if (hosts > 1) topology = replicateHosts(topology, hosts);
  if (algoTable) return printAlgoTable(topology, source, ranks);
  if (!dump.empty()) {
    tutti::Status status = dumpTopologyFile(dump, topology);
    if (!status.isOk()) return fail(status);
  }
  if (summaryOnly || !convert.empty()) {
    std::printf("%s\n", summarizeTopology(topology).c_str());
  } else {
    std::printf("# %s\n%s", source.c_str(), describeTopology(topology).c_str());
  }
  if (!dump.empty()) std::printf("# written to %s\n", dump.c_str());
  return 0;
}
