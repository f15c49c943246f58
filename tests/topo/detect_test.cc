// Detection: on this host (CPU-only; hwloc when built with it, and sysfs), and on a fake /sys laid
// out in a temporary directory with a GPU, an InfiniBand NIC and an Ethernet NIC.
#include "topo/detect.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

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

TEST(DetectTest, FakeSysfsWithoutHwloc) {
  FakeSysfs fake;
  fake.file("proc/cpuinfo",
            "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 143\n"
            "model name\t: Intel(R) Xeon(R) Platinum 8480C\n\nprocessor\t: 1\n"
            "vendor_id\t: GenuineIntel\n");
  fake.file("sys/devices/system/node/node0/cpulist", "0-3,8-11");
  fake.file("sys/devices/system/node/node1/cpulist", "4-7,12-15");
  fake.file("sys/devices/system/node/possible", "0-1");
  fake.file("sys/devices/system/cpu/online", "0-15");
  // Socket 0: root port > switch (upstream port) > GPU and IB NIC; a SATA controller elsewhere.
  const std::string port = "pci0000:00/0000:00:01.0";
  const std::string upstream = port + "/0000:01:00.0";
  fake.pci(port, "0x060400", "0x8086", "32.0 GT/s PCIe", 16, 0);
  fake.pci(upstream, "0x060400", "0x1000", "32.0 GT/s PCIe", 16, 0);
  fake.pci(upstream + "/0000:02:00.0", "0x030200", "0x10de", "32.0 GT/s PCIe", 16, 0);
  fake.pci(upstream + "/0000:02:01.0", "0x020700", "0x15b3", "32.0 GT/s PCIe", 16, 0);
  fake.pci("pci0000:00/0000:00:17.0", "0x010601", "0x8086", "Unknown", 0, 0);
  // Socket 1: an Ethernet NIC on a root port.
  fake.pci("pci0000:80/0000:80:01.0", "0x060400", "0x8086", "16.0 GT/s PCIe", 16, 1);
  fake.pci("pci0000:80/0000:80:01.0/0000:81:00.0", "0x020000", "0x8086", "16.0 GT/s PCIe", 8, 1);
  // Interfaces and the verbs device, each with its device link; lo has none.
  std::string ibDir = "sys/devices/" + upstream + "/0000:02:01.0/net/ib0";
  fake.file(ibDir + "/speed", "-1");
  fake.link(ibDir + "/device", "../..");
  fake.link("sys/class/net/ib0", "../../devices/" + upstream + "/0000:02:01.0/net/ib0");
  std::string ethDir = "sys/devices/pci0000:80/0000:80:01.0/0000:81:00.0/net/eth0";
  fake.file(ethDir + "/speed", "100000");
  fake.link(ethDir + "/device", "../..");
  fake.link("sys/class/net/eth0", "../../devices/pci0000:80/0000:80:01.0/0000:81:00.0/net/eth0");
  fake.file("sys/devices/virtual/net/lo/speed", "-1");
  fake.link("sys/class/net/lo", "../../devices/virtual/net/lo");
  std::string verbsDir = "sys/devices/" + upstream + "/0000:02:01.0/infiniband/mlx5_0";
  fake.file(verbsDir + "/ports/1/rate", "400 Gb/sec (4X NDR)");
  fake.link(verbsDir + "/device", "../..");
  fake.link("sys/class/infiniband/mlx5_0",
            "../../devices/" + upstream + "/0000:02:01.0/infiniband/mlx5_0");

  DetectOptions options;
  options.roots.sys = fake.sys();
  options.roots.proc = fake.proc();
  options.useHwloc = false;
  options.useNvml = false;
  Topology t;
  Status status = detectTopology(options, &t);
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

}  // namespace
}  // namespace tutti::topo
