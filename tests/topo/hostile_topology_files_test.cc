// Malformed and hostile topology files: each is a tuttiInvalidArgument naming what is wrong (the
// cap it exceeds), never a crash, a hang or memory exhaustion, in Tutti or in libhwloc (which
// never sees a file). One file per cap of file_limits.h, just over it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "topo/file_limits.h"
#include "topo/hwloc_xml.h"
#include "topo/text_format.h"
#include "topo/topology_file.h"
#include "topo/xml_reader.h"

namespace tutti::topo {
namespace {

void expectRefused(const std::string& text, const std::string& expected) {
  Topology t;
  Status status = parseTopologyText(text, &t);
  ASSERT_FALSE(status.isOk()) << "accepted; expected: " << expected;
  EXPECT_EQ(status.code(), tuttiInvalidArgument);
  EXPECT_NE(status.message().find(expected), std::string::npos) << status.message();
}

std::string repeat(const std::string& piece, int count) {
  std::string out;
  out.reserve(piece.size() * count);
  for (int i = 0; i < count; ++i) out += piece;
  return out;
}

TEST(HostileTopologyFilesTest, FileLargerThanTheCap) {
  char path[] = "/tmp/tutti-hostile-topo-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(kMaxTopologyFileBytes) + 1), 0);  // sparse
  close(fd);
  Topology t;
  Status status = loadTopologyFile(path, &t);
  unlink(path);
  ASSERT_FALSE(status.isOk());
  EXPECT_EQ(status.code(), tuttiInvalidArgument);
  EXPECT_NE(status.message().find("larger than the 67108864 bytes"), std::string::npos)
      << status.message();
}

TEST(HostileTopologyFilesTest, XmlOverItsCaps) {
  expectRefused("<topology>" + repeat("<a/>", kMaxXmlElements) + "</topology>",
                "more than 262144 elements");
  expectRefused(repeat("<a>", kMaxXmlDepth + 2) + repeat("</a>", kMaxXmlDepth + 2),
                "nested too deep (more than 128 levels)");
  std::string attributes;
  for (int i = 0; i <= kMaxXmlAttributesPerElement; ++i)
    attributes += " a" + std::to_string(i) + "=\"1\"";
  expectRefused("<system" + attributes + "/>", "more than 64 attributes");
  expectRefused("<system a=\"" + std::string(kMaxXmlAttributeBytes + 1, 'f') + "\"/>",
                "more than the 65536 allowed");
}

// The issue's million devices, in each format.
TEST(HostileTopologyFilesTest, TooManyDevices) {
  // Tutti's format: a host of 5 nodes, times 65,536 hosts.
  expectRefused(
      "tutti-topology 1\nhosts 65536\nnode c cpu\nnode p pci\nnode g gpu\nnode n nic\n"
      "node s nvswitch\n",
      "more than the 262144 nodes");
  std::string nodes = "tutti-topology 1\n";
  for (int i = 0; i <= kMaxNodesPerHost; ++i) nodes += "node g" + std::to_string(i) + " gpu\n";
  expectRefused(nodes, "more than 4096 nodes on host 0");
  std::string cpus = "tutti-topology 1\n";
  for (int i = 0; i <= kMaxCpusPerHost; ++i) cpus += "node c" + std::to_string(i) + " cpu\n";
  expectRefused(cpus, "more than 256 CPU nodes on host 0");
  expectRefused("tutti-topology 1\nnode a cpu\nnode b pci\n" +
                    repeat("link a b pcie\n", kMaxLinksPerFile + 1),
                "more than 1048576 links");

  // NCCL XML: more <pci> than a file may have; one GPU claiming more NVLinks than exist.
  expectRefused("<system><cpu numaid=\"0\">" +
                    repeat("<pci busid=\"0000:01:00.0\" class=\"0x030200\"/>", 16385) +
                    "</cpu></system>",
                "16385 <pci>");
  expectRefused("<system>" + repeat("<cpu host_hash=\"1\"/>", 4097) + "</system>", "4097 <cpu>");
  expectRefused(R"(<system><cpu numaid="0"><pci busid="0000:01:00.0" class="0x030200">
      <gpu dev="0" sm="90"><nvlink target="0000:02:00.0" count="1000000" tclass="0x068000"/></gpu>
      </pci></cpu></system>)",
                "nvlink count 1000000 is more than the 64");

  // hwloc XML: 4,097 GPUs on one machine.
  std::string gpus;
  for (int i = 0; i <= kMaxNodesPerHost; ++i) {
    char busId[32];
    std::snprintf(busId, sizeof(busId), "%04x:%02x:00.0", i / 256, i % 256);
    gpus += std::string("<object type=\"PCIDev\" pci_busid=\"") + busId +
            "\" pci_type=\"0302 [10de:2330] [10de:16c1] a1 00\"/>";
  }
  expectRefused(
      "<topology version=\"2.0\"><object type=\"Machine\" cpuset=\"0x1\">"
      "<object type=\"Bridge\" bridge_type=\"0-1\">" +
          gpus + "</object></object></topology>",
      "host 0 has more than 4096 nodes");
}

// Integers past INT_MAX are refused, not wrapped into the int fields (fuzz_topology_text found
// numa=03333333333333336 stored as a negative NUMA id, whose dump did not reload).
TEST(HostileTopologyFilesTest, IntegersPastTheirFieldAreRefused) {
  const std::string head = "tutti-topology 1\n";
  expectRefused(head + "node c cpu numa=03333333333333336\n",
                "numa=03333333333333336: expected an integer from -1 to 2147483647");
  expectRefused(head + "node c cpu pus=2147483648\n", "pus=2147483648");
  expectRefused(head + "node g gpu index=4294967296\n", "index=4294967296");
  expectRefused(head + "node g gpu sm=99999999999\n", "sm=99999999999");
  expectRefused(head + "node n nic ports=4294967297\n", "ports=4294967297");
  expectRefused(head + "node c cpu\nnode p pci\nlink c p pcie width=4294967312\n",
                "width=4294967312");
  expectRefused(head + "node g gpu\nnode h gpu\nlink g h nvlink count=4294967297\n",
                "count=4294967297");
  // A NIC's speed is a 64-bit count of Mb/s: large values stay whole.
  Topology t;
  Status status = parseTopologyText(head + "node n nic speed=4294967296000\n", &t);
  ASSERT_TRUE(status.isOk()) << status.message();
  EXPECT_EQ(t.nodes.at(0).speedMbps, 4294967296000);
}

const char* kHwlocHead = R"(<topology version="2.0">
  <object type="Machine" os_index="0" cpuset="0x00000001" complete_cpuset="0x00000001" allowed_cpuset="0x00000001" nodeset="0x00000001" complete_nodeset="0x00000001" allowed_nodeset="0x00000001" gp_index="1">
    <object type="Package" os_index="0" cpuset="0x00000001" complete_cpuset="0x00000001" nodeset="0x00000001" complete_nodeset="0x00000001" gp_index="3">
      <object type="NUMANode" os_index="0" cpuset="0x00000001" complete_cpuset="0x00000001" nodeset="0x00000001" complete_nodeset="0x00000001" gp_index="2" local_memory="1000"/>
      <object type="PU" os_index="0" cpuset="0x00000001" complete_cpuset="0x00000001" nodeset="0x00000001" complete_nodeset="0x00000001" gp_index="4"/>
    </object>
)";

// hwloc allocates nbobjs^2 values in 32-bit unsigned arithmetic from this attribute: 65,537
// objects wrap to 131,073 values. Tutti refuses the matrix before reading it.
TEST(HostileTopologyFilesTest, DistanceMatrixOverItsCap) {
  expectRefused(std::string(kHwlocHead) +
                    "  </object>\n  <distances2hetero nbobjs=\"65537\" kind=\"25\" "
                    "name=\"NVLinkBandwidth\"><indexes length=\"1\">x</indexes>"
                    "</distances2hetero>\n</topology>\n",
                "nbobjs '65537' is not a number of at most 1024 objects");
  expectRefused(std::string(kHwlocHead) +
                    "  </object>\n  <distances2 type=\"NUMANode\" nbobjs=\"2\" kind=\"5\" "
                    "indexing=\"os\"><indexes length=\"4\">0 1</indexes><u64values length=\"20\">"
                    "10 20 20 10 30</u64values></distances2>\n</topology>\n",
                "has more u64values than 2 objects allow");
  // hwloc refuses the whole file for an object listed twice; so does Tutti.
  expectRefused(std::string(kHwlocHead) +
                    "  </object>\n  <distances2hetero nbobjs=\"2\" kind=\"25\" "
                    "name=\"NVLinkBandwidth\"><indexes length=\"14\">PCIDev:3 PCIDev:3</indexes>"
                    "<u64values length=\"8\">0 1 1 0</u64values></distances2hetero>\n</topology>\n",
                "lists an object twice");
}

// These well-formed hwloc 2.0 files (the first is 804 bytes) make libhwloc 2.9.0, the importer
// Tutti used to hand files to first, die with SIGSEGV in hwloc_topology_load: a Group with a
// cpuset and no nodeset beside the package, with either of hwloc's XML parsers (libxml2, or its
// own with HWLOC_LIBXML_IMPORT=0); without the Group hwloc loads them. Tutti reads them itself.
TEST(HostileTopologyFilesTest, FilesThatCrashedLibhwlocLoad) {
  setenv("HWLOC_LIBXML_IMPORT", "0", 1);  // the parser of hwloc builds without libxml2
  for (int groups : {1, 100}) {
    std::string text = std::string(kHwlocHead) +
                       repeat("    <object type=\"Group\" cpuset=\"0x1\">", groups) +
                       repeat("</object>", groups) + "\n  </object>\n</topology>\n";
    Topology t;
    Status status = topologyFromHwlocXml(text, &t);
    ASSERT_TRUE(status.isOk()) << status.message();
    EXPECT_EQ(t.numaCount(), 1);
    EXPECT_EQ(t.puCount(), 1);
  }
  unsetenv("HWLOC_LIBXML_IMPORT");
}

}  // namespace
}  // namespace tutti::topo
