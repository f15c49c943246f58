// What every loader shares: which PCI devices become which nodes, and adding nodes and links to
// one host of a Topology with NCCL's bandwidths (link_model.h) and default names.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "topo/topology.h"

namespace tutti::topo {

constexpr int kPciVendorNvidia = 0x10de;

enum class PciRole { kOther, kBridge, kGpu, kNic, kNvSwitch };

// From the 16-bit PCI class (base class << 8 | subclass) and the vendor id (-1: unknown):
// bridges 0x0604; GPUs 0x0302 (3D controller), and 0x0300 (VGA) from NVIDIA or an unknown vendor
// (a server's BMC display chip is VGA too); NICs 0x02xx (network) and 0x0c06 (InfiniBand on the
// serial bus, older HCAs); NVSwitches 0x0680 from NVIDIA or an unknown vendor (NCCL's
// PCI_NVSWITCH_CLASS 0x068000).
PciRole classifyPci(int pciClass, int vendor);
// The fabric a NIC's class implies: 0x0207 and 0x0c06 InfiniBand, 0x0200 Ethernet.
NicFabric fabricOfPciClass(int pciClass);

// The number of bits set in a hexadecimal mask as NCCL's affinity ("0000ffff,ffffffff") and
// hwloc's cpusets ("0x00ff00ff", "0x0000000f,0xffffffff") write it; -1 when malformed or
// infinite ("0xf...f").
int countMaskBits(const std::string& mask);

// "0000:1B:00.0" or "00000000:1b:00.0" (NVML) -> "0000:1b:00.0"; other text is returned as is.
std::string normalizeBusId(const std::string& busId);

// Text as a token of the Tutti format: white space, '#' and '=' become '_'.
std::string tokenSafe(std::string text);

// A PCIe link as a source describes it: generation and width (NCCL XML, sysfs), or only a
// bandwidth (hwloc XML). Bandwidth wins when set.
struct PcieLinkSpec {
  int gen = 0;
  int width = 0;
  double bandwidthGBps = 0;
};

class TopologyBuilder {
 public:
  // Names continue after the nodes the host already has.
  TopologyBuilder(Topology* topology, int host);

  int addCpu(int numaId, int puCount, const std::string& vendor, int family, int model);
  // A node below parent on PCIe; the node gets the next default name of its kind and this host.
  int addPcieChild(int parent, Node node, const PcieLinkSpec& link);
  // An NVSwitch known only by NVLink (no PCIe placement), found by bus id or created.
  int nvSwitch(const std::string& busId);
  // count NVLinks between a and b at the bandwidth of the GPU end's SM generation; adds to an
  // NVLink already there (the same bundle seen from the other end is not counted twice: pass
  // mergeSameCount to keep the larger count instead of adding). A link from a node to itself
  // (a == b) is dropped with a warning.
  void addNvlink(int a, int b, int count, bool mergeSameCount);
  // Every pair of CPU nodes on this host, at the bandwidth of the first one's model.
  void connectSockets();

  int host() const { return host_; }
  Topology* topology() { return topology_; }

 private:
  std::string nextName(NodeKind kind);

  Topology* topology_;
  int host_;
  std::array<int, 5> named_{};
};

}  // namespace tutti::topo
