#include "topo/builder.h"

#include <algorithm>
#include <cctype>

#include "base/log.h"
#include "topo/link_model.h"

namespace tutti::topo {

PciRole classifyPci(int pciClass, int vendor) {
  bool nvidiaOrUnknown = vendor < 0 || vendor == kPciVendorNvidia;
  if (pciClass == 0x0604) return PciRole::kBridge;
  if (pciClass == 0x0302) return PciRole::kGpu;
  if (pciClass == 0x0300 && nvidiaOrUnknown) return PciRole::kGpu;
  if ((pciClass >> 8) == 0x02 || pciClass == 0x0c06) return PciRole::kNic;
  if (pciClass == 0x0680 && nvidiaOrUnknown) return PciRole::kNvSwitch;
  return PciRole::kOther;
}

NicFabric fabricOfPciClass(int pciClass) {
  if (pciClass == 0x0207 || pciClass == 0x0c06) return NicFabric::kInfiniband;
  if (pciClass == 0x0200) return NicFabric::kEthernet;
  return NicFabric::kUnknown;
}

int countMaskBits(const std::string& mask) {
  if (mask.empty() || mask.find("f...f") != std::string::npos) return -1;
  int bits = 0;
  size_t start = 0;
  while (start <= mask.size()) {
    size_t end = std::min(mask.find(',', start), mask.size());
    std::string chunk = mask.substr(start, end - start);
    if (chunk.compare(0, 2, "0x") == 0 || chunk.compare(0, 2, "0X") == 0) chunk.erase(0, 2);
    for (char c : chunk) {
      int digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                  : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                              : -1;
      if (digit < 0) return -1;
      bits += __builtin_popcount(static_cast<unsigned>(digit));
    }
    start = end + 1;
  }
  return bits;
}

std::string normalizeBusId(const std::string& busId) {
  // domain:bus:device.function with a 4- or 8-digit domain.
  size_t colon = busId.find(':');
  if (colon == std::string::npos || busId.size() - colon != 8) return busId;
  std::string result = busId;
  if (colon == 8 && result.compare(0, 4, "0000") == 0) result.erase(0, 4);
  std::transform(result.begin(), result.end(), result.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return result;
}

std::string tokenSafe(std::string text) {
  for (char& c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '#' || c == '=') c = '_';
  }
  return text;
}

TopologyBuilder::TopologyBuilder(Topology* topology, int host) : topology_(topology), host_(host) {
  for (const Node& node : topology->nodes) {
    if (node.host == host) ++named_[static_cast<int>(node.kind)];
  }
}

std::string TopologyBuilder::nextName(NodeKind kind) {
  return defaultNodeName(kind, named_[static_cast<int>(kind)]++);
}

int TopologyBuilder::addCpu(int numaId, int puCount, const std::string& vendor, int family,
                            int model) {
  Node cpu;
  cpu.kind = NodeKind::kCpu;
  cpu.name = nextName(NodeKind::kCpu);
  cpu.host = host_;
  // A file may hold any integer; what Tutti's format cannot say is unknown, so dumps reload.
  cpu.numaId = std::max(numaId, -1);
  cpu.puCount = std::max(puCount, 0);
  cpu.cpuVendor = tokenSafe(vendor);
  cpu.cpuFamily = std::max(family, -1);
  cpu.cpuModel = std::max(model, -1);
  return topology_->addNode(std::move(cpu));
}

int TopologyBuilder::addPcieChild(int parent, Node node, const PcieLinkSpec& spec) {
  node.name = nextName(node.kind);
  node.host = host_;
  node.busId = tokenSafe(node.busId);
  node.sm = std::max(node.sm, 0);
  node.gpuIndex = std::max(node.gpuIndex, -1);
  node.speedMbps = std::max<int64_t>(node.speedMbps, 0);
  node.ports = std::max(node.ports, 1);
  node.netName = tokenSafe(node.netName);
  if (node.kind == NodeKind::kNic && node.netLatencyUs == 0) node.netLatencyUs = kNetLatencyUs;
  int index = topology_->addNode(std::move(node));
  Link link;
  link.a = parent;
  link.b = index;
  link.kind = LinkKind::kPcie;
  link.pcieGen = spec.gen >= 0 && spec.gen <= kPcieMaxGeneration ? spec.gen : 0;
  link.pcieWidth = std::max(spec.width, 0);
  link.bandwidthGBps =
      spec.bandwidthGBps > 0 ? spec.bandwidthGBps : pcieBandwidthGBps(spec.gen, spec.width);
  link.latencyUs = kPcieLatencyUs;
  topology_->addLink(link);
  return index;
}

int TopologyBuilder::nvSwitch(const std::string& rawBusId) {
  std::string busId = tokenSafe(rawBusId);  // as addPcieChild keeps bus ids: one token
  int existing = topology_->findBusId(host_, busId);
  if (existing >= 0) return existing;
  Node node;
  node.kind = NodeKind::kNvSwitch;
  node.name = nextName(NodeKind::kNvSwitch);
  node.host = host_;
  node.busId = busId;
  return topology_->addNode(std::move(node));
}

void TopologyBuilder::addNvlink(int a, int b, int count, bool mergeSameCount) {
  if (a == b) {
    // Published dumps have GPUs listing their own bus id as an NVLink target; a link from a node
    // to itself means nothing to a path, and Tutti's format refuses it, so that the dump of such
    // a file would not reload.
    TUTTI_WARN(kLogInit, "topology: dropped an NVLink from {} ({}) to itself",
               topology_->nodes[a].name, topology_->nodes[a].busId);
    return;
  }
  const Node& nodeA = topology_->nodes[a];
  const Node& nodeB = topology_->nodes[b];
  int sm = nodeA.kind == NodeKind::kGpu ? nodeA.sm : nodeB.kind == NodeKind::kGpu ? nodeB.sm : 0;
  for (Link& link : topology_->links) {
    bool same = link.kind == LinkKind::kNvlink &&
                ((link.a == a && link.b == b) || (link.a == b && link.b == a));
    if (!same) continue;
    link.nvlinkCount =
        mergeSameCount ? std::max(link.nvlinkCount, count) : link.nvlinkCount + count;
    link.bandwidthGBps = nvlinkBandwidthGBps(sm, link.nvlinkCount);
    return;
  }
  Link link;
  link.a = a;
  link.b = b;
  link.kind = LinkKind::kNvlink;
  link.nvlinkCount = count;
  link.bandwidthGBps = nvlinkBandwidthGBps(sm, count);
  link.latencyUs = kNvlinkLatencyUs;
  topology_->addLink(link);
}

void TopologyBuilder::connectSockets() {
  std::vector<int> cpus = topology_->nodesOf(NodeKind::kCpu, host_);
  for (size_t i = 0; i < cpus.size(); ++i) {
    for (size_t j = i + 1; j < cpus.size(); ++j) {
      const Node& cpu = topology_->nodes[cpus[i]];
      Link link;
      link.a = cpus[i];
      link.b = cpus[j];
      link.kind = LinkKind::kInterSocket;
      link.bandwidthGBps = interSocketBandwidthGBps(cpu.cpuVendor, cpu.cpuFamily, cpu.cpuModel);
      link.latencyUs = kInterSocketLatencyUs;
      topology_->addLink(link);
    }
  }
}

}  // namespace tutti::topo
