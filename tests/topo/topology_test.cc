// The system model, paths, clusters and Tutti's text format, including the shipped
// perf/topologies files.
#include "topo/topology.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "topo/describe.h"
#include "topo/link_model.h"
#include "topo/paths.h"
#include "topo/text_format.h"
#include "topo/topology_file.h"

namespace tutti::topo {
namespace {

Topology parsed(const std::string& text) {
  Topology topology;
  Status status = parse(text, &topology);
  EXPECT_TRUE(status.isOk()) << status.message();
  return topology;
}

std::string parseError(const std::string& text) {
  Topology topology;
  Status status = parse(text, &topology);
  EXPECT_FALSE(status.isOk()) << text;
  return status.message();
}

// Two sockets; socket 0 has a switch with gpu0, gpu1, nic0; socket 1 has gpu2 and nic1 on its
// root ports; gpu0 and gpu1 share an NVSwitch.
const char* kSmallHost = R"(tutti-topology 1
node cpu0 cpu pus=8 vendor=GenuineIntel family=6 model=143  # numa defaults to 0
node cpu1 cpu pus=8 vendor=GenuineIntel family=6 model=143
link cpu0 cpu1 sys
node sw0 pci busid=0000:10:00.0
link cpu0 sw0 pcie gen=4 width=16
node gpu0 gpu busid=0000:11:00.0 sm=90
node gpu1 gpu busid=0000:12:00.0 sm=90
node nic0 nic net=mlx5_0 speed=200000 fabric=ib
link sw0 gpu0 pcie gen=5 width=16
link sw0 gpu1 pcie gen=5 width=16
link sw0 nic0 pcie gen=5 width=16
node gpu2 gpu sm=80
node nic1 nic speed=100000 fabric=eth ports=2 lat=3.5
link cpu1 gpu2 pcie gen=4 width=16
link cpu1 nic1 pcie gen=3 width=8 bw=7.5 lat=0.25
node nvs0 nvswitch
link gpu0 nvs0 nvlink count=5
link gpu1 nvs0 nvlink count=4
)";

TEST(LinkModelTest, NcclBandwidthTables) {
  EXPECT_DOUBLE_EQ(pcieBandwidthGBps(3, 16), 12.0);  // NCCL's PCI_BW
  EXPECT_DOUBLE_EQ(pcieBandwidthGBps(4, 16), 24.0);
  EXPECT_DOUBLE_EQ(pcieBandwidthGBps(5, 16), 48.0);
  // No int overflow for absurd widths (fuzz_topology_text): 50717106 lanes of Gen3, positive.
  EXPECT_DOUBLE_EQ(pcieBandwidthGBps(3, 50717106), 50717106.0 * 60 / 80.0);
  EXPECT_DOUBLE_EQ(pcieBandwidthGBps(1, 1), 0.1875);
  EXPECT_DOUBLE_EQ(pcieBandwidthGBps(5, 0), 48.0);  // width 0 counts as 16
  EXPECT_DOUBLE_EQ(pcieBandwidthGBps(0, 8), 6.0);   // unknown generation counts as Gen3
  EXPECT_EQ(pcieGenFromLinkSpeed("16.0 GT/s PCIe"), 4);
  EXPECT_EQ(pcieGenFromLinkSpeed("32.0 GT/s PCIe"), 5);
  EXPECT_EQ(pcieGenFromLinkSpeed("16 GT/s"), 4);
  EXPECT_EQ(pcieGenFromLinkSpeed("8 GT/s"), 3);
  EXPECT_EQ(pcieGenFromLinkSpeed("2.5 GT/s PCIe"), 1);
  EXPECT_EQ(pcieGenFromLinkSpeed("Unknown"), 0);
  EXPECT_EQ(pcieGenFromLinkSpeed("12 GT/s"), 0);
  EXPECT_DOUBLE_EQ(nvlinkBandwidthGBps(90, 5), 103.0);
  EXPECT_DOUBLE_EQ(nvlinkBandwidthGBps(80, 12), 240.0);
  EXPECT_DOUBLE_EQ(nvlinkBandwidthGBps(86, 4), 48.0);
  EXPECT_DOUBLE_EQ(nvlinkBandwidthGBps(0, 1), 20.0);  // unknown: NCCL's SM80 figure
  EXPECT_DOUBLE_EQ(nicBandwidthGBps(400000), 50.0);
  EXPECT_DOUBLE_EQ(nicBandwidthGBps(-1), 1.25);  // unknown: NCCL's 10 Gb/s
  EXPECT_DOUBLE_EQ(interSocketBandwidthGBps("GenuineIntel", 6, 143), 22.0);
  EXPECT_DOUBLE_EQ(interSocketBandwidthGBps("GenuineIntel", 6, 85), 10.0);
  EXPECT_DOUBLE_EQ(interSocketBandwidthGBps("GenuineIntel", 6, 44), 6.0);
  EXPECT_DOUBLE_EQ(interSocketBandwidthGBps("AuthenticAMD", 23, 49), 16.0);
  EXPECT_DOUBLE_EQ(interSocketBandwidthGBps("AuthenticAMD", 25, 1), 24.0);
}

TEST(TopologyTest, TextFormatDerivesWhatLinesLeaveOut) {
  Topology t = parsed(kSmallHost);
  EXPECT_EQ(t.hostCount(), 1);
  EXPECT_EQ(t.numaCount(), 2);
  EXPECT_EQ(t.puCount(), 16);
  EXPECT_EQ(t.gpuCount(), 3);
  EXPECT_EQ(t.nicCount(), 2);
  EXPECT_EQ(t.count(NodeKind::kNvSwitch), 1);
  EXPECT_TRUE(t.hasNvlink());
  EXPECT_EQ(t.nodes[t.findNode(0, "cpu1")].numaId, 1);  // the CPUs' order
  const Node& nic1 = t.nodes[t.findNode(0, "nic1")];
  EXPECT_EQ(nic1.ports, 2);
  EXPECT_EQ(nic1.fabric, NicFabric::kEthernet);
  EXPECT_DOUBLE_EQ(nic1.netLatencyUs, 3.5);
  EXPECT_DOUBLE_EQ(t.nodes[t.findNode(0, "nic0")].netLatencyUs, kNetLatencyUs);
  EXPECT_DOUBLE_EQ(t.links[0].bandwidthGBps, 22.0);  // sys: Sapphire Rapids
  EXPECT_DOUBLE_EQ(t.links[0].latencyUs, kInterSocketLatencyUs);
  EXPECT_DOUBLE_EQ(t.links[1].bandwidthGBps, 24.0);  // Gen4 x16
  EXPECT_DOUBLE_EQ(t.links[6].bandwidthGBps, 7.5);   // given, not derived
  EXPECT_DOUBLE_EQ(t.links[6].latencyUs, 0.25);
  EXPECT_DOUBLE_EQ(t.links[7].bandwidthGBps, 103.0);  // 5 NVLinks at sm 90
  EXPECT_EQ(t.links[8].nvlinkCount, 4);
}

TEST(TopologyTest, PathTypesAndClosestNic) {
  Topology t = parsed(kSmallHost);
  int gpu0 = t.findNode(0, "gpu0"), gpu1 = t.findNode(0, "gpu1"), gpu2 = t.findNode(0, "gpu2");
  int nic0 = t.findNode(0, "nic0"), nic1 = t.findNode(0, "nic1");

  Path path = findPath(t, gpu0, nic0);
  EXPECT_EQ(path.type, PathType::kPix);
  EXPECT_EQ(path.hops(), 2);
  EXPECT_DOUBLE_EQ(path.bandwidthGBps, 48.0);
  EXPECT_DOUBLE_EQ(path.latencyUs, 2 * kPcieLatencyUs);

  path = findPath(t, gpu0, gpu1);  // NVLink beats the PCIe switch
  EXPECT_EQ(path.type, PathType::kNvl);
  EXPECT_DOUBLE_EQ(path.bandwidthGBps, nvlinkBandwidthGBps(90, 4));

  path = findPath(t, gpu2, nic1);  // through the CPU's root complex
  EXPECT_EQ(path.type, PathType::kPhb);
  EXPECT_DOUBLE_EQ(path.bandwidthGBps, 7.5);

  path = findPath(t, gpu0, nic1);
  EXPECT_EQ(path.type, PathType::kSys);
  EXPECT_EQ(path.hops(), 4);  // gpu0 sw0 cpu0 cpu1 nic1
  EXPECT_DOUBLE_EQ(path.bandwidthGBps, 7.5);

  EXPECT_EQ(findPath(t, gpu0, gpu0).type, PathType::kLoc);
  EXPECT_EQ(closestNic(t, gpu0, &path), nic0);
  EXPECT_EQ(path.type, PathType::kPix);
  EXPECT_EQ(closestNic(t, gpu2), nic1);

  // GPUs do not forward: without its own PCIe link gpu1 reaches nic0 only through gpu0's NVSwitch
  // and gpu0, which is not a path.
  Topology cut = t;
  cut.links.erase(cut.links.begin() + 3);  // sw0 - gpu1
  EXPECT_EQ(findPath(cut, gpu1, nic0).type, PathType::kDis);
}

TEST(TopologyTest, SerializeParseRoundTrip) {
  Topology t = parsed(kSmallHost);
  std::string text = serialize(t);
  EXPECT_EQ(parsed(text), t) << text;
  EXPECT_EQ(serialize(parsed(text)), text);
}

TEST(TopologyTest, ClustersOfHosts) {
  Topology host = parsed(kSmallHost);
  Topology cluster = replicateHosts(host, 4);
  EXPECT_EQ(cluster.hostCount(), 4);
  EXPECT_EQ(cluster.gpuCount(), 12);
  EXPECT_EQ(cluster.gpuCount(3), 3);
  EXPECT_EQ(extractHost(cluster, 2), host);
  // A path never leaves its host.
  EXPECT_EQ(findPath(cluster, cluster.findNode(0, "gpu0"), cluster.findNode(1, "nic0")).type,
            PathType::kDis);
  EXPECT_EQ(closestNic(cluster, cluster.findNode(3, "gpu0")), cluster.findNode(3, "nic0"));

  std::string text = serialize(cluster);
  EXPECT_NE(text.find("hosts 4"), std::string::npos) << text;
  EXPECT_EQ(parsed(text), cluster);

  std::string hostsLine = kSmallHost;
  hostsLine.insert(hostsLine.find('\n') + 1, "hosts 16\n");
  EXPECT_EQ(parsed(hostsLine), replicateHosts(host, 16));

  // Different hosts: one section each.
  Topology cpuOnly = parsed("tutti-topology 1\nnode cpu0 cpu pus=4\n");
  Topology mixed = combineHosts({host, cpuOnly, host});
  EXPECT_EQ(mixed.hostCount(), 3);
  EXPECT_EQ(mixed.gpuCount(1), 0);
  text = serialize(mixed);
  EXPECT_NE(text.find("host 2\n"), std::string::npos) << text;
  EXPECT_EQ(parsed(text), mixed);
  EXPECT_EQ(summarizeTopology(mixed),
            "hosts 3, NUMA nodes 5, PUs 36, GPUs 6, NICs 4, NVSwitches 2, NVLink yes");
}

TEST(TopologyTest, GroupByHostRenumbersLinks) {
  Topology t;
  Node cpu;
  cpu.name = "cpu0";
  cpu.host = 1;
  t.addNode(cpu);
  cpu.host = 0;
  t.addNode(cpu);
  Node nic;
  nic.kind = NodeKind::kNic;
  nic.name = "nic0";
  t.addNode(nic);
  Link link;
  link.a = 1;
  link.b = 2;
  link.bandwidthGBps = 12;
  t.addLink(link);
  groupByHost(&t);
  EXPECT_EQ(t.nodes[0].host, 0);
  EXPECT_EQ(t.nodes[1].name, "nic0");
  EXPECT_EQ(t.nodes[2].host, 1);
  EXPECT_EQ(t.links[0].a, 0);
  EXPECT_EQ(t.links[0].b, 1);
  EXPECT_EQ(parsed(serialize(t)), t);
}

TEST(TopologyTest, TextFormatErrorsNameTheLine) {
  EXPECT_NE(parseError("node cpu0 cpu\n").find("tutti-topology"), std::string::npos);
  EXPECT_NE(parseError("tutti-topology 2\n").find("version 2"), std::string::npos);
  std::string message =
      parseError("tutti-topology 1\nnode cpu0 cpu\nnode gpu0 gpu sm=90 speed=1\n");
  EXPECT_NE(message.find("line 3"), std::string::npos) << message;
  EXPECT_NE(message.find("'speed'"), std::string::npos) << message;
  message = parseError("tutti-topology 1\nnode cpu0 cpu\nlink cpu0 gpu0 pcie\n");
  EXPECT_NE(message.find("no node 'gpu0'"), std::string::npos) << message;
  message = parseError("tutti-topology 1\nnode cpu0 cpu\nnode cpu0 cpu\n");
  EXPECT_NE(message.find("twice"), std::string::npos) << message;
  message = parseError("tutti-topology 1\nnode x tpu\n");
  EXPECT_NE(message.find("unknown node kind"), std::string::npos) << message;
  message = parseError("tutti-topology 1\nnode a cpu\nnode b cpu\nlink a b sys count=2\n");
  EXPECT_NE(message.find("'count'"), std::string::npos) << message;
  message = parseError("tutti-topology 1\nnode a cpu\nnode b pci\nlink a b pcie bw=-1\n");
  EXPECT_NE(message.find("bw=-1"), std::string::npos) << message;
  message = parseError("tutti-topology 1\nnode a cpu\nnode b pci\nlink a b pcie gen=7\n");
  EXPECT_NE(message.find("1..6"), std::string::npos) << message;
  message = parseError("tutti-topology 1\nnode a cpu\nhosts 2\n");
  EXPECT_NE(message.find("before any node"), std::string::npos) << message;
  message = parseError("tutti-topology 1\nhost 0\nnode a cpu\nhost 2\n");
  EXPECT_NE(message.find("expected 'host 1'"), std::string::npos) << message;
  message = parseError("tutti-topology 1\nfrobnicate\n");
  EXPECT_NE(message.find("unknown statement"), std::string::npos) << message;
}

// perf/topologies: Tutti-format machines that tests and simulations use.
Topology shipped(const std::string& name) {
  Topology topology;
  TopologyFileFormat format;
  Status status =
      loadTopologyFile(std::string(TUTTI_PERF_TOPOLOGIES_DIR) + "/" + name, &topology, &format);
  EXPECT_TRUE(status.isOk()) << status.message();
  EXPECT_EQ(format, TopologyFileFormat::kTutti);
  EXPECT_EQ(parsed(serialize(topology)), topology) << name;
  return topology;
}

TEST(ShippedTopologiesTest, DgxH100) {
  Topology t = shipped("dgx-h100.topo");
  EXPECT_EQ(t.numaCount(), 2);
  EXPECT_EQ(t.puCount(), 224);
  EXPECT_EQ(t.gpuCount(), 8);
  EXPECT_EQ(t.nicCount(), 8);
  EXPECT_EQ(t.count(NodeKind::kNvSwitch), 4);
  EXPECT_EQ(t.count(NodeKind::kPciSwitch), 4);
  EXPECT_TRUE(t.hasNvlink());
  for (int gpu : t.nodesOf(NodeKind::kGpu)) {
    int nvlinks = 0;
    for (int l : t.linksOf(gpu)) nvlinks += t.links[l].nvlinkCount;
    EXPECT_EQ(nvlinks, 18) << t.nodes[gpu].name;
    Path path;
    int nic = closestNic(t, gpu, &path);
    ASSERT_GE(nic, 0);
    EXPECT_EQ(path.type, PathType::kPix) << t.nodes[gpu].name;
    EXPECT_DOUBLE_EQ(path.bandwidthGBps, 48.0);
    EXPECT_EQ(t.nodes[nic].speedMbps, 400000);
  }
  EXPECT_EQ(t.nodes[closestNic(t, t.findNode(0, "gpu5"))].name, "nic4");  // the switch's first
  Path gpuToGpu = findPath(t, t.findNode(0, "gpu0"), t.findNode(0, "gpu7"));
  EXPECT_EQ(gpuToGpu.type, PathType::kNvl);
  EXPECT_DOUBLE_EQ(gpuToGpu.bandwidthGBps, nvlinkBandwidthGBps(90, 5));
}

TEST(ShippedTopologiesTest, PcieFourGpusTwoNics) {
  Topology t = shipped("pcie-4gpu-2nic.topo");
  EXPECT_EQ(t.numaCount(), 2);
  EXPECT_EQ(t.gpuCount(), 4);
  EXPECT_EQ(t.nicCount(), 2);
  EXPECT_FALSE(t.hasNvlink());
  Path path;
  EXPECT_EQ(closestNic(t, t.findNode(0, "gpu1"), &path), t.findNode(0, "nic0"));
  EXPECT_EQ(path.type, PathType::kPhb);
  EXPECT_EQ(closestNic(t, t.findNode(0, "gpu3"), &path), t.findNode(0, "nic1"));
  EXPECT_EQ(findPath(t, t.findNode(0, "gpu0"), t.findNode(0, "gpu3")).type, PathType::kSys);
}

TEST(ShippedTopologiesTest, CpuOnly) {
  Topology t = shipped("cpu-only.topo");
  EXPECT_EQ(t.numaCount(), 2);
  EXPECT_EQ(t.puCount(), 128);
  EXPECT_EQ(t.gpuCount(), 0);
  EXPECT_EQ(t.nicCount(), 1);
  EXPECT_DOUBLE_EQ(t.links[0].bandwidthGBps, 24.0);  // Zen 3 between sockets
}

TEST(TopologyFileTest, DumpThenLoadAndFormatDetection) {
  Topology t = parsed(kSmallHost);
  std::string path = ::testing::TempDir() + "/tutti_topology_roundtrip.topo";
  ASSERT_TRUE(dumpTopologyFile(path, t).isOk());
  Topology loaded;
  ASSERT_TRUE(loadTopologyFile(path, &loaded).isOk());
  EXPECT_EQ(loaded, t);

  TopologyFileFormat format;
  ASSERT_TRUE(
      detectTopologyFileFormat("<?xml version=\"1.0\"?>\n<system version=\"1\"/>", &format).isOk());
  EXPECT_EQ(format, TopologyFileFormat::kNcclXml);
  ASSERT_TRUE(detectTopologyFileFormat("  <!-- x --><topology version=\"2.0\"/>", &format).isOk());
  EXPECT_EQ(format, TopologyFileFormat::kHwlocXml);
  EXPECT_FALSE(detectTopologyFileFormat("<html/>", &format).isOk());
  Status missing = loadTopologyFile(::testing::TempDir() + "/no/such/file.topo", &loaded);
  EXPECT_EQ(missing.code(), tuttiSystemError);
}

TEST(TopologyFileTest, EnvironmentPicksTheFileAndTheDump) {
  std::string dump = ::testing::TempDir() + "/tutti_topology_env_dump.topo";
  std::remove(dump.c_str());
  std::string source = std::string(TUTTI_PERF_TOPOLOGIES_DIR) + "/pcie-4gpu-2nic.topo";
  setenv("TUTTI_TOPO_FILE", source.c_str(), 1);
  setenv("TUTTI_TOPO_DUMP_FILE", dump.c_str(), 1);
  Topology t;
  Status status = loadOrDetectTopology(&t);
  unsetenv("TUTTI_TOPO_FILE");
  unsetenv("TUTTI_TOPO_DUMP_FILE");
  ASSERT_TRUE(status.isOk()) << status.message();
  EXPECT_EQ(t.gpuCount(), 4);
  Topology dumped;
  ASSERT_TRUE(loadTopologyFile(dump, &dumped).isOk());
  EXPECT_EQ(dumped, t);
}

}  // namespace
}  // namespace tutti::topo
