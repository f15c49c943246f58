#include "topo/hw_tree.h"

#include <algorithm>
#include <map>

#include "base/log.h"
#include "topo/builder.h"
#include "topo/file_limits.h"
#include "topo/link_model.h"

namespace tutti::topo {
namespace {

using Type = HwObject::Type;

bool isIo(const HwObject& object) {
  return object.type == Type::kBridge || object.type == Type::kPciDevice ||
         object.type == Type::kOsDevice;
}

PciRole roleOf(const HwObject& object) {
  if (object.type != Type::kPciDevice) return PciRole::kOther;
  // hwloc's NVML backend names the PCI devices at the far end of GPUs' NVLinks NVSwitches.
  if (object.subtype == "NVSwitch") return PciRole::kNvSwitch;
  return classifyPci(object.pciClass, object.vendorId);
}

bool anyNumaWithPus(const HwObject& object) {
  if (object.type == Type::kNumaNode && object.puCount > 0 && !object.memoryOnly) return true;
  for (const HwObject& child : object.children) {
    if (child.type != Type::kBridge && child.type != Type::kPciDevice &&
        child.type != Type::kOsDevice && anyNumaWithPus(child)) {
      return true;
    }
  }
  return false;
}

// NVLinks per hwloc bandwidth: 25,000 MB/s per link from NVLink 2 on, 20,000 for NVLink 1
// (hwloc topology-nvml.c), whichever divides it.
// At least one (the matrix says there is a link), at most kMaxNvlinksPerGpu.
int nvlinkCountOf(uint64_t megabytesPerSecond) {
  uint64_t count = megabytesPerSecond % 25000 == 0   ? megabytesPerSecond / 25000
                   : megabytesPerSecond % 20000 == 0 ? megabytesPerSecond / 20000
                                                     : megabytesPerSecond / 25000 + 1;
  return static_cast<int>(std::clamp<uint64_t>(count, 1, kMaxNvlinksPerGpu));
}

bool leadsToDevice(const HwObject& object) {
  PciRole role = roleOf(object);
  if (role == PciRole::kGpu || role == PciRole::kNic || role == PciRole::kNvSwitch) return true;
  for (const HwObject& child : object.children) {
    if (isIo(child) && leadsToDevice(child)) return true;
  }
  return false;
}

const HwObject* firstPackage(const HwObject& object) {
  if (object.type == Type::kPackage) return &object;
  for (const HwObject& child : object.children) {
    if (isIo(child)) continue;
    if (const HwObject* found = firstPackage(child)) return found;
  }
  return nullptr;
}

PcieLinkSpec linkOf(const HwObject& object) {
  PcieLinkSpec spec;
  spec.gen = object.linkGen;
  spec.width = object.linkWidth;
  if (spec.gen == 0 && object.linkGBps > 0) {
    spec.bandwidthGBps = object.linkGBps * kHwlocLinkSpeedToEffective;
  }
  return spec;
}

class Converter {
 public:
  explicit Converter(Topology* topology) : builder_(topology, 0) {}

  void convert(const HwObject& machine) {
    numaWithPus_ = anyNumaWithPus(machine);
    collectNumaNodes(machine, firstPackage(machine));
    if (cpuOfNuma_.empty()) {
      const HwObject* package = firstPackage(machine);
      fallbackCpu_ =
          builder_.addCpu(0, machine.puCount, package ? package->cpuVendor : "",
                          package ? package->cpuFamily : -1, package ? package->cpuModel : -1);
    }
    walk(machine, fallbackCpu_ >= 0 ? fallbackCpu_ : firstCpuIn(machine));
    builder_.connectSockets();
    addNvlinks(machine);
  }

 private:
  void collectNumaNodes(const HwObject& object, const HwObject* package) {
    if (object.type == Type::kPackage) package = &object;
    bool memoryOnly = object.memoryOnly || (object.puCount == 0 && numaWithPus_);
    if (object.type == Type::kNumaNode && memoryOnly) {
      TUTTI_INFO(kLogInit, "topology: NUMA node {}{}{} has memory only; not a CPU node",
                 object.osIndex, object.subtype.empty() ? "" : " ", object.subtype);
    } else if (object.type == Type::kNumaNode) {
      int numaId = object.osIndex >= 0 ? object.osIndex : static_cast<int>(cpuOfNuma_.size());
      cpuOfNuma_[&object] =
          builder_.addCpu(numaId, object.puCount, package ? package->cpuVendor : "",
                          package ? package->cpuFamily : -1, package ? package->cpuModel : -1);
    }
    for (const HwObject& child : object.children) {
      if (!isIo(child)) collectNumaNodes(child, package);
    }
  }

  // The CPU node of the first NUMA node within object, or -1.
  int firstCpuIn(const HwObject& object) const {
    if (object.type == Type::kNumaNode) {
      auto found = cpuOfNuma_.find(&object);
      if (found != cpuOfNuma_.end()) return found->second;
    }
    for (const HwObject& child : object.children) {
      if (isIo(child)) continue;
      int cpu = firstCpuIn(child);
      if (cpu >= 0) return cpu;
    }
    return -1;
  }

  // I/O hangs from the NUMA node nearest to it: the first one inside the object it is attached
  // to, else the one its ancestors had.
  void walk(const HwObject& object, int inheritedCpu) {
    int cpu = firstCpuIn(object);
    if (cpu < 0) cpu = inheritedCpu;
    for (const HwObject& child : object.children) {
      if (isIo(child)) {
        if (cpu >= 0) io(child, cpu);
      } else {
        walk(child, cpu);
      }
    }
  }

  void io(const HwObject& object, int parent) {
    if (object.type == Type::kBridge) {
      int below = parent;
      if (!object.busId.empty()) {  // host bridges are the CPU's own
        if (!leadsToDevice(object)) return;
        Node bridge;
        bridge.kind = NodeKind::kPciSwitch;
        bridge.busId = normalizeBusId(object.busId);
        below = builder_.addPcieChild(parent, std::move(bridge), linkOf(object));
      }
      for (const HwObject& child : object.children) io(child, below);
      return;
    }
    if (object.type != Type::kPciDevice) return;
    Node node;
    node.busId = normalizeBusId(object.busId);
    switch (roleOf(object)) {
      case PciRole::kGpu:
        node.kind = NodeKind::kGpu;
        break;
      case PciRole::kNvSwitch:
        node.kind = NodeKind::kNvSwitch;
        break;
      case PciRole::kNic:
        node.kind = NodeKind::kNic;
        describeNic(object, &node);
        break;
      case PciRole::kBridge:
      case PciRole::kOther:
        return;
    }
    builder_.addPcieChild(parent, std::move(node), linkOf(object));
  }

  // Names: the verbs device first (mlx5_0), then the network interfaces; one port per interface.
  static void describeNic(const HwObject& device, Node* node) {
    std::vector<std::string> fabricNames, interfaceNames;
    for (const HwObject& os : device.children) {
      if (os.type != Type::kOsDevice) continue;
      if (os.osDeviceKind == HwObject::OsDeviceKind::kOther) continue;
      bool verbs = os.osDeviceKind == HwObject::OsDeviceKind::kOpenFabrics;
      (verbs ? fabricNames : interfaceNames).push_back(os.name);
      node->speedMbps = std::max(node->speedMbps, os.speedMbps);
    }
    node->fabric = fabricOfPciClass(device.pciClass);
    bool ipoib = std::any_of(interfaceNames.begin(), interfaceNames.end(),
                             [](const std::string& name) { return name.compare(0, 2, "ib") == 0; });
    if (node->fabric == NicFabric::kUnknown && (ipoib || !fabricNames.empty())) {
      node->fabric = NicFabric::kInfiniband;
    }
    node->ports = std::max<int>(1, static_cast<int>(interfaceNames.size()));
    fabricNames.insert(fabricNames.end(), interfaceNames.begin(), interfaceNames.end());
    for (const std::string& name : fabricNames) {
      node->netName += (node->netName.empty() ? "" : ",") + name;
    }
  }

  void addNvlinks(const HwObject& machine) {
    Topology* topology = builder_.topology();
    for (const HwObject::NvlinkBandwidth& nvlink : machine.nvlinks) {
      int a = topology->findBusId(0, normalizeBusId(nvlink.busIdA));
      int b = topology->findBusId(0, normalizeBusId(nvlink.busIdB));
      bool ends =
          a >= 0 && b >= 0 && isNvlinkEnd(topology->nodes[a]) && isNvlinkEnd(topology->nodes[b]);
      if (!ends) {
        TUTTI_INFO(kLogInit,
                   "topology: NVLink bandwidth between {} and {} left out (not a GPU or "
                   "NVSwitch of the PCI tree)",
                   nvlink.busIdA, nvlink.busIdB);
        continue;
      }
      builder_.addNvlink(a, b, nvlinkCountOf(nvlink.megabytesPerSecond), false);
    }
  }

  static bool isNvlinkEnd(const Node& node) {
    return node.kind == NodeKind::kGpu || node.kind == NodeKind::kNvSwitch;
  }

  TopologyBuilder builder_;
  bool numaWithPus_ = false;
  std::map<const HwObject*, int> cpuOfNuma_;  // NUMA node object -> CPU node
  int fallbackCpu_ = -1;
};

}  // namespace

Status topologyFromHwTree(const HwObject& machine, Topology* out) {
  if (machine.type != Type::kMachine) {
    return makeError(tuttiInternalError, "hardware tree: the root is not a machine");
  }
  Topology topology;
  Converter(&topology).convert(machine);
  *out = std::move(topology);
  return Status::ok();
}

}  // namespace tutti::topo
