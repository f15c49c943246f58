// Paths between two nodes of a host, classified as NCCL classifies them (src/graph/paths.cc,
// ncclTopoSetPaths), and the NIC closest to a GPU.
#pragma once

#include <vector>

#include "topo/topology.h"

namespace tutti::topo {

// NCCL's path types, best first (NCCL topoPathTypeStr): LOC the same node; NVL over NVLink only
// (through NVSwitches); PIX over PCIe through at most one PCIe switch; PXB through several PCIe
// switches without the CPU; PHB through the CPU's host bridge; SYS across the inter-socket link.
// DIS: no path (another host, or nothing connects them). Tutti does not route through GPUs, so
// NCCL's NVB and PXN (through a peer GPU) do not occur.
enum class PathType { kLoc, kNvl, kPix, kPxb, kPhb, kSys, kDis };
const char* pathTypeName(PathType type);  // "LOC", "NVL", "PIX", "PXB", "PHB", "SYS", "DIS"

struct Path {
  PathType type = PathType::kDis;
  std::vector<int> nodes;    // from the first node to the last, both included
  double bandwidthGBps = 0;  // the narrowest link on the way
  double latencyUs = 0;      // sum over the links
  int hops() const { return nodes.empty() ? 0 : static_cast<int>(nodes.size()) - 1; }
};

// The best path between two nodes: the lowest path type, then the widest bottleneck, then the
// fewest hops. GPUs and NICs are ends, never passed through. Type kDis when there is none.
Path findPath(const Topology& topology, int from, int to);

// The NIC of the GPU's host with the best path from the GPU (as findPath orders them; then the
// fastest NIC, then the lowest index); -1 when the host has none. *path receives the path.
int closestNic(const Topology& topology, int gpu, Path* path = nullptr);

}  // namespace tutti::topo
