#include "topo/paths.h"

#include <algorithm>
#include <tuple>

namespace tutti::topo {
namespace {

// NCCL's rule per hop (ncclTopoSetPaths): a PCIe hop is PIX, PXB between two PCIe switches, PHB
// when it touches the CPU.
PathType hopType(const Topology& topology, const Link& link) {
  switch (link.kind) {
    case LinkKind::kNvlink:
      return PathType::kNvl;
    case LinkKind::kInterSocket:
      return PathType::kSys;
    case LinkKind::kPcie: {
      NodeKind a = topology.nodes[link.a].kind;
      NodeKind b = topology.nodes[link.b].kind;
      if (a == NodeKind::kCpu || b == NodeKind::kCpu) return PathType::kPhb;
      if (a == NodeKind::kPciSwitch && b == NodeKind::kPciSwitch) return PathType::kPxb;
      return PathType::kPix;
    }
  }
  return PathType::kDis;
}

// Lower is better: type, then the wider bottleneck, then fewer hops.
auto rank(const Path& path) {
  return std::make_tuple(static_cast<int>(path.type), -path.bandwidthGBps, path.hops());
}

struct Search {
  const Topology& topology;
  int target;
  std::vector<char> visited;
  Path current;
  Path best;

  void visit(int node) {
    if (node == target) {
      if (best.type == PathType::kDis || rank(current) < rank(best)) best = current;
      return;
    }
    NodeKind kind = topology.nodes[node].kind;
    // GPUs and NICs end paths; they do not forward.
    if (current.nodes.size() > 1 && (kind == NodeKind::kGpu || kind == NodeKind::kNic)) return;
    for (int l : topology.linksOf(node)) {
      const Link& link = topology.links[l];
      int next = topology.otherEnd(link, node);
      if (visited[next]) continue;
      Path saved = current;
      current.type = std::max(current.type, hopType(topology, link));
      current.bandwidthGBps = std::min(current.bandwidthGBps, link.bandwidthGBps);
      current.latencyUs += link.latencyUs;
      current.nodes.push_back(next);
      // Type and bottleneck only get worse along a path: stop when already behind the best.
      bool behind = best.type != PathType::kDis &&
                    std::make_tuple(static_cast<int>(current.type), -current.bandwidthGBps) >
                        std::make_tuple(static_cast<int>(best.type), -best.bandwidthGBps);
      if (!behind) {
        visited[next] = 1;
        visit(next);
        visited[next] = 0;
      }
      current = std::move(saved);
    }
  }
};

}  // namespace

const char* pathTypeName(PathType type) {
  switch (type) {
    case PathType::kLoc:
      return "LOC";
    case PathType::kNvl:
      return "NVL";
    case PathType::kPix:
      return "PIX";
    case PathType::kPxb:
      return "PXB";
    case PathType::kPhb:
      return "PHB";
    case PathType::kSys:
      return "SYS";
    case PathType::kDis:
      return "DIS";
  }
  return "?";
}

Path findPath(const Topology& topology, int from, int to) {
  Path none;
  int count = static_cast<int>(topology.nodes.size());
  if (from < 0 || to < 0 || from >= count || to >= count) return none;
  if (from == to) {
    Path local;
    local.type = PathType::kLoc;
    local.nodes = {from};
    local.bandwidthGBps = 0;  // no link: the node's own memory, not modelled
    return local;
  }
  if (topology.nodes[from].host != topology.nodes[to].host) return none;
  Search search{topology, to, std::vector<char>(count, 0), Path(), Path()};
  search.current.type = PathType::kLoc;
  search.current.nodes = {from};
  search.current.bandwidthGBps = 1e300;
  search.visited[from] = 1;
  search.visit(from);
  return search.best;
}

int closestNic(const Topology& topology, int gpu, Path* path) {
  int bestNic = -1;
  Path bestPath;
  for (int nic : topology.nodesOf(NodeKind::kNic, topology.nodes[gpu].host)) {
    Path candidate = findPath(topology, gpu, nic);
    if (candidate.type == PathType::kDis) continue;
    bool better = bestNic < 0 || rank(candidate) < rank(bestPath) ||
                  (rank(candidate) == rank(bestPath) &&
                   topology.nodes[nic].speedMbps > topology.nodes[bestNic].speedMbps);
    if (better) {
      bestNic = nic;
      bestPath = std::move(candidate);
    }
  }
  if (path != nullptr) *path = bestPath;
  return bestNic;
}

}  // namespace tutti::topo
