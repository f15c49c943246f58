// The published machine topologies in ../shared/topologies (see its README): NCCL XML dumps and
// skeletons, hwloc XML exports. Each test checks what the file holds and that Tutti's format
// carries the loaded graph unchanged.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include "topo/detect.h"
#include "topo/hw_tree.h"
#include "topo/hwloc_xml.h"
#include "topo/paths.h"
#include "topo/text_format.h"
#include "topo/topology_file.h"
#include "topo/xml_reader.h"

namespace tutti::topo {
namespace {

std::string sharedPath(const std::string& name) {
  return std::string(TUTTI_SHARED_TOPOLOGIES_DIR) + "/" + name;
}

bool sharedFolderPresent() {
  struct stat info;
  return stat(TUTTI_SHARED_TOPOLOGIES_DIR, &info) == 0 && S_ISDIR(info.st_mode);
}

#define SKIP_WITHOUT_SHARED_TOPOLOGIES()                                                \
  if (!sharedFolderPresent()) {                                                         \
    GTEST_SKIP() << "no " << TUTTI_SHARED_TOPOLOGIES_DIR << " (shared topology files)"; \
  }

Topology load(const std::string& name, TopologyFileFormat expected) {
  Topology topology;
  TopologyFileFormat format;
  Status status = loadTopologyFile(sharedPath(name), &topology, &format);
  EXPECT_TRUE(status.isOk()) << status.message();
  EXPECT_EQ(format, expected) << name;
  Topology again;
  EXPECT_TRUE(parse(serialize(topology), &again).isOk()) << name;
  EXPECT_EQ(again, topology) << name;
  return topology;
}

int node(const Topology& t, const std::string& busId) {
  int index = t.findBusId(0, busId);
  EXPECT_GE(index, 0) << busId;
  return index;
}

std::string closestNicBusId(const Topology& t, const std::string& gpuBusId, PathType* type) {
  Path path;
  int nic = closestNic(t, node(t, gpuBusId), &path);
  if (type != nullptr) *type = path.type;
  return nic < 0 ? "none" : t.nodes[nic].busId;
}

// What the published files do not show: GPU-to-GPU NVLinks listed from both ends, several hosts
// in one file, a NIC without PCIe placement, ports, devices and bridges that are left out.
TEST(NcclXmlTest, PeersHostsPortsAndWhatIsLeftOut) {
  const char* xml = R"(<system version="1">
  <cpu host_hash="0x1" numaid="0" affinity="0000000f" arch="x86_64" vendor="AuthenticAMD"
       familyid="25" modelid="1">
    <pci busid="0000:01:00.0" class="0x060400" link_speed="16.0 GT/s PCIe" link_width="16">
      <pci busid="0000:02:00.0" class="0x030200" link_speed="16.0 GT/s PCIe" link_width="16">
        <gpu dev="0" sm="80" rank="0" gdr="1">
          <nvlink target="0000:03:00.0" count="12" tclass="0x030200"/>
        </gpu>
      </pci>
      <pci busid="0000:03:00.0" class="0x030200" link_speed="16.0 GT/s PCIe" link_width="16">
        <gpu dev="1" sm="80" rank="1" gdr="1">
          <nvlink target="0000:02:00.0" count="12" tclass="0x030200"/>
        </gpu>
      </pci>
      <pci busid="0000:04:00.0" class="0x010802" link_speed="16.0 GT/s PCIe" link_width="4"/>
    </pci>
    <pci busid="0000:05:00.0" class="0x060400" link_speed="8.0 GT/s PCIe" link_width="8">
      <pci busid="0000:06:00.0" class="0x010802" link_speed="8.0 GT/s PCIe" link_width="4"/>
    </pci>
    <nic>
      <net name="eth0" dev="0" speed="-1" port="1"/>
    </nic>
  </cpu>
  <cpu host_hash="0x2" numaid="0" affinity="000000ff" arch="x86_64" vendor="GenuineIntel"
       familyid="6" modelid="85">
    <pci busid="0000:81:00.0" class="0x020700" link_speed="16.0 GT/s PCIe" link_width="16">
      <nic>
        <net name="mlx5_0" dev="0" speed="200000" port="1" latency="1.5"/>
        <net name="mlx5_0" dev="1" speed="100000" port="2"/>
      </nic>
    </pci>
  </cpu>
</system>)";
  Topology t;
  TopologyFileFormat format;
  Status status = parseTopologyText(xml, &t, &format);
  ASSERT_TRUE(status.isOk()) << status.message();
  EXPECT_EQ(format, TopologyFileFormat::kNcclXml);
  EXPECT_EQ(t.hostCount(), 2);
  EXPECT_EQ(t.puCount(0), 4);
  EXPECT_EQ(t.gpuCount(0), 2);
  EXPECT_EQ(t.count(NodeKind::kPciSwitch, 0), 1);  // 0000:05:00.0 leads to no GPU or NIC
  EXPECT_EQ(t.nicCount(0), 1);
  EXPECT_EQ(t.nodes[t.findNode(0, "nic0")].speedMbps, 0);  // -1: unknown
  int nvlinks = 0;
  for (const Link& link : t.links) {
    if (link.kind != LinkKind::kNvlink) continue;
    ++nvlinks;
    EXPECT_EQ(link.nvlinkCount, 12);  // listed by both GPUs, counted once
    EXPECT_DOUBLE_EQ(link.bandwidthGBps, 240.0);
  }
  EXPECT_EQ(nvlinks, 1);
  const Node& hca = t.nodes[t.findNode(1, "nic0")];
  EXPECT_EQ(hca.busId, "0000:81:00.0");
  EXPECT_EQ(hca.ports, 2);
  EXPECT_EQ(hca.speedMbps, 200000);
  EXPECT_DOUBLE_EQ(hca.netLatencyUs, 1.5);
  EXPECT_EQ(hca.fabric, NicFabric::kInfiniband);
  Topology again;
  ASSERT_TRUE(parse(serialize(t), &again).isOk());
  EXPECT_EQ(again, t);

  EXPECT_FALSE(parseTopologyText("<system><cpu><pci class=\"0x030200\"/></cpu></system>", &t)
                   .isOk());  // no busid
  EXPECT_FALSE(parseTopologyText("<systems/>", &t).isOk());
}

TEST(SharedTopologiesTest, IbmCloudH100CompleteNcclDump) {
  SKIP_WITHOUT_SHARED_TOPOLOGIES();
  Topology t = load("ibm-cloud-gx3d-h100x8.nccl.xml", TopologyFileFormat::kNcclXml);
  EXPECT_EQ(t.hostCount(), 1);
  EXPECT_EQ(t.gpuCount(), 8);
  EXPECT_EQ(t.nicCount(), 8);
  EXPECT_EQ(t.numaCount(), 2);
  EXPECT_EQ(t.puCount(), 160);  // two affinity masks of 80 bits
  EXPECT_TRUE(t.hasNvlink());
  EXPECT_EQ(t.count(NodeKind::kNvSwitch), 4);  // targets 0000:f3..f6:00.0
  for (int gpu : t.nodesOf(NodeKind::kGpu)) {
    EXPECT_EQ(t.nodes[gpu].sm, 90);
    int nvlinks = 0;
    for (int l : t.linksOf(gpu)) nvlinks += t.links[l].nvlinkCount;
    EXPECT_EQ(nvlinks, 18) << t.nodes[gpu].busId;  // 5 + 5 + 4 + 4
  }
  int gpu0 = node(t, "0000:a4:00.0");
  EXPECT_EQ(t.nodes[gpu0].gpuIndex, 0);
  Path nvl = findPath(t, gpu0, node(t, "0000:f5:00.0"));
  EXPECT_EQ(nvl.type, PathType::kNvl);
  EXPECT_DOUBLE_EQ(nvl.bandwidthGBps, 5 * 20.6);

  PathType type;
  EXPECT_EQ(closestNicBusId(t, "0000:a4:00.0", &type), "0000:a3:00.0");
  EXPECT_EQ(type, PathType::kPix);
  EXPECT_EQ(closestNicBusId(t, "0000:ea:00.0", &type), "0000:e9:00.0");
  const Node& nic = t.nodes[node(t, "0000:e9:00.0")];
  EXPECT_EQ(nic.netName, "mlx5_0");
  EXPECT_EQ(nic.speedMbps, 200000);
  // Width 0 counts as x16 (NCCL): Gen5 x16 both ways.
  Path pix = findPath(t, gpu0, node(t, "0000:a3:00.0"));
  EXPECT_DOUBLE_EQ(pix.bandwidthGBps, 48.0);
  // Sapphire Rapids (model 143) between the sockets.
  Path sys = findPath(t, gpu0, node(t, "0000:e9:00.0"));
  EXPECT_EQ(sys.type, PathType::kSys);
}

TEST(SharedTopologiesTest, AzureNdH100V5Skeleton) {
  SKIP_WITHOUT_SHARED_TOPOLOGIES();
  Topology t = load("azure-nd-h100-v5.nccl.xml", TopologyFileFormat::kNcclXml);
  EXPECT_EQ(t.gpuCount(), 8);
  EXPECT_EQ(t.nicCount(), 8);
  EXPECT_EQ(t.numaCount(), 2);
  EXPECT_EQ(t.puCount(), 96);
  EXPECT_FALSE(t.hasNvlink());
  for (int nic : t.nodesOf(NodeKind::kNic)) {
    EXPECT_EQ(t.nodes[nic].fabric, NicFabric::kInfiniband);  // class 0x020700
    EXPECT_EQ(t.nodes[nic].speedMbps, 0);                    // a skeleton does not say
  }
  PathType type;
  EXPECT_EQ(closestNicBusId(t, "0001:00:00.0", &type), "0101:00:00.0");
  EXPECT_EQ(type, PathType::kPix);
  EXPECT_EQ(closestNicBusId(t, "000c:00:00.0", &type), "0108:00:00.0");
  EXPECT_DOUBLE_EQ(findPath(t, node(t, "0001:00:00.0"), node(t, "0101:00:00.0")).bandwidthGBps,
                   48.0);  // "32.0 GT/s PCIe" x16
}

TEST(SharedTopologiesTest, AzureNdA100V4Skeleton) {
  SKIP_WITHOUT_SHARED_TOPOLOGIES();
  Topology t = load("azure-nd-a100-v4.nccl.xml", TopologyFileFormat::kNcclXml);
  EXPECT_EQ(t.gpuCount(), 8);
  EXPECT_EQ(t.nicCount(), 8);
  EXPECT_EQ(t.numaCount(), 4);
  EXPECT_EQ(t.puCount(), 96);
  EXPECT_FALSE(t.hasNvlink());
  PathType type;
  // Two GPUs and two NICs per switch: the first NIC of the switch wins the tie.
  EXPECT_EQ(closestNicBusId(t, "0003:00:00.0", &type), "0103:00:00.0");
  EXPECT_EQ(type, PathType::kPix);
  EXPECT_EQ(closestNicBusId(t, "000e:00:00.0", &type), "0107:00:00.0");
  EXPECT_DOUBLE_EQ(findPath(t, node(t, "0003:00:00.0"), node(t, "0103:00:00.0")).bandwidthGBps,
                   24.0);  // "16 GT/s" x16
  // AMD Rome (family 23) between NUMA nodes.
  EXPECT_DOUBLE_EQ(findPath(t, t.findNode(0, "cpu0"), t.findNode(0, "cpu3")).bandwidthGBps, 16.0);
}

TEST(SharedTopologiesTest, AwsP4dSkeletonWithComments) {
  SKIP_WITHOUT_SHARED_TOPOLOGIES();
  Topology t = load("aws-p4d.24xlarge.nccl.xml", TopologyFileFormat::kNcclXml);
  EXPECT_EQ(t.gpuCount(), 8);
  EXPECT_EQ(t.nicCount(), 4);  // EFA
  EXPECT_EQ(t.numaCount(), 2);
  EXPECT_EQ(t.puCount(), 96);
  EXPECT_FALSE(t.hasNvlink());
  PathType type;
  EXPECT_EQ(closestNicBusId(t, "0000:10:1c.0", &type), "0000:10:1b.0");
  EXPECT_EQ(type, PathType::kPix);
  EXPECT_EQ(closestNicBusId(t, "0000:a0:1d.0", &type), "0000:a0:1b.0");
  EXPECT_DOUBLE_EQ(findPath(t, node(t, "0000:10:1c.0"), node(t, "0000:10:1b.0")).bandwidthGBps,
                   12.0);  // "8 GT/s" x16
}

TEST(SharedTopologiesTest, HpSl390sHwloc) {
  SKIP_WITHOUT_SHARED_TOPOLOGIES();
  Topology t = load("hp-sl390s-2socket-ib-gpu.hwloc.xml", TopologyFileFormat::kHwlocXml);
  EXPECT_EQ(t.puCount(), 24);
  EXPECT_EQ(t.numaCount(), 2);
  EXPECT_EQ(t.gpuCount(), 3);  // three Tesla (0x0302); the ES1000 VGA chip is not a GPU
  EXPECT_EQ(t.nicCount(), 3);  // two 82576 ports and the HCA
  const Node& hca = t.nodes[node(t, "0000:05:00.0")];
  EXPECT_EQ(hca.kind, NodeKind::kNic);
  EXPECT_EQ(hca.fabric, NicFabric::kInfiniband);
  EXPECT_EQ(hca.netName, "mlx4_0,eth2,ib0");
  EXPECT_EQ(t.nodes[node(t, "0000:06:00.0")].kind, NodeKind::kGpu);
  PathType type;
  // GPU and HCA on socket 0's root complex; the GPUs of socket 1 cross to it.
  EXPECT_EQ(closestNicBusId(t, "0000:06:00.0", &type), "0000:05:00.0");
  EXPECT_EQ(type, PathType::kPhb);
  EXPECT_EQ(closestNicBusId(t, "0000:14:00.0", &type), "0000:05:00.0");
  EXPECT_EQ(type, PathType::kSys);
  // hwloc's 2.0 GB/s after encoding, at NCCL's 3/4.
  EXPECT_DOUBLE_EQ(findPath(t, node(t, "0000:06:00.0"), node(t, "0000:05:00.0")).bandwidthGBps,
                   1.5);
}

TEST(SharedTopologiesTest, IntelTwoSocketHwloc) {
  SKIP_WITHOUT_SHARED_TOPOLOGIES();
  Topology t = load("intel-2socket-pci.hwloc.xml", TopologyFileFormat::kHwlocXml);
  EXPECT_EQ(t.puCount(), 32);
  EXPECT_EQ(t.numaCount(), 2);
  EXPECT_EQ(t.gpuCount(), 3);
  EXPECT_EQ(t.nicCount(), 3);
  PathType type;
  EXPECT_EQ(closestNicBusId(t, "0000:84:00.0", &type), "0000:04:00.0");  // same root port
  EXPECT_EQ(type, PathType::kPix);
  EXPECT_EQ(t.nodes[node(t, "0000:04:00.0")].netName, "mlx5_0,ib0");
}

// The same machines written as hwloc 2.0 exports (osdev_type is an enum there) give the graph
// the version 3.0 files give.
TEST(SharedTopologiesTest, HwlocFormatVersionsAgree) {
  SKIP_WITHOUT_SHARED_TOPOLOGIES();
  for (const char* name : {"hp-sl390s-2socket-ib-gpu.hwloc.xml", "intel-2socket-pci.hwloc.xml"}) {
    std::ifstream file(sharedPath(name));
    std::stringstream buffer;
    buffer << file.rdbuf();
    std::string text = buffer.str();
    auto replaceAll = [&text](const std::string& from, const std::string& to) {
      for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + 1)) {
        text.replace(at, from.size(), to);
      }
    };
    replaceAll("<topology version=\"3.0\">", "<topology version=\"2.0\">");
    replaceAll("osdev_type=\"16\"", "osdev_type=\"2\"");
    replaceAll("osdev_type=\"48\"", "osdev_type=\"3\"");
    replaceAll("osdev_type=\"12\"", "osdev_type=\"5\"");
    replaceAll("osdev_type=\"1\"", "osdev_type=\"0\"");
    replaceAll("osdev_type=\"4\"", "osdev_type=\"1\"");

    Topology viaLoader;
    Status status = topologyFromHwlocXml(text, &viaLoader);
    ASSERT_TRUE(status.isOk()) << status.message();

    XmlElement root;
    ASSERT_TRUE(parseXml(text, &root).isOk());
    HwObject machine;
    ASSERT_TRUE(hwTreeFromHwlocXml(root, &machine).isOk());
    Topology viaTutti;
    ASSERT_TRUE(topologyFromHwTree(machine, &viaTutti).isOk());
    EXPECT_EQ(serialize(viaLoader), serialize(viaTutti)) << name;

    Topology original;
    ASSERT_TRUE(loadTopologyFile(sharedPath(name), &original).isOk());
    EXPECT_EQ(viaTutti, original) << name;  // the same machine in either format version
  }
}

}  // namespace
}  // namespace tutti::topo
