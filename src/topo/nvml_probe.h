// GPUs and their NVLinks from NVML, loaded at run time with dlopen("libnvidia-ml.so.1") so that
// Tutti neither links nor needs the driver: a host without it simply has no NVML GPUs.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace tutti::topo {

struct NvmlGpu {
  int index = -1;
  std::string busId;  // normalized "0000:1b:00.0"
  int sm = 0;         // compute capability x 10
  // Active NVLinks by the bus id at their far end (a GPU or an NVSwitch), with their count.
  std::vector<std::pair<std::string, int>> nvlinks;
};

// The GPUs NVML sees. False, with *why set, when NVML is absent or fails; no GPUs then.
bool queryNvmlGpus(std::vector<NvmlGpu>* gpus, std::string* why);

}  // namespace tutti::topo
