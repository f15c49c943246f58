// Detection: on this host (CPU-only; hwloc when built with it, and sysfs), and on a fake /sys laid
// out in a temporary directory with a GPU, an InfiniBand NIC and an Ethernet NIC, to which what
// the CUDA driver and libibverbs would report is merged.
#include "topo/detect.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "topo/paths.h"
#include "topo/text_format.h"
#include "topo/topology_file.h"

namespace tutti::topo {
namespace {

// PCI functions of network (0x02xxxx, 0x0c06xx) and GPU (0x0302xx, NVIDIA 0x0300xx) class under
// /sys/bus/pci/devices: what detection must find, counted independently of it.
void countPciByClass(int* nics, int* gpus) {
  *nics = *gpus = 0;
  DIR* dir = opendir("/sys/bus/pci/devices");
  if (dir == nullptr) return;
  while (dirent* entry = readdir(dir)) {
    std::string base = std::string("/sys/bus/pci/devices/") + entry->d_name;
    std::ifstream classFile(base + "/class"), vendorFile(base + "/vendor");
    std::string pciClass, vendor;
    if (!(classFile >> pciClass)) continue;
    vendorFile >> vendor;
    if (pciClass.compare(0, 4, "0x02") == 0 || pciClass.compare(0, 6, "0x0c06") == 0) ++*nics;
    if (pciClass.compare(0, 6, "0x0302") == 0 ||
        (pciClass.compare(0, 6, "0x0300") == 0 && vendor == "0x10de")) {
      ++*gpus;
    }
  }
  closedir(dir);
}

TEST(DetectTest, ThisHostWithAndWithoutHwloc) {
  int nics = 0, gpus = 0;
  countPciByClass(&nics, &gpus);
  long cpus = sysconf(_SC_NPROCESSORS_CONF);
  for (bool useHwloc : {true, false}) {
    DetectOptions options;
    options.useHwloc = useHwloc;
    Topology t;
    Status status = detectTopology(options, &t);
    ASSERT_TRUE(status.isOk()) << status.message();
    EXPECT_EQ(t.hostCount(), 1);
    EXPECT_GE(t.numaCount(), 1);
    EXPECT_GE(t.puCount(), 1);
    EXPECT_LE(t.puCount(), cpus);
    EXPECT_EQ(t.nicCount(), nics) << "useHwloc " << useHwloc;
    EXPECT_EQ(t.gpuCount(), gpus) << "useHwloc " << useHwloc;  // no NVML here: PCI class only
    Topology again;
    ASSERT_TRUE(parse(serialize(t), &again).isOk());
    EXPECT_EQ(again, t);
  }
}

TEST(DetectTest, DumpThenLoadGivesTheSameGraph) {
  Topology detected;
  ASSERT_TRUE(detectTopology(&detected).isOk());
  std::string path = ::testing::TempDir() + "/tutti_detected_host.topo";
  ASSERT_TRUE(dumpTopologyFile(path, detected).isOk());
  Topology loaded;
  ASSERT_TRUE(loadTopologyFile(path, &loaded).isOk());
  EXPECT_EQ(loaded, detected);
}

// A fake /sys and /proc: files and the symlinks sysfs has.
class FakeSysfs {
 public:
  FakeSysfs() {
    std::string pattern = ::testing::TempDir() + "/tutti_fake_sysfs_XXXXXX";
    char* made = mkdtemp(&pattern[0]);
    root_ = made != nullptr ? made : "/nonexistent";
  }
  ~FakeSysfs() { [[maybe_unused]] int status = std::system(("rm -rf '" + root_ + "'").c_str()); }

  std::string sys() const { return root_ + "/sys"; }
  std::string proc() const { return root_ + "/proc"; }

  void file(const std::string& path, const std::string& content) {
    makeParents(root_ + "/" + path);
    std::ofstream(root_ + "/" + path) << content << "\n";
  }
  void link(const std::string& path, const std::string& target) {
    makeParents(root_ + "/" + path);
    ASSERT_EQ(symlink(target.c_str(), (root_ + "/" + path).c_str()), 0) << path;
  }
  // A PCI function at devicePath (below sys/devices), listed in sys/bus/pci/devices.
  void pci(const std::string& devicePath, const std::string& pciClass, const std::string& vendor,
           const std::string& linkSpeed, int width, int numa) {
    std::string dir = "sys/devices/" + devicePath;
    file(dir + "/class", pciClass);
    file(dir + "/vendor", vendor);
    file(dir + "/current_link_speed", linkSpeed);
    file(dir + "/current_link_width", std::to_string(width));
    file(dir + "/numa_node", std::to_string(numa));
    std::string busId = devicePath.substr(devicePath.rfind('/') + 1);
    link("sys/bus/pci/devices/" + busId, "../../../devices/" + devicePath);
  }

 private:
  static void makeParents(const std::string& path) {
    for (size_t slash = path.find('/', 1); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      mkdir(path.substr(0, slash).c_str(), 0755);
    }
  }
  std::string root_;
};

// Two sockets. Socket 0: root port > switch > a GPU and an InfiniBand NIC (mlx5_0, ib0), and a
// SATA controller; socket 1: an Ethernet NIC (eth0) on a root port. lo has no device.
void layOutTwoSocketHost(FakeSysfs* fake) {
  fake->file("proc/cpuinfo",
             "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 143\n"
             "model name\t: Intel(R) Xeon(R) Platinum 8480C\n\nprocessor\t: 1\n"
             "vendor_id\t: GenuineIntel\n");
  fake->file("sys/devices/system/node/node0/cpulist", "0-3,8-11");
  fake->file("sys/devices/system/node/node1/cpulist", "4-7,12-15");
  fake->file("sys/devices/system/node/possible", "0-1");
  fake->file("sys/devices/system/cpu/online", "0-15");
  const std::string port = "pci0000:00/0000:00:01.0";
  const std::string upstream = port + "/0000:01:00.0";
  fake->pci(port, "0x060400", "0x8086", "32.0 GT/s PCIe", 16, 0);
  fake->pci(upstream, "0x060400", "0x1000", "32.0 GT/s PCIe", 16, 0);
  fake->pci(upstream + "/0000:02:00.0", "0x030200", "0x10de", "32.0 GT/s PCIe", 16, 0);
  fake->pci(upstream + "/0000:02:01.0", "0x020700", "0x15b3", "32.0 GT/s PCIe", 16, 0);
  fake->pci("pci0000:00/0000:00:17.0", "0x010601", "0x8086", "Unknown", 0, 0);
  fake->pci("pci0000:80/0000:80:01.0", "0x060400", "0x8086", "16.0 GT/s PCIe", 16, 1);
  fake->pci("pci0000:80/0000:80:01.0/0000:81:00.0", "0x020000", "0x8086", "16.0 GT/s PCIe", 8, 1);
  std::string ibDir = "sys/devices/" + upstream + "/0000:02:01.0/net/ib0";
  fake->file(ibDir + "/speed", "-1");
  fake->link(ibDir + "/device", "../..");
  fake->link("sys/class/net/ib0", "../../devices/" + upstream + "/0000:02:01.0/net/ib0");
  std::string ethDir = "sys/devices/pci0000:80/0000:80:01.0/0000:81:00.0/net/eth0";
  fake->file(ethDir + "/speed", "100000");
  fake->link(ethDir + "/device", "../..");
  fake->link("sys/class/net/eth0", "../../devices/pci0000:80/0000:80:01.0/0000:81:00.0/net/eth0");
  fake->file("sys/devices/virtual/net/lo/speed", "-1");
  fake->link("sys/class/net/lo", "../../devices/virtual/net/lo");
  std::string verbsDir = "sys/devices/" + upstream + "/0000:02:01.0/infiniband/mlx5_0";
  fake->file(verbsDir + "/ports/1/rate", "400 Gb/sec (4X NDR)");
  fake->link(verbsDir + "/device", "../..");
  fake->link("sys/class/infiniband/mlx5_0",
             "../../devices/" + upstream + "/0000:02:01.0/infiniband/mlx5_0");
}

// Detection of the fake host from sysfs alone: no hwloc, and none of the libraries, which would
// describe the real host.
Status detectFake(const FakeSysfs& fake, Topology* t) {
  DetectOptions options;
  options.roots.sys = fake.sys();
  options.roots.proc = fake.proc();
  options.useHwloc = false;
  options.useNvml = false;
  options.useCuda = false;
  options.useVerbs = false;
  return detectTopology(options, t);
}

TEST(DetectTest, FakeSysfsWithoutHwloc) {
  FakeSysfs fake;
  layOutTwoSocketHost(&fake);
  Topology t;
  Status status = detectFake(fake, &t);
  ASSERT_TRUE(status.isOk()) << status.message();

  EXPECT_EQ(t.numaCount(), 2);
  EXPECT_EQ(t.puCount(), 16);
  EXPECT_EQ(t.gpuCount(), 1);
  EXPECT_EQ(t.nicCount(), 2);
  EXPECT_EQ(t.count(NodeKind::kPciSwitch), 3);  // two on socket 0's path, one on socket 1's
  const Node& cpu0 = t.nodes[t.findNode(0, "cpu0")];
  EXPECT_EQ(cpu0.cpuVendor, "GenuineIntel");
  EXPECT_EQ(cpu0.cpuModel, 143);
  EXPECT_EQ(cpu0.puCount, 8);

  int gpu = t.findBusId(0, "0000:02:00.0");
  int ib = t.findBusId(0, "0000:02:01.0");
  int eth = t.findBusId(0, "0000:81:00.0");
  ASSERT_GE(gpu, 0);
  ASSERT_GE(ib, 0);
  ASSERT_GE(eth, 0);
  EXPECT_EQ(t.nodes[ib].netName, "mlx5_0,ib0");
  EXPECT_EQ(t.nodes[ib].fabric, NicFabric::kInfiniband);
  EXPECT_EQ(t.nodes[ib].speedMbps, 400000);  // from the verbs port: ib0 says -1
  EXPECT_EQ(t.nodes[eth].netName, "eth0");
  EXPECT_EQ(t.nodes[eth].speedMbps, 100000);

  Path path;
  EXPECT_EQ(closestNic(t, gpu, &path), ib);
  EXPECT_EQ(path.type, PathType::kPix);
  EXPECT_DOUBLE_EQ(path.bandwidthGBps, 48.0);
  path = findPath(t, gpu, eth);
  EXPECT_EQ(path.type, PathType::kSys);
  EXPECT_DOUBLE_EQ(path.bandwidthGBps, 12.0);  // Gen4 x8 into the Ethernet NIC
  // The Ethernet NIC hangs from NUMA node 1's CPU.
  EXPECT_EQ(findPath(t, t.findNode(0, "cpu1"), eth).hops(), 2);
}

// The two-socket host with one more PCI function, on a root port of its own on socket 1.
Topology detectWithOneMore(const std::string& rootPort, const std::string& busId,
                           const std::string& pciClass, const std::string& vendor) {
  FakeSysfs fake;
  layOutTwoSocketHost(&fake);
  std::string port = "pci0000:80/" + rootPort;
  fake.pci(port, "0x060400", "0x8086", "16.0 GT/s PCIe", 16, 1);
  fake.pci(port + "/" + busId, pciClass, vendor, "16.0 GT/s PCIe", 16, 1);
  Topology t;
  Status status = detectFake(fake, &t);
  EXPECT_TRUE(status.isOk()) << status.message();
  return t;
}

VerbsPort activePort(int number, VerbsLinkLayer linkLayer, int64_t rateMbps) {
  VerbsPort port;
  port.number = number;
  port.active = true;
  port.linkLayer = linkLayer;
  port.rateMbps = rateMbps;
  return port;
}

TEST(DetectTest, VerbsFillWhatSysfsLacks) {
  // A third NIC whose class says no fabric (0x0280, other network controller), with neither an
  // interface nor a verbs rate in sysfs.
  Topology t = detectWithOneMore("0000:80:02.0", "0000:82:00.0", "0x028000", "0x15b3");
  int ib = t.findBusId(0, "0000:02:01.0");
  int eth = t.findBusId(0, "0000:81:00.0");
  int bare = t.findBusId(0, "0000:82:00.0");
  ASSERT_GE(bare, 0);
  ASSERT_EQ(t.nodes[bare].kind, NodeKind::kNic);
  EXPECT_EQ(t.nodes[bare].speedMbps, 0);
  EXPECT_EQ(t.nodes[bare].fabric, NicFabric::kUnknown);
  EXPECT_EQ(t.nodes[bare].netName, "");
  Topology before = t;

  VerbsDevice hdr{"mlx5_0", "0000:02:01.0", {activePort(1, VerbsLinkLayer::kInfiniband, 200000)}};
  VerbsDevice roce{"mlx5_1", "0000:81:00.0", {activePort(1, VerbsLinkLayer::kEthernet, 200000)}};
  VerbsPort down = activePort(3, VerbsLinkLayer::kInfiniband, 0);
  down.active = false;
  VerbsDevice dual{"mlx5_2",
                   "0000:82:00.0",
                   {activePort(1, VerbsLinkLayer::kInfiniband, 400000),
                    activePort(2, VerbsLinkLayer::kInfiniband, 200000), down}};
  VerbsDevice soft{"rxe0", "", {activePort(1, VerbsLinkLayer::kEthernet, 10000)}};
  VerbsDevice elsewhere{"mlx5_9", "0000:99:00.0", {activePort(1, VerbsLinkLayer::kEthernet, 1)}};
  VerbsDevice onGpu{"mlx5_8", "0000:02:00.0", {activePort(1, VerbsLinkLayer::kEthernet, 1)}};
  mergeVerbsDevices({hdr, roce, dual, soft, elsewhere, onGpu}, &t);

  // sysfs had the InfiniBand NIC's speed, name and port: all kept.
  EXPECT_EQ(t.nodes[ib], before.nodes[ib]);
  // The Ethernet NIC keeps its speed, fabric and port count (eth0), and gains its verbs name.
  EXPECT_EQ(t.nodes[eth].speedMbps, 100000);
  EXPECT_EQ(t.nodes[eth].fabric, NicFabric::kEthernet);
  EXPECT_EQ(t.nodes[eth].ports, 1);
  EXPECT_EQ(t.nodes[eth].netName, "mlx5_1,eth0");
  // The bare NIC gets everything from its active ports.
  EXPECT_EQ(t.nodes[bare].speedMbps, 400000);
  EXPECT_EQ(t.nodes[bare].fabric, NicFabric::kInfiniband);
  EXPECT_EQ(t.nodes[bare].ports, 2);
  EXPECT_EQ(t.nodes[bare].netName, "mlx5_2");
  // Devices without a NIC of the tree add no node, and change no other one.
  EXPECT_EQ(t.nodes.size(), before.nodes.size());
  EXPECT_EQ(t.links, before.links);
  for (size_t n = 0; n < t.nodes.size(); ++n) {
    if (static_cast<int>(n) != eth && static_cast<int>(n) != bare) {
      EXPECT_EQ(t.nodes[n], before.nodes[n]) << t.nodes[n].name;
    }
  }
  Topology again;
  ASSERT_TRUE(parse(serialize(t), &again).isOk());
  EXPECT_EQ(again, t);
}

TEST(DetectTest, CudaFillsWhatNvmlLacks) {
  Topology t = detectWithOneMore("0000:80:03.0", "0000:83:00.0", "0x030200", "0x10de");
  int gpu = t.findBusId(0, "0000:02:00.0");
  int described = t.findBusId(0, "0000:83:00.0");
  ASSERT_GE(gpu, 0);
  ASSERT_GE(described, 0);
  EXPECT_EQ(t.nodes[gpu].sm, 0);
  EXPECT_EQ(t.nodes[gpu].gpuIndex, -1);
  t.nodes[described].sm = 80;  // as NVML would have described it
  t.nodes[described].gpuIndex = 3;
  size_t nodes = t.nodes.size();

  mergeCudaGpus({{0, "0000:02:00.0", 90},
                 {1, "0000:83:00.0", 90},
                 {2, "0000:c1:00.0", 100},
                 {3, "0000:81:00.0", 90},
                 {4, "", 90}},
                &t);
  EXPECT_EQ(t.nodes[gpu].sm, 90);
  EXPECT_EQ(t.nodes[gpu].gpuIndex, 0);
  EXPECT_EQ(t.nodes[described].sm, 80);  // NVML's stay
  EXPECT_EQ(t.nodes[described].gpuIndex, 3);
  // A GPU the PCI tree lacks hangs from the first CPU; the Ethernet NIC's bus id and an empty one
  // change nothing.
  ASSERT_EQ(t.nodes.size(), nodes + 1);
  int hidden = t.findBusId(0, "0000:c1:00.0");
  ASSERT_GE(hidden, 0);
  EXPECT_EQ(t.nodes[hidden].kind, NodeKind::kGpu);
  EXPECT_EQ(t.nodes[hidden].sm, 100);
  EXPECT_EQ(t.nodes[hidden].gpuIndex, 2);
  EXPECT_EQ(findPath(t, t.findNode(0, "cpu0"), hidden).hops(), 1);
  EXPECT_EQ(t.nodes[t.findBusId(0, "0000:81:00.0")].kind, NodeKind::kNic);
  EXPECT_EQ(t.gpuCount(), 3);
}

// The probes find nothing here (no GPU, no RDMA device, whether or not the libraries are
// installed), so turning them off changes nothing; where they do find devices, each of those is
// in the PCI tree already, so they add no node.
TEST(DetectTest, ProbesOffEqualOnWithoutDevices) {
  DetectOptions on, off;
  off.useCuda = false;
  off.useVerbs = false;
  Topology withProbes, without;
  ASSERT_TRUE(detectTopology(on, &withProbes).isOk());
  ASSERT_TRUE(detectTopology(off, &without).isOk());
  EXPECT_EQ(withProbes.nodes.size(), without.nodes.size());
  std::vector<CudaGpu> gpus;
  std::vector<VerbsDevice> devices;
  std::string why;
  queryCudaGpus(&gpus, &why);
  queryVerbsDevices(&devices, &why);
  if (gpus.empty() && devices.empty()) EXPECT_EQ(withProbes, without);
}

}  // namespace
}  // namespace tutti::topo
