#include "topo/describe.h"

#include <fmt/format.h>

#include <vector>

#include "topo/paths.h"

namespace tutti::topo {
namespace {

std::string gbps(double value) { return fmt::format("{:.4g} GB/s", value); }

std::string linkText(const Link& link) {
  switch (link.kind) {
    case LinkKind::kPcie: {
      std::string shape;
      if (link.pcieGen > 0) shape += fmt::format(" Gen{}", link.pcieGen);
      if (link.pcieWidth > 0) shape += fmt::format(" x{}", link.pcieWidth);
      return fmt::format("PCIe{}, {}", shape, gbps(link.bandwidthGBps));
    }
    case LinkKind::kNvlink:
      return fmt::format("NVLink x{}, {}", link.nvlinkCount, gbps(link.bandwidthGBps));
    case LinkKind::kInterSocket:
      return fmt::format("inter-socket, {}", gbps(link.bandwidthGBps));
  }
  return "";
}

std::string nodeText(const Node& node) {
  std::string text = node.name;
  if (!node.busId.empty()) text += " " + node.busId;
  switch (node.kind) {
    case NodeKind::kCpu:
      text += fmt::format(" NUMA {}", node.numaId);
      if (node.puCount > 0) text += fmt::format(", {} PUs", node.puCount);
      if (!node.cpuVendor.empty()) text += ", " + node.cpuVendor;
      if (node.cpuFamily >= 0 && node.cpuModel >= 0) {
        text += fmt::format(" family {} model {}", node.cpuFamily, node.cpuModel);
      }
      break;
    case NodeKind::kGpu:
      text += " GPU";
      if (node.sm > 0) text += fmt::format(" sm {}", node.sm);
      if (node.gpuIndex >= 0) text += fmt::format(" index {}", node.gpuIndex);
      break;
    case NodeKind::kNic:
      text += " NIC";
      if (!node.netName.empty()) text += " " + node.netName;
      if (node.fabric != NicFabric::kUnknown)
        text += fmt::format(" {}", nicFabricName(node.fabric));
      text += node.speedMbps > 0 ? fmt::format(" {:g} Gb/s", node.speedMbps / 1000.0)
                                 : std::string(" speed unknown");
      if (node.ports != 1) text += fmt::format(" x{} ports", node.ports);
      break;
    case NodeKind::kPciSwitch:
      text += " PCIe switch";
      break;
    case NodeKind::kNvSwitch:
      text += " NVSwitch";
      break;
  }
  return text;
}

void appendPcieTree(const Topology& topology, int node, int depth, std::vector<char>* shown,
                    std::string* out) {
  (*shown)[node] = 1;
  for (int l : topology.linksOf(node)) {
    const Link& link = topology.links[l];
    if (link.kind != LinkKind::kPcie || link.a != node || (*shown)[link.b]) continue;
    *out += fmt::format("{:{}}{}  [{}]\n", "", 2 * depth, nodeText(topology.nodes[link.b]),
                        linkText(link));
    appendPcieTree(topology, link.b, depth + 1, shown, out);
  }
}

void appendHost(const Topology& topology, int host, std::string* out) {
  *out += fmt::format("host {}\n", host);
  std::vector<char> shown(topology.nodes.size(), 0);
  for (int cpu : topology.nodesOf(NodeKind::kCpu, host)) {
    *out += fmt::format("  {}\n", nodeText(topology.nodes[cpu]));
    appendPcieTree(topology, cpu, 2, &shown, out);
  }
  for (size_t i = 0; i < topology.nodes.size(); ++i) {
    if (topology.nodes[i].host == host && !shown[i] && topology.nodes[i].kind != NodeKind::kCpu) {
      bool nvswitch = topology.nodes[i].kind == NodeKind::kNvSwitch;
      *out += fmt::format("  {}  ({})\n", nodeText(topology.nodes[i]),
                          nvswitch ? "reached by NVLink" : "no PCIe placement");
    }
  }
  for (const Link& link : topology.links) {
    if (link.kind == LinkKind::kPcie || topology.nodes[link.a].host != host) continue;
    *out += fmt::format("  {} - {}  [{}]\n", topology.nodes[link.a].name,
                        topology.nodes[link.b].name, linkText(link));
  }
  for (int gpu : topology.nodesOf(NodeKind::kGpu, host)) {
    Path path;
    int nic = closestNic(topology, gpu, &path);
    if (nic < 0) continue;
    *out += fmt::format("  closest NIC to {}: {} ({}, {}, {} hops)\n", topology.nodes[gpu].name,
                        topology.nodes[nic].name, pathTypeName(path.type), gbps(path.bandwidthGBps),
                        path.hops());
  }
}

}  // namespace

std::string summarizeTopology(const Topology& topology) {
  return fmt::format("hosts {}, NUMA nodes {}, PUs {}, GPUs {}, NICs {}, NVSwitches {}, NVLink {}",
                     topology.hostCount(), topology.numaCount(), topology.puCount(),
                     topology.gpuCount(), topology.nicCount(), topology.count(NodeKind::kNvSwitch),
                     topology.hasNvlink() ? "yes" : "no");
}

std::string describeTopology(const Topology& topology) {
  std::string out = summarizeTopology(topology) + "\n";
  Topology first = extractHost(topology, 0);
  for (int host = 0; host < topology.hostCount(); ++host) {
    if (host > 0 && extractHost(topology, host) == first) {
      out += fmt::format("host {}: like host 0\n", host);
    } else {
      appendHost(topology, host, &out);
    }
  }
  return out;
}

}  // namespace tutti::topo
