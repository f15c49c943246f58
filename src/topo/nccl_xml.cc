#include "topo/nccl_xml.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>

#include "topo/builder.h"
#include "topo/file_limits.h"
#include "topo/link_model.h"

namespace tutti::topo {
namespace {

// NCCL's NVLink target classes (src/graph/topo.cc kvDictPciClass): the full 24-bit class.
constexpr int kTargetNvSwitch = 0x068000;
constexpr int kTargetCpu = 0x068001;

// Integers as NCCL writes them: decimal, or hexadecimal with 0x. fallback when absent, bad or
// outside int's range (every field Tutti keeps from them is an int but NIC speed).
int64_t attrInt(const XmlElement& element, const char* key, int64_t fallback) {
  const std::string* text = element.attribute(key);
  if (text == nullptr || text->empty()) return fallback;
  bool hex = text->compare(0, 2, "0x") == 0 || text->compare(0, 2, "0X") == 0;
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(text->c_str(), &end, hex ? 16 : 10);
  if (*end != '\0' || errno != 0) return fallback;
  return value;
}

int intAttr(const XmlElement& element, const char* key, int fallback) {
  int64_t value = attrInt(element, key, fallback);
  return value >= INT32_MIN && value <= INT32_MAX ? static_cast<int>(value) : fallback;
}

double attrDouble(const XmlElement& element, const char* key, double fallback) {
  const std::string* text = element.attribute(key);
  if (text == nullptr || text->empty()) return fallback;
  char* end = nullptr;
  double value = std::strtod(text->c_str(), &end);
  return *end == '\0' ? value : fallback;
}

const XmlElement* child(const XmlElement& element, const char* name) {
  for (const XmlElement& c : element.children) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// 16-bit class (base << 8 | subclass) of "0x030200" or "0x0302".
int pciClass16(const XmlElement& pci) {
  int64_t value = attrInt(pci, "class", -1);
  if (value < 0) return -1;
  return static_cast<int>(value > 0xffff ? value >> 8 : value);
}

PciRole roleOf(const XmlElement& pci) {
  if (child(pci, "gpu") != nullptr) return PciRole::kGpu;
  if (child(pci, "nic") != nullptr) return PciRole::kNic;
  return classifyPci(pciClass16(pci), intAttr(pci, "vendor", -1));
}

bool leadsToDevice(const XmlElement& pci) {
  PciRole role = roleOf(pci);
  if (role == PciRole::kGpu || role == PciRole::kNic || role == PciRole::kNvSwitch) return true;
  for (const XmlElement& c : pci.children) {
    if (c.name == "pci" && leadsToDevice(c)) return true;
  }
  return false;
}

// Ports of a <nic>: names, the fastest speed, latency.
void describeNic(const XmlElement* nic, Node* node) {
  if (nic == nullptr) return;
  std::vector<std::string> names;
  int ports = 0;
  for (const XmlElement& net : nic->children) {
    if (net.name != "net") continue;
    ++ports;
    std::string name = net.attributeOr("name", "");
    if (!name.empty()) names.push_back(name);
    node->speedMbps = std::max<int64_t>(node->speedMbps, attrInt(net, "speed", 0));
    double latency = attrDouble(net, "latency", 0);
    if (latency > 0) node->netLatencyUs = latency;
  }
  node->ports = std::max(ports, 1);
  node->netName.clear();
  for (const std::string& name : names) node->netName += (node->netName.empty() ? "" : ",") + name;
}

// Elements of a name in a document, counted before any is loaded: NVLinks are resolved against
// every node, so their number and the nodes' bound the loader's work.
int countElements(const XmlElement& element, const char* name) {
  int count = element.name == name ? 1 : 0;
  for (const XmlElement& c : element.children) count += countElements(c, name);
  return count;
}

// NCCL's dumps have one <pci> per bridge and device and a few <nvlink> per GPU; these bound a
// file of many hosts (NCCL itself stops at 1,024 nodes of a kind, NCCL_TOPO_MAX_NODES).
constexpr int kMaxNcclPciElements = 16384;
constexpr int kMaxNcclNvlinkElements = 16384;
constexpr int kMaxNcclCpuElements = 4096;

struct PendingNvlink {
  int host;
  int gpu;
  std::string target;
  int targetClass;
  int count;
};

class Loader {
 public:
  explicit Loader(Topology* topology) : topology_(topology) {}

  Status load(const XmlElement& root) {
    if (root.name != "system") {
      return makeError(tuttiInvalidArgument,
                       "NCCL topology XML: the root element is <{}>, expected <system>", root.name);
    }
    int cpus = countElements(root, "cpu");
    int pcis = countElements(root, "pci"), nvlinks = countElements(root, "nvlink");
    if (cpus > kMaxNcclCpuElements || pcis > kMaxNcclPciElements ||
        nvlinks > kMaxNcclNvlinkElements) {
      return makeError(tuttiInvalidArgument,
                       "NCCL topology XML: {} <cpu>, {} <pci> and {} <nvlink> elements, more than "
                       "the {}, {} and {} a file may have",
                       cpus, pcis, nvlinks, kMaxNcclCpuElements, kMaxNcclPciElements,
                       kMaxNcclNvlinkElements);
    }
    for (const XmlElement& cpu : root.children) {
      if (cpu.name == "cpu") TUTTI_RETURN_IF_ERROR(addCpu(cpu));
    }
    for (const PendingNvlink& nvlink : nvlinks_) addNvlink(nvlink);
    for (auto& builder : builders_) builder->connectSockets();
    return Status::ok();
  }

 private:
  TopologyBuilder& builderFor(const XmlElement& cpu) {
    std::string hash = cpu.attributeOr("host_hash", "");
    auto found = hostOfHash_.find(hash);
    if (found == hostOfHash_.end()) {
      found = hostOfHash_.emplace(hash, static_cast<int>(builders_.size())).first;
      builders_.push_back(std::make_unique<TopologyBuilder>(topology_, found->second));
    }
    return *builders_[found->second];
  }

  Status addCpu(const XmlElement& element) {
    TopologyBuilder& builder = builderFor(element);
    if (topology_->count(NodeKind::kCpu, builder.host()) >= kMaxCpusPerHost) {
      return makeError(tuttiInvalidArgument,
                       "NCCL topology XML line {}: more than {} <cpu> elements on one host",
                       element.line, kMaxCpusPerHost);
    }
    int ordinal = topology_->count(NodeKind::kCpu, builder.host());
    int pus = countMaskBits(element.attributeOr("affinity", ""));
    int cpu = builder.addCpu(intAttr(element, "numaid", ordinal), std::max(pus, 0),
                             element.attributeOr("vendor", ""), intAttr(element, "familyid", -1),
                             intAttr(element, "modelid", -1));
    for (const XmlElement& c : element.children) {
      if (c.name == "pci") TUTTI_RETURN_IF_ERROR(addPci(c, cpu, builder));
      if (c.name == "nic") {
        // A NIC NCCL knows only by its network properties: no PCIe placement.
        Node nic;
        nic.kind = NodeKind::kNic;
        describeNic(&c, &nic);
        builder.addPcieChild(cpu, std::move(nic), PcieLinkSpec());
      }
    }
    return Status::ok();
  }

  Status addPci(const XmlElement& pci, int parent, TopologyBuilder& builder) {
    const std::string* busIdText = pci.attribute("busid");
    if (busIdText == nullptr) {
      return makeError(tuttiInvalidArgument, "NCCL topology XML line {}: <pci> without busid",
                       pci.line);
    }
    PcieLinkSpec link;
    link.gen = pcieGenFromLinkSpeed(pci.attributeOr("link_speed", ""));
    // PCIe links are at most 32 lanes; anything else is unknown (NCCL: 0 counts as 16).
    int64_t width = attrInt(pci, "link_width", 0);
    link.width = width > 0 && width <= 32 ? static_cast<int>(width) : 0;
    Node node;
    node.busId = normalizeBusId(*busIdText);
    switch (roleOf(pci)) {
      case PciRole::kGpu: {
        node.kind = NodeKind::kGpu;
        const XmlElement* gpu = child(pci, "gpu");
        if (gpu != nullptr) {
          node.sm = intAttr(*gpu, "sm", 0);
          node.gpuIndex = intAttr(*gpu, "dev", -1);
        }
        int index = builder.addPcieChild(parent, std::move(node), link);
        if (gpu != nullptr) TUTTI_RETURN_IF_ERROR(queueNvlinks(*gpu, index, builder.host()));
        return Status::ok();
      }
      case PciRole::kNic:
        node.kind = NodeKind::kNic;
        node.fabric = fabricOfPciClass(pciClass16(pci));
        describeNic(child(pci, "nic"), &node);
        builder.addPcieChild(parent, std::move(node), link);
        return Status::ok();
      case PciRole::kNvSwitch:
        node.kind = NodeKind::kNvSwitch;
        builder.addPcieChild(parent, std::move(node), link);
        return Status::ok();
      case PciRole::kBridge:
      case PciRole::kOther:
        break;
    }
    if (!leadsToDevice(pci)) return Status::ok();
    node.kind = NodeKind::kPciSwitch;
    int pciSwitch = builder.addPcieChild(parent, std::move(node), link);
    for (const XmlElement& c : pci.children) {
      if (c.name == "pci") TUTTI_RETURN_IF_ERROR(addPci(c, pciSwitch, builder));
    }
    return Status::ok();
  }

  // NVLinks join GPUs that may come later in the file: added once every GPU exists.
  Status queueNvlinks(const XmlElement& gpu, int index, int host) {
    for (const XmlElement& nvlink : gpu.children) {
      if (nvlink.name != "nvlink") continue;
      int64_t count = attrInt(nvlink, "count", 1);
      if (count > kMaxNvlinksPerGpu) {
        return makeError(tuttiInvalidArgument,
                         "NCCL topology XML line {}: nvlink count {} is more than the {} a GPU "
                         "may have",
                         nvlink.line, count, kMaxNvlinksPerGpu);
      }
      PendingNvlink pending;
      pending.host = host;
      pending.gpu = index;
      pending.target = normalizeBusId(nvlink.attributeOr("target", ""));
      pending.targetClass = intAttr(nvlink, "tclass", -1);
      pending.count = static_cast<int>(count);
      if (pending.count > 0) nvlinks_.push_back(pending);
    }
    return Status::ok();
  }

  int localCpu(int node) const {
    for (int hops = 0; hops < 64 && topology_->nodes[node].kind != NodeKind::kCpu; ++hops) {
      int up = -1;
      for (int l : topology_->linksOf(node)) {
        const Link& link = topology_->links[l];
        if (link.kind == LinkKind::kPcie && link.b == node) up = link.a;
      }
      if (up < 0) return -1;
      node = up;
    }
    return topology_->nodes[node].kind == NodeKind::kCpu ? node : -1;
  }

  void addNvlink(const PendingNvlink& nvlink) {
    TopologyBuilder& builder = *builders_[nvlink.host];
    if (nvlink.targetClass == kTargetNvSwitch) {
      builder.addNvlink(nvlink.gpu, builder.nvSwitch(nvlink.target), nvlink.count, false);
    } else if (nvlink.targetClass == kTargetCpu) {
      int cpu = localCpu(nvlink.gpu);
      if (cpu >= 0) builder.addNvlink(nvlink.gpu, cpu, nvlink.count, false);
    } else {
      // A GPU peer: both GPUs list the same bundle.
      int peer = topology_->findBusId(nvlink.host, nvlink.target);
      if (peer >= 0 && topology_->nodes[peer].kind == NodeKind::kGpu) {
        builder.addNvlink(nvlink.gpu, peer, nvlink.count, true);
      }
    }
  }

  Topology* topology_;
  std::map<std::string, int> hostOfHash_;
  std::vector<std::unique_ptr<TopologyBuilder>> builders_;
  std::vector<PendingNvlink> nvlinks_;
};

}  // namespace

Status topologyFromNcclXml(const XmlElement& root, Topology* out) {
  Topology topology;
  TUTTI_RETURN_IF_ERROR(Loader(&topology).load(root));
  TUTTI_RETURN_IF_ERROR(checkTopologyLimits(topology, "NCCL topology XML"));
  groupByHost(&topology);  // NVLinks and sockets were added after every host's PCIe tree
  *out = std::move(topology);
  return Status::ok();
}

}  // namespace tutti::topo
