// tutti-topo: prints this host's topology (or a file's) as a tree with link speeds, and writes
// and converts topology files (Tutti text, NCCL XML, hwloc XML in; Tutti text out).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "topo/describe.h"
#include "topo/detect.h"
#include "topo/topology_file.h"

namespace {

int fail(const tutti::Status& status) {
  std::fprintf(stderr, "tutti-topo: %s\n", status.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tutti::topo;
  CLI::App app{"tutti-topo: the topology Tutti sees, as a tree with link speeds"};
  std::string file, dump;
  std::vector<std::string> convert;
  int hosts = 1;
  bool summaryOnly = false;
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
  app.footer(
      "Units: bandwidth in GB/s (10^9 bytes/s, each direction, NCCL's effective figures), NIC "
      "speed in Gb/s.\nWithout --file the host is detected: hwloc (when built with it) or sysfs, "
      "NVML when libnvidia-ml.so.1 loads. docs/topology.md describes the file format.");
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
    tutti::Status status = detectTopology(&topology);
    if (!status.isOk()) return fail(status);
  }
  if (hosts > 1) topology = replicateHosts(topology, hosts);
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
