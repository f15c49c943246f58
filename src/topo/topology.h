// The system model: a graph of the parts of a host that matter to collectives (CPUs as NUMA
// nodes, PCIe switches, GPUs, NICs, NVSwitches) joined by links (PCIe, NVLink, the link between
// sockets). A Topology may hold several hosts (a cluster); links never cross hosts: the network
// between hosts is each NIC's speed.
//
// Units: bandwidth in GB/s (10^9 bytes per second, each direction), latency in microseconds,
// NIC speed in Mb/s (10^6 bits per second, as /sys/class/net and NCCL's XML write it).
// Bandwidths are NCCL's effective figures (link_model.h), not signalling rates.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tutti::topo {

enum class NodeKind { kCpu, kPciSwitch, kGpu, kNic, kNvSwitch };
enum class LinkKind { kPcie, kNvlink, kInterSocket };
enum class NicFabric { kUnknown, kEthernet, kInfiniband };

// The words the Tutti text format and tutti-topo use: "cpu", "pci", "gpu", "nic", "nvswitch";
// "pcie", "nvlink", "sys"; "unknown", "eth", "ib".
const char* nodeKindName(NodeKind kind);
const char* linkKindName(LinkKind kind);
const char* nicFabricName(NicFabric fabric);
bool parseNodeKind(const std::string& text, NodeKind* kind);
bool parseLinkKind(const std::string& text, LinkKind* kind);
bool parseNicFabric(const std::string& text, NicFabric* fabric);

// One part of a host. Fields that do not apply to the node's kind keep their defaults.
struct Node {
  NodeKind kind = NodeKind::kCpu;
  std::string name;   // unique within its host: "cpu0", "gpu3", "nic1"
  int host = 0;       // the host's index in a cluster, 0..hostCount()-1
  std::string busId;  // PCI address "0000:1b:00.0" (lower case); empty when none or unknown

  // kCpu: one node per NUMA node.
  int numaId = -1;        // the NUMA node's OS index
  int puCount = 0;        // logical processors (hardware threads) local to it; 0: unknown
  std::string cpuVendor;  // CPUID vendor, "GenuineIntel" or "AuthenticAMD"; empty: unknown
  int cpuFamily = -1;     // CPUID family and model (decimal); -1: unknown
  int cpuModel = -1;

  // kGpu
  int sm = 0;         // compute capability x 10 (80 A100, 90 H100); 0: unknown
  int gpuIndex = -1;  // device index in NVML/CUDA order; -1: unknown

  // kNic: one node per network PCI function.
  std::string netName;    // its interfaces, comma-separated ("mlx5_0", "mlx4_0,ib0,eth2")
  int64_t speedMbps = 0;  // per port; 0: unknown
  int ports = 1;
  NicFabric fabric = NicFabric::kUnknown;
  double netLatencyUs = 0;  // one hop through the network from this NIC

  bool operator==(const Node& other) const;
  bool operator!=(const Node& other) const { return !(*this == other); }
};

// An undirected link between two nodes of the same host. For PCIe, `a` is the upstream end
// (nearer the CPU).
struct Link {
  int a = -1;  // node indices
  int b = -1;
  LinkKind kind = LinkKind::kPcie;
  double bandwidthGBps = 0;
  double latencyUs = 0;
  int pcieGen = 0;      // kPcie: generation 1..6, 0: unknown
  int pcieWidth = 0;    // kPcie: lanes, 0: unknown
  int nvlinkCount = 0;  // kNvlink: NVLinks bundled in this link

  bool operator==(const Link& other) const;
  bool operator!=(const Link& other) const { return !(*this == other); }
};

struct Topology {
  std::vector<Node> nodes;
  std::vector<Link> links;

  // Appends and returns the index.
  int addNode(Node node);
  int addLink(Link link);

  // -1 when absent.
  int findNode(int host, const std::string& name) const;
  int findBusId(int host, const std::string& busId) const;

  // Hosts are numbered 0..hostCount()-1; an empty topology has none.
  int hostCount() const;
  // Nodes of a kind on one host, or on all hosts when host is -1.
  int count(NodeKind kind, int host = -1) const;
  std::vector<int> nodesOf(NodeKind kind, int host = -1) const;
  int gpuCount(int host = -1) const { return count(NodeKind::kGpu, host); }
  int nicCount(int host = -1) const { return count(NodeKind::kNic, host); }
  int numaCount(int host = -1) const { return count(NodeKind::kCpu, host); }
  int puCount(int host = -1) const;  // sum over CPU nodes; 0 when unknown
  bool hasNvlink(int host = -1) const;

  // Indices of the links that touch a node.
  std::vector<int> linksOf(int node) const;
  // The node at the other end of link from node.
  int otherEnd(const Link& link, int node) const { return link.a == node ? link.b : link.a; }

  // Same nodes and links in the same order.
  bool operator==(const Topology& other) const;
  bool operator!=(const Topology& other) const { return !(*this == other); }
};

// The node name a loader gives the index-th node of a kind: "cpu0", "pci3", "gpu1", "nic2",
// "nvs0".
std::string defaultNodeName(NodeKind kind, int index);

// Orders nodes and links by host, keeping their order within each host (the form serialize()
// keeps: parse(serialize(t)) == t holds for topologies in this form).
void groupByHost(Topology* topology);

// One topology holding the given single-host topologies as hosts 0..n-1, in order (what a
// communicator builds from every rank's serialized view). Each input's nodes must all be on
// host 0.
Topology combineHosts(const std::vector<Topology>& hosts);
// A cluster of count identical hosts.
Topology replicateHosts(const Topology& host, int count);
// The nodes and links of one host, renumbered as host 0.
Topology extractHost(const Topology& topology, int host);

}  // namespace tutti::topo
