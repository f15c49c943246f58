// Detection of this host's topology: hwloc (when built with it) or sysfs for CPUs, NUMA nodes
// and the PCI tree; sysfs for PCIe generations and widths and for NIC speeds; NVML (loaded with
// dlopen, optional) for GPU generations and NVLinks; the CUDA driver (dlopen, optional) for the
// GPUs NVML did not describe; libibverbs (dlopen, optional) for the NIC ports sysfs did not.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "topo/cuda_probe.h"
#include "topo/sysfs_probe.h"
#include "topo/topology.h"
#include "topo/verbs_probe.h"

namespace tutti::topo {

struct DetectOptions {
  HostRoots roots;       // where /sys and /proc are (tests point them at fake trees)
  bool useHwloc = true;  // false: sysfs only, as in a build without hwloc
  // The libraries below describe this host whatever roots say.
  bool useNvml = true;
  bool useCuda = true;   // the CUDA driver, for GPUs NVML left without SM or index
  bool useVerbs = true;  // libibverbs, for NIC ports sysfs (or hwloc) did not describe
};

// This host as host 0. Never fails for lack of hwloc, NVML, the CUDA driver or libibverbs: it
// falls back to sysfs and to the GPUs' PCI class, logging the reason at INFO.
Status detectTopology(Topology* out);
Status detectTopology(const DetectOptions& options, Topology* out);

// What the CUDA driver adds to a host detected without it (host 0), exposed for tests: each GPU's
// SM and index where they are unknown (NVML's stay), and GPUs the PCI tree lacks, under the first
// CPU.
void mergeCudaGpus(const std::vector<CudaGpu>& gpus, Topology* topology);

// What libibverbs adds to a host detected without it (host 0), exposed for tests, for each NIC
// whose PCI function a verbs device belongs to, from the device's active ports with a known link
// layer: the fastest one's rate where the speed is unknown, the first one's link layer
// (InfiniBand, or Ethernet for RoCE) where the fabric is unknown, their count where no network
// interface counted the ports, and the device's name where the NIC's names lack it. Devices
// without a PCI function, or whose function is not a NIC of the tree, add nothing.
void mergeVerbsDevices(const std::vector<VerbsDevice>& devices, Topology* topology);

// Whether this build has hwloc (CMake found it).
bool builtWithHwloc();

}  // namespace tutti::topo
