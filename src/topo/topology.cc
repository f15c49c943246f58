#include "topo/topology.h"

#include <algorithm>

namespace tutti::topo {

const char* nodeKindName(NodeKind kind) {
  switch (kind) {
    case NodeKind::kCpu:
      return "cpu";
    case NodeKind::kPciSwitch:
      return "pci";
    case NodeKind::kGpu:
      return "gpu";
    case NodeKind::kNic:
      return "nic";
    case NodeKind::kNvSwitch:
      return "nvswitch";
  }
  return "?";
}

const char* linkKindName(LinkKind kind) {
  switch (kind) {
    case LinkKind::kPcie:
      return "pcie";
    case LinkKind::kNvlink:
      return "nvlink";
    case LinkKind::kInterSocket:
      return "sys";
  }
  return "?";
}

const char* nicFabricName(NicFabric fabric) {
  switch (fabric) {
    case NicFabric::kUnknown:
      return "unknown";
    case NicFabric::kEthernet:
      return "eth";
    case NicFabric::kInfiniband:
      return "ib";
  }
  return "?";
}

bool parseNodeKind(const std::string& text, NodeKind* kind) {
  for (NodeKind k : {NodeKind::kCpu, NodeKind::kPciSwitch, NodeKind::kGpu, NodeKind::kNic,
                     NodeKind::kNvSwitch}) {
    if (text == nodeKindName(k)) {
      *kind = k;
      return true;
    }
  }
  return false;
}

bool parseLinkKind(const std::string& text, LinkKind* kind) {
  for (LinkKind k : {LinkKind::kPcie, LinkKind::kNvlink, LinkKind::kInterSocket}) {
    if (text == linkKindName(k)) {
      *kind = k;
      return true;
    }
  }
  return false;
}

bool parseNicFabric(const std::string& text, NicFabric* fabric) {
  for (NicFabric f : {NicFabric::kUnknown, NicFabric::kEthernet, NicFabric::kInfiniband}) {
    if (text == nicFabricName(f)) {
      *fabric = f;
      return true;
    }
  }
  return false;
}

bool Node::operator==(const Node& o) const {
  return kind == o.kind && name == o.name && host == o.host && busId == o.busId &&
         numaId == o.numaId && puCount == o.puCount && cpuVendor == o.cpuVendor &&
         cpuFamily == o.cpuFamily && cpuModel == o.cpuModel && sm == o.sm &&
         gpuIndex == o.gpuIndex && netName == o.netName && speedMbps == o.speedMbps &&
         ports == o.ports && fabric == o.fabric && netLatencyUs == o.netLatencyUs;
}

bool Link::operator==(const Link& o) const {
  return a == o.a && b == o.b && kind == o.kind && bandwidthGBps == o.bandwidthGBps &&
         latencyUs == o.latencyUs && pcieGen == o.pcieGen && pcieWidth == o.pcieWidth &&
         nvlinkCount == o.nvlinkCount;
}

int Topology::addNode(Node node) {
  nodes.push_back(std::move(node));
  return static_cast<int>(nodes.size()) - 1;
}

int Topology::addLink(Link link) {
  links.push_back(link);
  return static_cast<int>(links.size()) - 1;
}

int Topology::findNode(int host, const std::string& name) const {
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].host == host && nodes[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int Topology::findBusId(int host, const std::string& busId) const {
  if (busId.empty()) return -1;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].host == host && nodes[i].busId == busId) return static_cast<int>(i);
  }
  return -1;
}

int Topology::hostCount() const {
  int hosts = 0;
  for (const Node& node : nodes) hosts = std::max(hosts, node.host + 1);
  return hosts;
}

int Topology::count(NodeKind kind, int host) const {
  return static_cast<int>(nodesOf(kind, host).size());
}

std::vector<int> Topology::nodesOf(NodeKind kind, int host) const {
  std::vector<int> result;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].kind == kind && (host < 0 || nodes[i].host == host)) {
      result.push_back(static_cast<int>(i));
    }
  }
  return result;
}

int Topology::puCount(int host) const {
  int total = 0;
  for (int cpu : nodesOf(NodeKind::kCpu, host)) total += nodes[cpu].puCount;
  return total;
}

bool Topology::hasNvlink(int host) const {
  for (const Link& link : links) {
    if (link.kind == LinkKind::kNvlink && (host < 0 || nodes[link.a].host == host)) return true;
  }
  return false;
}

std::vector<int> Topology::linksOf(int node) const {
  std::vector<int> result;
  for (size_t i = 0; i < links.size(); ++i) {
    if (links[i].a == node || links[i].b == node) result.push_back(static_cast<int>(i));
  }
  return result;
}

bool Topology::operator==(const Topology& other) const {
  return nodes == other.nodes && links == other.links;
}

std::string defaultNodeName(NodeKind kind, int index) {
  const char* prefix = kind == NodeKind::kNvSwitch ? "nvs" : nodeKindName(kind);
  return prefix + std::to_string(index);
}

void groupByHost(Topology* topology) {
  std::vector<int> order(topology->nodes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(), [topology](int a, int b) {
    return topology->nodes[a].host < topology->nodes[b].host;
  });
  std::vector<int> newIndex(order.size());
  std::vector<Node> nodes;
  nodes.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    newIndex[order[i]] = static_cast<int>(i);
    nodes.push_back(std::move(topology->nodes[order[i]]));
  }
  for (Link& link : topology->links) {
    link.a = newIndex[link.a];
    link.b = newIndex[link.b];
  }
  topology->nodes = std::move(nodes);
  std::stable_sort(topology->links.begin(), topology->links.end(),
                   [topology](const Link& a, const Link& b) {
                     return topology->nodes[a.a].host < topology->nodes[b.a].host;
                   });
}

Topology combineHosts(const std::vector<Topology>& hosts) {
  Topology cluster;
  for (size_t h = 0; h < hosts.size(); ++h) {
    int base = static_cast<int>(cluster.nodes.size());
    for (Node node : hosts[h].nodes) {
      node.host = static_cast<int>(h);
      cluster.addNode(std::move(node));
    }
    for (Link link : hosts[h].links) {
      link.a += base;
      link.b += base;
      cluster.addLink(link);
    }
  }
  return cluster;
}

Topology replicateHosts(const Topology& host, int count) {
  return combineHosts(std::vector<Topology>(count > 0 ? count : 0, host));
}

Topology extractHost(const Topology& topology, int host) {
  Topology result;
  std::vector<int> newIndex(topology.nodes.size(), -1);
  for (size_t i = 0; i < topology.nodes.size(); ++i) {
    if (topology.nodes[i].host != host) continue;
    Node node = topology.nodes[i];
    node.host = 0;
    newIndex[i] = result.addNode(std::move(node));
  }
  for (Link link : topology.links) {
    if (newIndex[link.a] < 0) continue;
    link.a = newIndex[link.a];
    link.b = newIndex[link.b];
    result.addLink(link);
  }
  return result;
}

}  // namespace tutti::topo
