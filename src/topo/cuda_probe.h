// GPUs from the CUDA driver API, loaded at run time with dlopen("libcuda.so.1") so that Tutti
// neither links nor needs CUDA: each GPU's CUDA device index, PCI function and compute
// capability. It describes GPUs where NVML cannot (a container given the driver's "compute"
// libraries but not its "utility" ones has libcuda.so.1 without libnvidia-ml.so.1).
//
// The driver library rather than the runtime (libcudart.so.N): libcuda.so.1 comes with the kernel
// driver, so it is there exactly where a GPU can be used, under one soname for every CUDA
// release, while the runtime has a soname per major release, is often not on the loader's path,
// and would load libcuda.so.1 itself anyway.
#pragma once

#include <string>
#include <vector>

namespace tutti::topo {

struct CudaGpu {
  int index = -1;     // CUDA device ordinal as this process sees it (CUDA_VISIBLE_DEVICES applies)
  std::string busId;  // "0000:1b:00.0", lower case
  int sm = 0;         // compute capability major x 10 + minor
};

// The GPUs the CUDA driver sees. True when the driver initialized, or reported that there is no
// GPU (CUDA_ERROR_NO_DEVICE: true with none). False, with *why set and no GPUs, when
// libcuda.so.1 is absent, lacks a function, or fails otherwise. A GPU the driver cannot describe
// is left out.
//
// This initializes the CUDA driver in the calling process (cuInit): children forked afterwards
// cannot use CUDA, so a program that forks its ranks detects in each rank. The library stays
// loaded for the rest of the process (the driver is not made to be unloaded once initialized).
bool queryCudaGpus(std::vector<CudaGpu>* gpus, std::string* why);

}  // namespace tutti::topo
