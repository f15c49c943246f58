#include "topo/detect.h"

#include <vector>

#include "core/log.h"
#include "topo/builder.h"
#include "topo/hw_tree.h"
#include "topo/hwloc_probe.h"
#include "topo/nvml_probe.h"

namespace tutti::topo {
namespace {

// NVML knows what PCI does not: each GPU's SM generation, its index, and its NVLinks.
void applyNvml(const std::vector<NvmlGpu>& gpus, Topology* topology) {
  TopologyBuilder builder(topology, 0);
  std::vector<int> cpus = topology->nodesOf(NodeKind::kCpu, 0);
  std::vector<int> nodeOfGpu;
  for (const NvmlGpu& gpu : gpus) {
    int node = topology->findBusId(0, gpu.busId);
    if (node < 0 && !cpus.empty()) {
      // Not in the PCI tree (hidden from hwloc or sysfs): placed under the first CPU.
      Node missing;
      missing.kind = NodeKind::kGpu;
      missing.busId = gpu.busId;
      node = builder.addPcieChild(cpus.front(), std::move(missing), PcieLinkSpec());
    }
    if (node >= 0 && topology->nodes[node].kind == NodeKind::kGpu) {
      topology->nodes[node].sm = gpu.sm;
      topology->nodes[node].gpuIndex = gpu.index;
    } else {
      node = -1;
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

}  // namespace

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
  if (options.useNvml) {
    std::vector<NvmlGpu> gpus;
    std::string why;
    if (queryNvmlGpus(&gpus, &why)) {
      applyNvml(gpus, &topology);
    } else {
      TUTTI_INFO(kLogInit, "topology: no NVML ({}); GPUs known by PCI class only", why);
    }
  }
  *out = std::move(topology);
  return Status::ok();
}

}  // namespace tutti::topo
