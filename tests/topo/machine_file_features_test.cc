// What real machines' topology files hold that the published files in ../shared/topologies do
// not show: NVLinks as hwloc's NVLinkBandwidth distance matrix, PCI devices hwloc names
// NVSwitches, memory-only NUMA nodes (HBM, CXL), the CPU family older NCCL releases wrote, and
// self-referencing NVLinks. Each fixture is written here after the format of real exports (hwloc
// 2.x lstopo with the NVML backend, NCCL_TOPO_DUMP_FILE), reduced to what the point needs.
#include <gtest/gtest.h>

#include <string>

#include "topo/hwloc_xml.h"
#include "topo/paths.h"
#include "topo/text_format.h"
#include "topo/topology_file.h"

namespace tutti::topo {
namespace {

Topology loadText(const std::string& text) {
  Topology topology;
  Status status = parseTopologyText(text, &topology);
  EXPECT_TRUE(status.isOk()) << status.message();
  // Every dump Tutti writes reloads to the same model.
  Topology again;
  Status reload = parse(serialize(topology), &again);
  EXPECT_TRUE(reload.isOk()) << reload.message();
  EXPECT_EQ(again, topology);
  return topology;
}

int linkBetween(const Topology& t, int a, int b, LinkKind kind) {
  for (size_t l = 0; l < t.links.size(); ++l) {
    const Link& link = t.links[l];
    if (link.kind == kind && ((link.a == a && link.b == b) || (link.a == b && link.b == a))) {
      return static_cast<int>(l);
    }
  }
  return -1;
}

// A one-socket hwloc 2.0 export, machine and package with 4 PUs, around some I/O and memory.
std::string hwlocMachine(const std::string& memory, const std::string& io,
                         const std::string& after = "") {
  return R"(<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE topology SYSTEM "hwloc2.dtd">
<topology version="2.0">
  <object type="Machine" os_index="0" cpuset="0x0000000f" complete_cpuset="0x0000000f" gp_index="1">
    <object type="Package" os_index="0" cpuset="0x0000000f" complete_cpuset="0x0000000f" gp_index="2">
      <info name="CPUVendor" value="GenuineIntel"/>
      <info name="CPUFamilyNumber" value="6"/>
      <info name="CPUModelNumber" value="143"/>
)" + memory +
         R"(      <object type="Core" os_index="0" cpuset="0x0000000f" gp_index="4">
        <object type="PU" os_index="0" cpuset="0x00000001" gp_index="5"/>
        <object type="PU" os_index="1" cpuset="0x00000002" gp_index="6"/>
        <object type="PU" os_index="2" cpuset="0x00000004" gp_index="7"/>
        <object type="PU" os_index="3" cpuset="0x00000008" gp_index="8"/>
      </object>
)" + io + R"(    </object>
  </object>
)" + after +
         "</topology>\n";
}

const char* kDdrNode =
    R"(      <object type="NUMANode" os_index="0" cpuset="0x0000000f" nodeset="0x00000001" gp_index="3" local_memory="1000"/>
)";

// Two GPUs (their NVML OS devices carry the gp_index the matrix names) and one NVSwitch whose
// class bytes say nothing (hwloc marks it by subtype), behind one host bridge.
const char* kNvlinkIo =
    R"(      <object type="Bridge" gp_index="20" bridge_type="0-1" depth="0" bridge_pci="0000:[10-12]">
        <object type="PCIDev" gp_index="21" pci_busid="0000:10:00.0" pci_type="0302 [10de:2330] [10de:16c1] a1 00" pci_link_speed="31.5">
          <object type="OSDev" gp_index="31" name="nvml0" osdev_type="1"/>
        </object>
        <object type="PCIDev" gp_index="22" pci_busid="0000:11:00.0" pci_type="0302 [10de:2330] [10de:16c1] a1 00" pci_link_speed="31.5">
          <object type="OSDev" gp_index="32" name="nvml1" osdev_type="1"/>
        </object>
        <object type="PCIDev" gp_index="23" subtype="NVSwitch" pci_busid="0000:12:00.0" pci_type="0000 [10de:22a3] [0000:0000] a1 00" pci_link_speed="1.0"/>
      </object>
)";

// GPU-GPU one NVLink (25000 MB/s each way), each GPU to the switch two (50000); the diagonal's
// large value is hwloc's "local" figure, not a link. Split over several elements as hwloc writes.
const char* kNvlinkMatrix =
    R"(  <distances2 type="NUMANode" nbobjs="1" kind="5" name="NUMALatency" indexing="os">
    <indexes length="2">0 </indexes>
    <u64values length="3">10 </u64values>
  </distances2>
  <distances2hetero nbobjs="3" kind="25" name="NVLinkBandwidth">
    <indexes length="20">OSDev:31 OSDev:32 </indexes>
    <indexes length="10">PCIDev:23 </indexes>
    <u64values length="22">1000000 25000 50000 </u64values>
    <u64values length="22">25000 1000000 50000 </u64values>
    <u64values length="22">50000 50000 1000000 </u64values>
  </distances2hetero>
)";

TEST(MachineFileFeaturesTest, HwlocNvlinkBandwidthMatrixBecomesNvlinks) {
  Topology t = loadText(hwlocMachine(kDdrNode, kNvlinkIo, kNvlinkMatrix));
  ASSERT_EQ(t.gpuCount(), 2);
  ASSERT_EQ(t.count(NodeKind::kNvSwitch), 1);  // class 0x0000, subtype NVSwitch
  int gpu0 = t.findBusId(0, "0000:10:00.0"), gpu1 = t.findBusId(0, "0000:11:00.0");
  int nvs = t.findBusId(0, "0000:12:00.0");
  ASSERT_GE(gpu0, 0);
  ASSERT_GE(gpu1, 0);
  ASSERT_GE(nvs, 0);
  EXPECT_EQ(t.nodes[nvs].kind, NodeKind::kNvSwitch);
  int direct = linkBetween(t, gpu0, gpu1, LinkKind::kNvlink);
  ASSERT_GE(direct, 0);
  EXPECT_EQ(t.links[direct].nvlinkCount, 1);
  for (int gpu : {gpu0, gpu1}) {
    int toSwitch = linkBetween(t, gpu, nvs, LinkKind::kNvlink);
    ASSERT_GE(toSwitch, 0);
    EXPECT_EQ(t.links[toSwitch].nvlinkCount, 2);
    EXPECT_DOUBLE_EQ(t.links[toSwitch].bandwidthGBps, 2 * 20.0);  // SM unknown: NCCL's SM80
  }
  EXPECT_EQ(findPath(t, gpu0, gpu1).type, PathType::kNvl);
}

TEST(MachineFileFeaturesTest, NvlinkMatrixOfWrongSizeIsAnError) {
  std::string matrix = kNvlinkMatrix;
  matrix.replace(matrix.find("50000 50000 1000000 "), 20, "50000 50000 ");
  Topology t;
  Status status = parseTopologyText(hwlocMachine(kDdrNode, kNvlinkIo, matrix), &t);
  ASSERT_FALSE(status.isOk());
  EXPECT_EQ(status.code(), tuttiInvalidArgument);
  EXPECT_NE(status.message().find("has 3 indexes and 8 values (expected 3 and 9)"),
            std::string::npos)
      << status.message();
}

// hwloc 2 attaches HBM to the package beside DDR with the package's cpuset (subtype "HBM"); a
// CXL expander's node has no PUs of its own. Neither is a socket or adds PUs.
TEST(MachineFileFeaturesTest, MemoryOnlyNumaNodesAreNotSockets) {
  std::string memory =
      std::string(kDdrNode) +
      R"(      <object type="NUMANode" os_index="1" cpuset="0x0000000f" nodeset="0x00000002" gp_index="9" subtype="HBM" local_memory="1000"/>
      <object type="NUMANode" os_index="2" cpuset="0x0000000f" nodeset="0x00000004" gp_index="10" local_memory="1000"/>
      <object type="NUMANode" os_index="3" cpuset="0x00000000" nodeset="0x00000008" gp_index="11" local_memory="1000"/>
)";
  Topology t = loadText(hwlocMachine(memory, ""));
  EXPECT_EQ(t.numaCount(), 1);
  EXPECT_EQ(t.puCount(), 4);
  EXPECT_EQ(t.count(NodeKind::kCpu), 1);
  EXPECT_EQ(t.nodes[t.nodesOf(NodeKind::kCpu)[0]].numaId, 0);
}

std::string ncclTwoSockets(const std::string& vendor, int family, int model) {
  std::string cpu = "  <cpu numaid=\"N\" affinity=\"0000000f\" arch=\"x86_64\" vendor=\"" + vendor +
                    "\" familyid=\"" + std::to_string(family) + "\" modelid=\"" +
                    std::to_string(model) + "\"/>\n";
  std::string first = cpu, second = cpu;
  first.replace(first.find('N'), 1, "0");
  second.replace(second.find('N'), 1, "1");
  return "<system version=\"1\">\n" + first + second + "</system>\n";
}

double interSocket(const std::string& vendor, int family, int model) {
  Topology t = loadText(ncclTwoSockets(vendor, family, model));
  EXPECT_EQ(t.numaCount(), 2);
  int link = linkBetween(t, t.findNode(0, "cpu0"), t.findNode(0, "cpu1"), LinkKind::kInterSocket);
  EXPECT_GE(link, 0);
  return link < 0 ? 0 : t.links[link].bandwidthGBps;
}

// Older NCCL releases wrote AMD's family as base + (extended << 4): Rome 0x8F (143), Milan 0xAF
// (175), Turin 0xBF (191); current ones write CPUID's family (23, 25, 26). NCCL reads both.
TEST(MachineFileFeaturesTest, OlderNcclCpuFamilyEncodingGetsTheRightInterSocketBandwidth) {
  EXPECT_DOUBLE_EQ(interSocket("AuthenticAMD", 143, 49), 16.0);
  EXPECT_DOUBLE_EQ(interSocket("AuthenticAMD", 175, 1), 24.0);
  EXPECT_DOUBLE_EQ(interSocket("AuthenticAMD", 191, 2), 32.0);
  EXPECT_DOUBLE_EQ(interSocket("AuthenticAMD", 23, 49), 16.0);
  EXPECT_DOUBLE_EQ(interSocket("AuthenticAMD", 25, 1), 24.0);
  EXPECT_DOUBLE_EQ(interSocket("AuthenticAMD", 26, 2), 32.0);
  // Intel: Granite Rapids (0xAD) is newer than Emerald Rapids (0xCF) with a lower model.
  EXPECT_DOUBLE_EQ(interSocket("GenuineIntel", 6, 0xAD), 40.0);
  EXPECT_DOUBLE_EQ(interSocket("GenuineIntel", 6, 0x8F), 22.0);
  EXPECT_DOUBLE_EQ(interSocket("GenuineIntel", 6, 0x55), 10.0);
}

// A GPU listing its own bus id as an NVLink peer (seen in published dumps): the link is dropped
// with a warning, the rest of the file loads, and the dump reloads.
TEST(MachineFileFeaturesTest, SelfReferencingNvlinkIsDropped) {
  const char* xml = R"(<system version="1">
  <cpu numaid="0" affinity="0000000f" arch="x86_64" vendor="GenuineIntel" familyid="6" modelid="143">
    <pci busid="0000:1b:00.0" class="0x030200" link_speed="32.0 GT/s PCIe" link_width="16">
      <gpu dev="0" sm="90" rank="0" gdr="1">
        <nvlink target="0000:1b:00.0" count="2" tclass="0x030200"/>
        <nvlink target="0000:2b:00.0" count="4" tclass="0x030200"/>
      </gpu>
    </pci>
    <pci busid="0000:2b:00.0" class="0x030200" link_speed="32.0 GT/s PCIe" link_width="16">
      <gpu dev="1" sm="90" rank="1" gdr="1">
        <nvlink target="0000:1b:00.0" count="4" tclass="0x030200"/>
      </gpu>
    </pci>
  </cpu>
</system>)";
  Topology t = loadText(xml);
  int nvlinks = 0;
  for (const Link& link : t.links) {
    EXPECT_NE(link.a, link.b);
    if (link.kind == LinkKind::kNvlink) {
      ++nvlinks;
      EXPECT_EQ(link.nvlinkCount, 4);
    }
  }
  EXPECT_EQ(nvlinks, 1);
}

// Found by fuzz_nccl_xml: an NVSwitch target bus id with a space in it made a dump that split
// into two words and did not reload. Bus ids are one token wherever a node gets one.
TEST(MachineFileFeaturesTest, NvswitchTargetWithASpaceReloads) {
  Topology t = loadText(R"(<system version="1"><cpu numaid="0" affinity="f">
    <pci busid="0000:02:00.0" class="0x030200"><gpu dev="0" sm="90">
      <nvlink target="0000:f0:00. 0" count="2" tclass="0x068000"/></gpu></pci></cpu></system>)");
  EXPECT_EQ(t.count(NodeKind::kNvSwitch), 1);
}

// NCCL 2.27 dumps of machines whose NVSwitches are not PCI devices (GB200 NVL72 trays, H100
// with fabric manager) give every GPU one bundle to the unnamed target "fffffff:ff:ff.0", carry
// a <c2c> element, and list a NIC NCCL knows only by its network under each <cpu>.
TEST(MachineFileFeaturesTest, UnnamedNvswitchTargetAndCpuNics) {
  const char* xml = R"(<system version="1">
  <cpu host_hash="0xabc" numaid="0" affinity="ffffffff" arch="arm64">
    <pci busid="0008:01:00.0" class="0x030200" link_speed="32.0 GT/s PCIe" link_width="16">
      <gpu dev="0" sm="100" rank="0" gdr="1">
        <nvlink target="fffffff:ff:ff.0" count="18" tclass="0x068000"/>
        <c2c bw="44712" count="5"/>
      </gpu>
    </pci>
    <nic>
      <net name="eth0" dev="0" speed="10000" port="0" latency="0" guid="0x0" maxconn="65536" gdr="0"/>
    </nic>
  </cpu>
  <cpu host_hash="0xabc" numaid="1" affinity="ffffffff,00000000" arch="arm64">
    <pci busid="0009:01:00.0" class="0x030200" link_speed="32.0 GT/s PCIe" link_width="16">
      <gpu dev="1" sm="100" rank="1" gdr="1">
        <nvlink target="fffffff:ff:ff.0" count="18" tclass="0x068000"/>
      </gpu>
    </pci>
    <nic>
      <net name="eth0" dev="0" speed="10000" port="0" latency="0" guid="0x0" maxconn="65536" gdr="0"/>
    </nic>
  </cpu>
</system>)";
  Topology t = loadText(xml);
  EXPECT_EQ(t.gpuCount(), 2);
  ASSERT_EQ(t.count(NodeKind::kNvSwitch), 1);
  int gpu0 = t.findBusId(0, "0008:01:00.0"), gpu1 = t.findBusId(0, "0009:01:00.0");
  Path path = findPath(t, gpu0, gpu1);
  EXPECT_EQ(path.type, PathType::kNvl);
  EXPECT_DOUBLE_EQ(path.bandwidthGBps, 18 * 40.1);  // SM100's NVLink 5
  EXPECT_EQ(t.nicCount(), 2);
  EXPECT_EQ(t.puCount(), 64);
}

}  // namespace
}  // namespace tutti::topo
