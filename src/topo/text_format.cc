#include "topo/text_format.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <limits>
#include <map>
#include <sstream>
#include <unordered_map>

#include "topo/file_limits.h"
#include "topo/link_model.h"

namespace tutti::topo {
namespace {

// A cluster larger than this is a typo, not a machine.
constexpr int64_t kMaxHosts = 1 << 16;

// Node attributes by kind (the keys a line may use); see docs/topology.md.
bool keyAllowed(NodeKind kind, const std::string& key) {
  if (key == "busid") return true;
  switch (kind) {
    case NodeKind::kCpu:
      return key == "numa" || key == "pus" || key == "vendor" || key == "family" || key == "model";
    case NodeKind::kGpu:
      return key == "sm" || key == "index";
    case NodeKind::kNic:
      return key == "net" || key == "speed" || key == "ports" || key == "fabric" || key == "lat";
    case NodeKind::kPciSwitch:
    case NodeKind::kNvSwitch:
      return false;
  }
  return false;
}

bool linkKeyAllowed(LinkKind kind, const std::string& key) {
  if (key == "bw" || key == "lat") return true;
  if (kind == LinkKind::kPcie) return key == "gen" || key == "width";
  if (kind == LinkKind::kNvlink) return key == "count";
  return false;
}

bool validName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::string nodeLine(const Node& node) {
  std::string line = fmt::format("node {} {}", node.name, nodeKindName(node.kind));
  if (!node.busId.empty()) line += " busid=" + node.busId;
  switch (node.kind) {
    case NodeKind::kCpu:
      line += fmt::format(" numa={}", node.numaId);
      if (node.puCount > 0) line += fmt::format(" pus={}", node.puCount);
      if (!node.cpuVendor.empty()) line += " vendor=" + node.cpuVendor;
      if (node.cpuFamily >= 0) line += fmt::format(" family={}", node.cpuFamily);
      if (node.cpuModel >= 0) line += fmt::format(" model={}", node.cpuModel);
      break;
    case NodeKind::kGpu:
      if (node.sm > 0) line += fmt::format(" sm={}", node.sm);
      if (node.gpuIndex >= 0) line += fmt::format(" index={}", node.gpuIndex);
      break;
    case NodeKind::kNic:
      if (!node.netName.empty()) line += " net=" + node.netName;
      if (node.speedMbps > 0) line += fmt::format(" speed={}", node.speedMbps);
      if (node.ports != 1) line += fmt::format(" ports={}", node.ports);
      if (node.fabric != NicFabric::kUnknown) {
        line += fmt::format(" fabric={}", nicFabricName(node.fabric));
      }
      line += fmt::format(" lat={}", node.netLatencyUs);
      break;
    case NodeKind::kPciSwitch:
    case NodeKind::kNvSwitch:
      break;
  }
  return line;
}

std::string linkLine(const Topology& topology, const Link& link) {
  std::string line = fmt::format("link {} {} {} bw={} lat={}", topology.nodes[link.a].name,
                                 topology.nodes[link.b].name, linkKindName(link.kind),
                                 link.bandwidthGBps, link.latencyUs);
  if (link.pcieGen > 0) line += fmt::format(" gen={}", link.pcieGen);
  if (link.pcieWidth > 0) line += fmt::format(" width={}", link.pcieWidth);
  if (link.nvlinkCount > 0) line += fmt::format(" count={}", link.nvlinkCount);
  return line;
}

void appendHost(const Topology& topology, int host, std::string* out) {
  for (const Node& node : topology.nodes) {
    if (node.host == host) *out += nodeLine(node) + "\n";
  }
  for (const Link& link : topology.links) {
    if (topology.nodes[link.a].host == host) *out += linkLine(topology, link) + "\n";
  }
}

// One statement: words, with key=value attributes split out.
struct Statement {
  int line = 0;
  std::vector<std::string> words;
  std::vector<std::pair<std::string, std::string>> attributes;
};

Status lineError(int line, const std::string& message) {
  return makeError(tuttiInvalidArgument, "topology text, line {}: {}", line, message);
}

// Most fields are ints: a value past INT_MAX would wrap when stored (fuzz_topology_text found
// numa=03333333333333336 stored as a negative NUMA id that the dump could not reload).
Status parseInt(const Statement& s, const std::string& key, const std::string& value,
                int64_t minValue, int64_t* out,
                int64_t maxValue = std::numeric_limits<int>::max()) {
  errno = 0;
  char* end = nullptr;
  long long parsed = std::strtoll(value.c_str(), &end, 0);
  if (value.empty() || *end != '\0' || errno != 0 || parsed < minValue || parsed > maxValue) {
    return lineError(s.line, fmt::format("{}={}: expected an integer from {} to {}", key, value,
                                         minValue, maxValue));
  }
  *out = parsed;
  return Status::ok();
}

Status parseDouble(const Statement& s, const std::string& key, const std::string& value,
                   double* out) {
  errno = 0;
  char* end = nullptr;
  double parsed = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || errno != 0 || !(parsed >= 0)) {
    return lineError(s.line, fmt::format("{}={}: expected a number >= 0", key, value));
  }
  *out = parsed;
  return Status::ok();
}

// Node indices by host and name: files may hold many nodes, and a linear search per line would
// make reading them quadratic.
class NodeIndex {
 public:
  int find(int host, const std::string& name) const {
    auto found = index_.find(key(host, name));
    return found == index_.end() ? -1 : found->second;
  }
  void add(int host, const std::string& name, int node) { index_[key(host, name)] = node; }

 private:
  static std::string key(int host, const std::string& name) {
    return std::to_string(host) + ' ' + name;
  }
  std::unordered_map<std::string, int> index_;
};

Status parseNode(const Statement& s, int host, int cpuOrdinal, NodeIndex* index,
                 Topology* topology) {
  if (s.words.size() != 3) return lineError(s.line, "expected: node NAME KIND [key=value ...]");
  Node node;
  node.host = host;
  node.name = s.words[1];
  if (!validName(node.name)) {
    return lineError(s.line, fmt::format("bad node name '{}' (letters, digits, _-.:)", node.name));
  }
  if (index->find(host, node.name) >= 0) {
    return lineError(s.line, fmt::format("node '{}' defined twice", node.name));
  }
  if (!parseNodeKind(s.words[2], &node.kind)) {
    return lineError(
        s.line, fmt::format("unknown node kind '{}' (cpu, pci, gpu, nic, nvswitch)", s.words[2]));
  }
  node.numaId = node.kind == NodeKind::kCpu ? cpuOrdinal : -1;
  node.netLatencyUs = node.kind == NodeKind::kNic ? kNetLatencyUs : 0;
  for (const auto& [key, value] : s.attributes) {
    if (!keyAllowed(node.kind, key)) {
      return lineError(s.line, fmt::format("'{}' is not an attribute of a {} node", key,
                                           nodeKindName(node.kind)));
    }
    int64_t number = 0;
    if (key == "busid") {
      node.busId = value;
    } else if (key == "vendor") {
      node.cpuVendor = value;
    } else if (key == "net") {
      node.netName = value;
    } else if (key == "fabric") {
      if (!parseNicFabric(value, &node.fabric)) {
        return lineError(s.line, fmt::format("fabric={}: expected eth, ib or unknown", value));
      }
    } else if (key == "lat") {
      TUTTI_RETURN_IF_ERROR(parseDouble(s, key, value, &node.netLatencyUs));
    } else if (key == "numa" || key == "family" || key == "model" || key == "index") {
      TUTTI_RETURN_IF_ERROR(parseInt(s, key, value, -1, &number));
      int v = static_cast<int>(number);
      if (key == "numa") node.numaId = v;
      if (key == "family") node.cpuFamily = v;
      if (key == "model") node.cpuModel = v;
      if (key == "index") node.gpuIndex = v;
    } else if (key == "pus" || key == "sm" || key == "speed") {
      TUTTI_RETURN_IF_ERROR(parseInt(
          s, key, value, 0, &number,
          key == "speed" ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int>::max()));
      if (key == "pus") node.puCount = static_cast<int>(number);
      if (key == "sm") node.sm = static_cast<int>(number);
      if (key == "speed") node.speedMbps = number;
    } else if (key == "ports") {
      TUTTI_RETURN_IF_ERROR(parseInt(s, key, value, 1, &number));
      node.ports = static_cast<int>(number);
    }
  }
  std::string name = node.name;
  index->add(host, name, topology->addNode(std::move(node)));
  return Status::ok();
}

// The bandwidth a link line leaves out, from what its ends and attributes say.
double derivedBandwidth(const Topology& topology, const Link& link) {
  const Node& a = topology.nodes[link.a];
  const Node& b = topology.nodes[link.b];
  switch (link.kind) {
    case LinkKind::kPcie:
      return pcieBandwidthGBps(link.pcieGen, link.pcieWidth);
    case LinkKind::kNvlink: {
      int sm = a.kind == NodeKind::kGpu ? a.sm : b.kind == NodeKind::kGpu ? b.sm : 0;
      return nvlinkBandwidthGBps(sm, link.nvlinkCount);
    }
    case LinkKind::kInterSocket:
      return interSocketBandwidthGBps(a.cpuVendor, a.cpuFamily, a.cpuModel);
  }
  return 0;
}

double defaultLatency(LinkKind kind) {
  switch (kind) {
    case LinkKind::kPcie:
      return kPcieLatencyUs;
    case LinkKind::kNvlink:
      return kNvlinkLatencyUs;
    case LinkKind::kInterSocket:
      return kInterSocketLatencyUs;
  }
  return 0;
}

Status parseLink(const Statement& s, int host, const NodeIndex& index, Topology* topology) {
  if (s.words.size() != 4)
    return lineError(s.line, "expected: link NAME NAME KIND [key=value ...]");
  Link link;
  link.a = index.find(host, s.words[1]);
  link.b = index.find(host, s.words[2]);
  for (int end : {1, 2}) {
    if ((end == 1 ? link.a : link.b) < 0) {
      return lineError(s.line,
                       fmt::format("no node '{}' (define nodes before their links)", s.words[end]));
    }
  }
  if (link.a == link.b) return lineError(s.line, "a link needs two different nodes");
  if (!parseLinkKind(s.words[3], &link.kind)) {
    return lineError(s.line, fmt::format("unknown link kind '{}' (pcie, nvlink, sys)", s.words[3]));
  }
  if (link.kind == LinkKind::kNvlink) link.nvlinkCount = 1;
  bool bandwidthGiven = false, latencyGiven = false;
  for (const auto& [key, value] : s.attributes) {
    if (!linkKeyAllowed(link.kind, key)) {
      return lineError(s.line, fmt::format("'{}' is not an attribute of a {} link", key,
                                           linkKindName(link.kind)));
    }
    int64_t number = 0;
    if (key == "bw") {
      TUTTI_RETURN_IF_ERROR(parseDouble(s, key, value, &link.bandwidthGBps));
      bandwidthGiven = true;
    } else if (key == "lat") {
      TUTTI_RETURN_IF_ERROR(parseDouble(s, key, value, &link.latencyUs));
      latencyGiven = true;
    } else {
      TUTTI_RETURN_IF_ERROR(parseInt(s, key, value, key == "count" ? 1 : 0, &number));
      if (key == "gen") link.pcieGen = static_cast<int>(number);
      if (key == "width") link.pcieWidth = static_cast<int>(number);
      if (key == "count") link.nvlinkCount = static_cast<int>(number);
    }
  }
  if (link.pcieGen > 6) return lineError(s.line, "gen: PCIe generations are 1..6");
  if (!bandwidthGiven) link.bandwidthGBps = derivedBandwidth(*topology, link);
  if (!latencyGiven) link.latencyUs = defaultLatency(link.kind);
  topology->addLink(link);
  return Status::ok();
}

// The next statement of lines (comments and blank lines skipped); false at the end.
bool nextStatement(std::istringstream& lines, int* lineNumber, Statement* statement) {
  std::string line;
  while (std::getline(lines, line)) {
    ++*lineNumber;
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    std::istringstream words(line);
    *statement = Statement();
    statement->line = *lineNumber;
    std::string word;
    while (words >> word) {
      size_t eq = word.find('=');
      if (eq != std::string::npos && !statement->words.empty()) {
        statement->attributes.emplace_back(word.substr(0, eq), word.substr(eq + 1));
      } else {
        statement->words.push_back(word);
      }
    }
    if (!statement->words.empty() || !statement->attributes.empty()) return true;
  }
  return false;
}

}  // namespace

std::string serialize(const Topology& topology) {
  int hosts = topology.hostCount();
  std::string out = fmt::format(
      "# Tutti topology (docs/topology.md). Bandwidth bw in GB/s per direction, latency lat in "
      "us,\n# NIC speed in Mb/s per port.\ntutti-topology {}\n",
      kTextFormatVersion);
  if (hosts <= 1) {
    appendHost(topology, 0, &out);
    return out;
  }
  Topology first = extractHost(topology, 0);
  bool identical = true;
  for (int h = 1; h < hosts && identical; ++h) identical = extractHost(topology, h) == first;
  if (identical) {
    out += fmt::format("hosts {}  # a cluster of {} hosts like this one\n", hosts, hosts);
    appendHost(first, 0, &out);
    return out;
  }
  for (int h = 0; h < hosts; ++h) {
    out += fmt::format("host {}\n", h);
    appendHost(topology, h, &out);
  }
  return out;
}

Status parse(const std::string& text, Topology* out) {
  if (text.size() > kMaxTopologyFileBytes) {
    return makeError(tuttiInvalidArgument,
                     "topology text: {} bytes, more than the {} a topology file may have",
                     text.size(), kMaxTopologyFileBytes);
  }
  Topology topology;
  std::istringstream lines(text);
  int lineNumber = 0;
  Statement first;
  if (!nextStatement(lines, &lineNumber, &first) || first.words.size() != 2 ||
      first.words[0] != "tutti-topology") {
    return makeError(tuttiInvalidArgument,
                     "topology text: the first statement must be 'tutti-topology {}'",
                     kTextFormatVersion);
  }
  if (first.words[1] != std::to_string(kTextFormatVersion)) {
    return lineError(first.line,
                     fmt::format("format version {} is not supported (this reader knows {})",
                                 first.words[1], kTextFormatVersion));
  }
  int host = 0;
  int replicas = 1;
  bool sawHostSection = false;
  std::map<int, int> cpusOnHost, nodesOnHost;
  NodeIndex index;
  Statement s;
  while (nextStatement(lines, &lineNumber, &s)) {
    const std::string& keyword = s.words.empty() ? std::string() : s.words[0];
    if (keyword == "node") {
      if (topology.nodes.size() >= static_cast<size_t>(kMaxNodesPerFile)) {
        return lineError(s.line, fmt::format("more than {} nodes in one file", kMaxNodesPerFile));
      }
      if (++nodesOnHost[host] > kMaxNodesPerHost) {
        return lineError(s.line,
                         fmt::format("more than {} nodes on host {}", kMaxNodesPerHost, host));
      }
      TUTTI_RETURN_IF_ERROR(parseNode(s, host, cpusOnHost[host], &index, &topology));
      if (topology.nodes.back().kind == NodeKind::kCpu && ++cpusOnHost[host] > kMaxCpusPerHost) {
        return lineError(s.line,
                         fmt::format("more than {} CPU nodes on host {}", kMaxCpusPerHost, host));
      }
    } else if (keyword == "link") {
      if (topology.links.size() >= static_cast<size_t>(kMaxLinksPerFile)) {
        return lineError(s.line, fmt::format("more than {} links in one file", kMaxLinksPerFile));
      }
      TUTTI_RETURN_IF_ERROR(parseLink(s, host, index, &topology));
    } else if (keyword == "hosts" || keyword == "host") {
      int64_t number = 0;
      if (s.words.size() != 2 || !s.attributes.empty()) {
        return lineError(s.line, fmt::format("expected: {} NUMBER", keyword));
      }
      TUTTI_RETURN_IF_ERROR(parseInt(s, keyword, s.words[1], keyword == "hosts" ? 1 : 0, &number));
      if (keyword == "hosts") {
        if (!topology.nodes.empty() || sawHostSection || replicas != 1) {
          return lineError(s.line,
                           "'hosts N' comes once, before any node, without 'host' sections");
        }
        if (number > kMaxHosts) {
          return lineError(s.line, fmt::format("hosts {}: at most {}", number, kMaxHosts));
        }
        replicas = static_cast<int>(number);
      } else {
        int expected = sawHostSection ? host + 1 : (topology.nodes.empty() ? 0 : 1);
        if (replicas != 1 || number != expected) {
          return lineError(s.line, fmt::format("expected 'host {}' (hosts in order, and not "
                                               "together with 'hosts N')",
                                               expected));
        }
        host = static_cast<int>(number);
        sawHostSection = true;
      }
    } else {
      return lineError(s.line,
                       fmt::format("unknown statement '{}' (node, link, host, hosts)", keyword));
    }
  }
  if (replicas > 1) {
    int64_t nodes = static_cast<int64_t>(topology.nodes.size()) * replicas;
    int64_t links = static_cast<int64_t>(topology.links.size()) * replicas;
    if (nodes > kMaxNodesPerFile || links > kMaxLinksPerFile) {
      return makeError(tuttiInvalidArgument,
                       "topology text: hosts {} makes {} nodes and {} links, more than the {} "
                       "nodes and {} links a file may describe",
                       replicas, nodes, links, kMaxNodesPerFile, kMaxLinksPerFile);
    }
  }
  *out = replicas > 1 ? replicateHosts(topology, replicas) : std::move(topology);
  return Status::ok();
}

}  // namespace tutti::topo
