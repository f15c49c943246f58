// The CUDA driver probe on this host: without libcuda.so.1 (where the suite usually runs) it fails
// soft and says why; with it, each GPU it reports is a PCI function of this host, in ordinal
// order, with a plausible compute capability.
#include "topo/cuda_probe.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

namespace tutti::topo {
namespace {

TEST(DetectCudaProbeTest, ThisHostFailsSoftOrListsPciGpus) {
  std::vector<CudaGpu> gpus(1);
  std::string why;
  bool listed = queryCudaGpus(&gpus, &why);
  void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (driver == nullptr) {
    EXPECT_FALSE(listed);
    EXPECT_NE(why.find("libcuda.so.1 not loaded"), std::string::npos) << why;
    EXPECT_TRUE(gpus.empty());
    return;
  }
  dlclose(driver);
  if (!listed) {  // a driver that cannot initialize (mismatched kernel module, no permission)
    EXPECT_FALSE(why.empty());
    EXPECT_TRUE(gpus.empty());
    return;
  }
  int previous = -1;
  for (const CudaGpu& gpu : gpus) {
    EXPECT_GT(gpu.index, previous);
    previous = gpu.index;
    struct stat info;
    EXPECT_EQ(stat(("/sys/bus/pci/devices/" + gpu.busId).c_str(), &info), 0) << gpu.busId;
    EXPECT_GE(gpu.sm, 30) << gpu.busId;  // Kepler, the oldest any current driver serves
  }
}

}  // namespace
}  // namespace tutti::topo
