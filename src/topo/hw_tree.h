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
  // kNumaNode: memory without processors of its own (HBM, MCDRAM, CXL or other special-purpose
  // memory; a node whose processors an earlier NUMA node already holds): not a CPU node.
  bool memoryOnly = false;
  // hwloc's subtype ("NVSwitch" on a PCI device hwloc's NVML backend saw as one, "HBM" on a
  // NUMA node); empty when none.
  std::string subtype;
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

  // kMachine: NVLink bandwidth between two PCI devices (GPU or NVSwitch) by bus id, in MB/s as
  // hwloc's NVLinkBandwidth distance matrix gives it (25,000 per NVLink from version 2, 20,000
  // for version 1).
  struct NvlinkBandwidth {
    std::string busIdA;
    std::string busIdB;
    uint64_t megabytesPerSecond = 0;
  };
  std::vector<NvlinkBandwidth> nvlinks;
};

// The Topology of one host (host 0): one CPU node per NUMA node with processors (or one for the
// machine when it has none; memory-only nodes, and nodes without PUs where others have some, are
// not CPU nodes), every GPU, NIC and NVSwitch PCI device under the NUMA node nearest to it (a PCI
// device of subtype NVSwitch is an NVSwitch whatever its class), the PCIe bridges on their way,
// and the machine's NVLinks; links as link_model.h says.
Status topologyFromHwTree(const HwObject& machine, Topology* out);

}  // namespace tutti::topo
