// The verbs probe: port rates against NCCL's table, the PCI function of a sysfs class device in a
// temporary tree, and the query on this host (which has no RDMA device where the suite usually
// runs: it must fail soft, or list what /sys/class/infiniband lists).
#include "topo/verbs_probe.h"

#include <dirent.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace tutti::topo {
namespace {

// ibv_port_attr encodings (verbs.h, IB spec): active_speed bits SDR 1 ... XDR 256, active_width
// bits 1x 1, 4x 2, 8x 4, 12x 8, 2x 16.
constexpr int kSdr = 1, kDdr = 2, kQdr = 4, kFdr10 = 8, kFdr = 16, kEdr = 32, kHdr = 64, kNdr = 128,
              kXdr = 256;
constexpr int k1x = 1, k4x = 2, k8x = 4, k12x = 8, k2x = 16;

TEST(DetectVerbsProbeTest, PortRatesAreNcclsTable) {
  // ncclIbSpeed(speed) * ncclIbWidth(width), NCCL src/transport/net_ib/init.cc.
  EXPECT_EQ(ibRateMbps(kNdr, k4x), 400000);
  EXPECT_EQ(ibRateMbps(kHdr, k4x), 200000);
  EXPECT_EQ(ibRateMbps(kEdr, k4x), 100000);
  EXPECT_EQ(ibRateMbps(kFdr, k4x), 56000);
  EXPECT_EQ(ibRateMbps(kFdr10, k4x), 40000);
  EXPECT_EQ(ibRateMbps(kQdr, k4x), 40000);
  EXPECT_EQ(ibRateMbps(kDdr, k4x), 20000);
  EXPECT_EQ(ibRateMbps(kSdr, k1x), 2500);
  EXPECT_EQ(ibRateMbps(kXdr, k4x), 800000);
  EXPECT_EQ(ibRateMbps(kHdr, k2x), 100000);  // HDR100 split ports
  EXPECT_EQ(ibRateMbps(kNdr, k8x), 800000);
  EXPECT_EQ(ibRateMbps(kEdr, k12x), 300000);
  // NCCL reads the lowest bit set, and counts a bit past its table as the last entry.
  EXPECT_EQ(ibRateMbps(kEdr | kHdr, k4x), 100000);
  EXPECT_EQ(ibRateMbps(kXdr << 1, k4x), 800000);
  EXPECT_EQ(ibRateMbps(kNdr, k2x << 1), 200000);
  // Unknown.
  EXPECT_EQ(ibRateMbps(0, k4x), 0);
  EXPECT_EQ(ibRateMbps(kNdr, 0), 0);
}

TEST(DetectVerbsProbeTest, PciFunctionOfAClassDevice) {
  namespace fs = std::filesystem;
  std::string pattern = ::testing::TempDir() + "/tutti_verbs_sysfs_XXXXXX";
  ASSERT_NE(mkdtemp(&pattern[0]), nullptr);
  fs::path root = pattern;
  fs::path function = root / "devices/pci0000:00/0000:00:01.0/0000:1B:00.1";
  fs::create_directories(function / "infiniband/mlx5_1");
  fs::create_directory_symlink("../..", function / "infiniband/mlx5_1/device");
  fs::create_directories(root / "class/infiniband");
  fs::create_directory_symlink(function / "infiniband/mlx5_1", root / "class/infiniband/mlx5_1");
  // Soft RoCE over a virtio NIC: the parent is virtio0, not a PCI function.
  fs::path virtio = root / "devices/pci0000:00/0000:00:03.0/virtio0";
  fs::create_directories(virtio / "infiniband/rxe0");
  fs::create_directory_symlink("../..", virtio / "infiniband/rxe0/device");
  fs::create_directories(root / "class/infiniband/nodevice");

  EXPECT_EQ(pciBusIdOfClassDevice((root / "class/infiniband/mlx5_1").string()), "0000:1b:00.1");
  EXPECT_EQ(pciBusIdOfClassDevice((virtio / "infiniband/rxe0").string()), "");
  EXPECT_EQ(pciBusIdOfClassDevice((root / "class/infiniband/nodevice").string()), "");
  EXPECT_EQ(pciBusIdOfClassDevice((root / "class/infiniband/absent").string()), "");
  fs::remove_all(root);
}

int countEntries(const std::string& path) {
  int count = 0;
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return 0;
  while (dirent* entry = readdir(dir)) count += entry->d_name[0] != '.';
  closedir(dir);
  return count;
}

TEST(DetectVerbsProbeTest, ThisHostFailsSoftOrListsSysfsDevices) {
  std::vector<VerbsDevice> devices(1);
  std::string why;
  bool listed = queryVerbsDevices(&devices, &why);
  if (!builtWithVerbs()) {
    EXPECT_FALSE(listed);
    EXPECT_NE(why.find("built without"), std::string::npos) << why;
    EXPECT_TRUE(devices.empty());
    return;
  }
  void* library = dlopen("libibverbs.so.1", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    EXPECT_FALSE(listed);
    EXPECT_NE(why.find("libibverbs.so.1"), std::string::npos) << why;
    EXPECT_TRUE(devices.empty());
    return;
  }
  dlclose(library);
  // Installed: it loads and lists what the kernel shows (nothing on a host without RDMA).
  ASSERT_TRUE(listed) << why;
  EXPECT_EQ(static_cast<int>(devices.size()), countEntries("/sys/class/infiniband"));
  for (const VerbsDevice& device : devices) {
    EXPECT_FALSE(device.name.empty());
    EXPECT_EQ(device.busId, pciBusIdOfClassDevice("/sys/class/infiniband/" + device.name));
    for (size_t p = 0; p < device.ports.size(); ++p) {
      EXPECT_EQ(device.ports[p].number, static_cast<int>(p) + 1) << device.name;
      if (!device.ports[p].active) EXPECT_EQ(device.ports[p].rateMbps, 0) << device.name;
    }
  }
}

}  // namespace
}  // namespace tutti::topo
