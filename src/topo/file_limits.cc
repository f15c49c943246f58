#include "topo/file_limits.h"

#include <vector>

namespace tutti::topo {

Status checkTopologyLimits(const Topology& topology, const char* what) {
  if (topology.nodes.size() > static_cast<size_t>(kMaxNodesPerFile)) {
    return makeError(tuttiInvalidArgument, "{}: {} nodes, more than the {} a file may describe",
                     what, topology.nodes.size(), kMaxNodesPerFile);
  }
  if (topology.links.size() > static_cast<size_t>(kMaxLinksPerFile)) {
    return makeError(tuttiInvalidArgument, "{}: {} links, more than the {} a file may describe",
                     what, topology.links.size(), kMaxLinksPerFile);
  }
  std::vector<int> nodes, cpus;
  for (const Node& node : topology.nodes) {
    if (node.host < 0) continue;
    if (static_cast<size_t>(node.host) >= nodes.size()) {
      nodes.resize(node.host + 1, 0);
      cpus.resize(node.host + 1, 0);
    }
    if (++nodes[node.host] > kMaxNodesPerHost) {
      return makeError(tuttiInvalidArgument, "{}: host {} has more than {} nodes", what, node.host,
                       kMaxNodesPerHost);
    }
    if (node.kind == NodeKind::kCpu && ++cpus[node.host] > kMaxCpusPerHost) {
      return makeError(tuttiInvalidArgument, "{}: host {} has more than {} CPU (NUMA) nodes", what,
                       node.host, kMaxCpusPerHost);
    }
  }
  return Status::ok();
}

}  // namespace tutti::topo
