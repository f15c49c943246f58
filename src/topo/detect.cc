#include "topo/detect.h"

#include <algorithm>
#include <vector>

#include "base/log.h"
#include "topo/builder.h"
#include "topo/hw_tree.h"
#include "topo/hwloc_probe.h"
#include "topo/nvml_probe.h"

namespace tutti::topo {
namespace {

// The GPU node with this bus id on host 0; a GPU the PCI tree lacks (hidden from hwloc or sysfs)
// is added under the first CPU. -1 when the bus id names another kind of node, or there is no CPU
// to place the GPU under.
int gpuNode(const std::string& busId, TopologyBuilder* builder) {
  if (busId.empty()) return -1;
  Topology* topology = builder->topology();
  int node = topology->findBusId(0, busId);
  if (node < 0) {
    std::vector<int> cpus = topology->nodesOf(NodeKind::kCpu, 0);
    if (cpus.empty()) return -1;
    Node missing;
    missing.kind = NodeKind::kGpu;
    missing.busId = busId;
    node = builder->addPcieChild(cpus.front(), std::move(missing), PcieLinkSpec());
  }
  return topology->nodes[node].kind == NodeKind::kGpu ? node : -1;
}

// NVML knows what PCI does not: each GPU's SM generation, its index, and its NVLinks.
void applyNvml(const std::vector<NvmlGpu>& gpus, Topology* topology) {
  TopologyBuilder builder(topology, 0);
  std::vector<int> nodeOfGpu;
  for (const NvmlGpu& gpu : gpus) {
    int node = gpuNode(gpu.busId, &builder);
    if (node >= 0) {
      topology->nodes[node].sm = gpu.sm;
      topology->nodes[node].gpuIndex = gpu.index;
    }
    nodeOfGpu.push_back(node);
  }
  for (size_t g = 0; g < gpus.size(); ++g) {
    if (nodeOfGpu[g] < 0) continue;
    for (const auto& [target, count] : gpus[g].nvlinks) {
      int peer = topology->findBusId(0, target);
      if (peer >= 0 && topology->nodes[peer].kind == NodeKind::kGpu) {
        builder.addNvlink(nodeOfGpu[g], peer, count, true);  // the peer lists the same links
      } else {
        builder.addNvlink(nodeOfGpu[g], builder.nvSwitch(target), count, false);
      }
    }
  }
}

// Whether some GPU still lacks what the CUDA driver would give. When NVML has described every
// GPU, the driver is left alone: initializing it costs time and makes later forks unable to use
// CUDA.
bool gpusNeedCuda(const Topology& topology, bool nvmlDescribed) {
  if (!nvmlDescribed) return true;  // also finds GPUs the PCI tree lacks
  for (int node : topology.nodesOf(NodeKind::kGpu, 0)) {
    if (topology.nodes[node].sm == 0 || topology.nodes[node].gpuIndex < 0) return true;
  }
  return false;
}

std::vector<std::string> splitNames(const std::string& names) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (begin < names.size()) {
    size_t comma = std::min(names.find(',', begin), names.size());
    if (comma > begin) parts.push_back(names.substr(begin, comma - begin));
    begin = comma + 1;
  }
  return parts;
}

NicFabric fabricOf(VerbsLinkLayer linkLayer) {
  switch (linkLayer) {
    case VerbsLinkLayer::kInfiniband:
      return NicFabric::kInfiniband;
    case VerbsLinkLayer::kEthernet:
      return NicFabric::kEthernet;
    case VerbsLinkLayer::kUnspecified:
      break;
  }
  return NicFabric::kUnknown;
}

}  // namespace

void mergeCudaGpus(const std::vector<CudaGpu>& gpus, Topology* topology) {
  TopologyBuilder builder(topology, 0);
  for (const CudaGpu& gpu : gpus) {
    int node = gpuNode(gpu.busId, &builder);
    if (node < 0) continue;
    Node& described = topology->nodes[node];
    if (described.sm == 0) described.sm = gpu.sm;
    if (described.gpuIndex < 0) described.gpuIndex = gpu.index;
  }
}

void mergeVerbsDevices(const std::vector<VerbsDevice>& devices, Topology* topology) {
  std::vector<std::string> verbsNames;
  for (const VerbsDevice& device : devices) verbsNames.push_back(device.name);
  auto isVerbsName = [&](const std::string& name) {
    return std::find(verbsNames.begin(), verbsNames.end(), name) != verbsNames.end();
  };
  for (const VerbsDevice& device : devices) {
    int node = device.busId.empty() ? -1 : topology->findBusId(0, device.busId);
    if (node < 0 || topology->nodes[node].kind != NodeKind::kNic) {
      TUTTI_INFO(kLogInit, "topology: verbs device {} ({}) is not a NIC of the PCI tree; left out",
                 device.name, device.busId.empty() ? "no PCI function" : device.busId);
      continue;
    }
    Node& nic = topology->nodes[node];
    int activePorts = 0;
    int64_t fastestMbps = 0;
    NicFabric fabric = NicFabric::kUnknown;
    for (const VerbsPort& port : device.ports) {
      if (!port.active || port.linkLayer == VerbsLinkLayer::kUnspecified) continue;
      ++activePorts;
      fastestMbps = std::max(fastestMbps, port.rateMbps);
      if (fabric == NicFabric::kUnknown) fabric = fabricOf(port.linkLayer);
    }
    std::vector<std::string> names = splitNames(nic.netName);
    bool interfaces = std::any_of(names.begin(), names.end(),
                                  [&](const std::string& name) { return !isVerbsName(name); });
    if (nic.speedMbps == 0) nic.speedMbps = fastestMbps;
    if (nic.fabric == NicFabric::kUnknown) nic.fabric = fabric;
    if (!interfaces && activePorts > 0) nic.ports = activePorts;
    if (std::find(names.begin(), names.end(), device.name) == names.end()) {
      // Verbs names come first, as hw_tree.cc orders them.
      nic.netName = device.name + (nic.netName.empty() ? "" : "," + nic.netName);
    }
    TUTTI_INFO(kLogInit, "topology: verbs device {} at {}: {} active port(s), {} Mb/s, {}",
               device.name, device.busId, activePorts, fastestMbps, nicFabricName(fabric));
  }
}

bool builtWithHwloc() {
#if TUTTI_HAVE_HWLOC
  return true;
#else
  return false;
#endif
}

Status detectTopology(Topology* out) { return detectTopology(DetectOptions(), out); }

Status detectTopology(const DetectOptions& options, Topology* out) {
  HwObject machine;
  bool fromHwloc = false;
#if TUTTI_HAVE_HWLOC
  if (options.useHwloc) {
    Status status = hwTreeOfThisHostWithHwloc(&machine);
    fromHwloc = status.isOk();
    if (!fromHwloc) {
      TUTTI_INFO(kLogInit, "topology: hwloc failed ({}); reading sysfs instead", status.message());
    }
  }
#endif
  if (fromHwloc) {
    addSysfsLinkDetails(options.roots, &machine);
  } else {
    TUTTI_RETURN_IF_ERROR(hwTreeOfThisHostWithSysfs(options.roots, &machine));
  }
  Topology topology;
  TUTTI_RETURN_IF_ERROR(topologyFromHwTree(machine, &topology));
  bool nvmlDescribed = false;
  if (options.useNvml) {
    std::vector<NvmlGpu> gpus;
    std::string why;
    nvmlDescribed = queryNvmlGpus(&gpus, &why);
    if (nvmlDescribed) {
      applyNvml(gpus, &topology);
    } else {
      TUTTI_INFO(kLogInit, "topology: no NVML ({})", why);
    }
  }
  if (options.useCuda && gpusNeedCuda(topology, nvmlDescribed)) {
    std::vector<CudaGpu> gpus;
    std::string why;
    if (queryCudaGpus(&gpus, &why)) {
      TUTTI_INFO(kLogInit, "topology: the CUDA driver sees {} GPU(s)", gpus.size());
      mergeCudaGpus(gpus, &topology);
    } else {
      TUTTI_INFO(kLogInit, "topology: no CUDA driver ({})", why);
    }
  }
  if (options.useVerbs) {
    std::vector<VerbsDevice> devices;
    std::string why;
    if (queryVerbsDevices(&devices, &why)) {
      TUTTI_INFO(kLogInit, "topology: libibverbs lists {} device(s)", devices.size());
      mergeVerbsDevices(devices, &topology);
    } else {
      TUTTI_INFO(kLogInit, "topology: no verbs ({}); NIC ports from sysfs only", why);
    }
  }
  *out = std::move(topology);
  return Status::ok();
}

}  // namespace tutti::topo
