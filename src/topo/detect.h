// Detection of this host's topology: hwloc (when built with it) or sysfs for CPUs, NUMA nodes
// and the PCI tree; sysfs for PCIe generations and widths and for NIC speeds; NVML (loaded with
// dlopen, optional) for GPU generations and NVLinks.
#pragma once

#include <string>

#include "core/status.h"
#include "topo/sysfs_probe.h"
#include "topo/topology.h"

namespace tutti::topo {

struct DetectOptions {
  HostRoots roots;       // where /sys and /proc are (tests point them at fake trees)
  bool useHwloc = true;  // false: sysfs only, as in a build without hwloc
  bool useNvml = true;
};

// This host as host 0. Never fails for lack of hwloc or NVML: it falls back to sysfs and to the
// GPUs' PCI class, logging the reason at INFO.
Status detectTopology(Topology* out);
Status detectTopology(const DetectOptions& options, Topology* out);

// Whether this build has hwloc (CMake found it).
bool builtWithHwloc();

}  // namespace tutti::topo
