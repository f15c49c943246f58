// A host as hwloc describes it (machine, packages, NUMA nodes, the PCI tree, OS devices), before
// it becomes a Topology. Three sources fill it: hwloc's API (this host, or an hwloc XML export
// through hwloc's own XML backend), Tutti's reading of hwloc XML (for exports hwloc cannot load,
// such as hwloc 3.0's in hwloc 2.x, and builds without hwloc), and sysfs (builds without hwloc).
// One conversion turns it into a Topology, so that every source gives the same graph.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "topo/topology.h"

namespace tutti::topo {

struct HwObject {
  enum class Type { kMachine, kPackage, kGroup, kNumaNode, kBridge, kPciDevice, kOsDevice };
  enum class OsDeviceKind { kOther, kNetwork, kOpenFabrics };

  Type type = Type::kMachine;
  int osIndex = -1;

  // kMachine, kNumaNode: logical processors it holds (its cpuset's weight); 0 unknown.
  int puCount = 0;
  // kPackage: CPUID vendor, family and model (-1 unknown).
  std::string cpuVendor;
  int cpuFamily = -1;
  int cpuModel = -1;

  // kBridge (empty busId: a host bridge) and kPciDevice.
  std::string busId;
  int pciClass = -1;  // 16 bits: base class << 8 | subclass
  int vendorId = -1;
  int deviceId = -1;
  int linkGen = 0;      // from sysfs; 0 unknown
  int linkWidth = 0;    // from sysfs; 0 unknown
  double linkGBps = 0;  // hwloc's pci_link_speed (after line encoding); 0 unknown

  // kOsDevice: "eth0", "ib0", "mlx5_0".
  std::string name;
  OsDeviceKind osDeviceKind = OsDeviceKind::kOther;
  int64_t speedMbps = 0;  // kNetwork, from /sys/class/net/NAME/speed; 0 unknown

  std::vector<HwObject> children;
};

// The Topology of one host (host 0): one CPU node per NUMA node (or one for the machine when it
// has none), every GPU, NIC and NVSwitch PCI device under the NUMA node nearest to it, and the
// PCIe bridges on their way; links as link_model.h says.
Status topologyFromHwTree(const HwObject& machine, Topology* out);

}  // namespace tutti::topo
