#include "algo/cost_topology.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "algo/plan.h"
#include "topo/link_model.h"
#include "topo/paths.h"

namespace tutti {
namespace {

using topo::Link;
using topo::LinkKind;
using topo::Node;
using topo::NodeKind;
using topo::Path;
using topo::PathType;
using topo::Topology;

// The hosts of a cluster as separate topologies (one pass over the nodes and links), so that
// path searches on one host neither scan nor allocate for the whole cluster.
struct HostViews {
  std::vector<Topology> hosts;
  std::vector<int> localIndex;  // by cluster node: its index in its host's topology

  explicit HostViews(const Topology& cluster)
      : hosts(cluster.hostCount()), localIndex(cluster.nodes.size(), -1) {
    for (size_t i = 0; i < cluster.nodes.size(); ++i) {
      localIndex[i] = hosts[cluster.nodes[i].host].addNode(cluster.nodes[i]);
    }
    for (Link link : cluster.links) {
      const int host = cluster.nodes[link.a].host;
      link.a = localIndex[link.a];
      link.b = localIndex[link.b];
      hosts[host].addLink(link);
    }
  }
};

// Whether a path between two GPUs runs over NVLink only and through an NVSwitch.
bool throughNvSwitch(const Topology& host, const Path& path) {
  if (path.type != PathType::kNvl) return false;
  return std::any_of(path.nodes.begin(), path.nodes.end(),
                     [&](int node) { return host.nodes[node].kind == NodeKind::kNvSwitch; });
}

// The summed NVLinks from a GPU to NVSwitches: count and bandwidth.
std::pair<int, double> nvSwitchLinks(const Topology& host, int gpu) {
  int count = 0;
  double bandwidth = 0;
  for (int l : host.linksOf(gpu)) {
    const Link& link = host.links[l];
    if (link.kind != LinkKind::kNvlink) continue;
    if (host.nodes[host.otherEnd(link, gpu)].kind != NodeKind::kNvSwitch) continue;
    count += link.nvlinkCount;
    bandwidth += link.bandwidthGBps;
  }
  return {count, bandwidth};
}

double nicGBps(const Node& nic) {
  return topo::nicBandwidthGBps(nic.speedMbps) * std::max(1, nic.ports);
}

// NCCL's local NICs of a GPU (ncclTopoGetLocal): those at the best path, widest first, then the
// best path type. *closest receives that path.
std::vector<int> localNics(const Topology& host, int gpu, Path* closest) {
  std::vector<int> best;
  for (int nic : host.nodesOf(NodeKind::kNic)) {
    Path path = topo::findPath(host, gpu, nic);
    if (path.type == PathType::kDis) continue;
    const bool wider = best.empty() || path.bandwidthGBps > closest->bandwidthGBps ||
                       (path.bandwidthGBps == closest->bandwidthGBps && path.type < closest->type);
    if (wider) {
      best.clear();
      *closest = path;
    }
    if (path.bandwidthGBps == closest->bandwidthGBps && path.type == closest->type) {
      best.push_back(nic);
    }
  }
  return best;
}

// The most a host's GPUs can send to its NICs at once (GB/s): a maximum flow (Edmonds-Karp) from
// the GPUs to the NICs over PCIe and inter-socket links, each link carrying its bandwidth in each
// direction and each NIC taking at most its speed. GPUs only send and NICs only receive, so
// neither forwards; NVLinks carry no NIC traffic here.
double maxFlowToNics(const Topology& host, const std::vector<int>& gpus,
                     const std::set<int>& nics) {
  const int n = static_cast<int>(host.nodes.size());
  const int source = n;
  const int sink = n + 1;
  std::vector<std::vector<double>> capacity(n + 2, std::vector<double>(n + 2, 0));
  double unlimited = 0;
  for (const Link& link : host.links) {
    if (link.kind == LinkKind::kNvlink) continue;
    unlimited += link.bandwidthGBps;
    for (auto [from, to] : {std::pair{link.a, link.b}, std::pair{link.b, link.a}}) {
      const NodeKind fromKind = host.nodes[from].kind;
      const NodeKind toKind = host.nodes[to].kind;
      if (fromKind == NodeKind::kNic || toKind == NodeKind::kGpu) continue;
      capacity[from][to] += link.bandwidthGBps;
    }
  }
  for (int gpu : gpus) capacity[source][gpu] = unlimited;
  for (int nic : nics) capacity[nic][sink] = nicGBps(host.nodes[nic]);
  constexpr double kEpsilon = 1e-9;
  double flow = 0;
  while (true) {
    std::vector<int> previous(n + 2, -1);
    previous[source] = source;
    std::vector<int> queue = {source};
    for (size_t i = 0; i < queue.size() && previous[sink] < 0; ++i) {
      const int u = queue[i];
      for (int v = 0; v < n + 2; ++v) {
        if (previous[v] < 0 && capacity[u][v] > kEpsilon) {
          previous[v] = u;
          queue.push_back(v);
        }
      }
    }
    if (previous[sink] < 0) return flow;
    double push = unlimited;
    for (int v = sink; v != source; v = previous[v]) {
      push = std::min(push, capacity[previous[v]][v]);
    }
    for (int v = sink; v != source; v = previous[v]) {
      capacity[previous[v]][v] -= push;
      capacity[v][previous[v]] += push;
    }
    flow += push;
  }
}

// 1 / (GB/s) = ns per byte.
double nsPerByte(double gbps) { return gbps > 0 ? 1.0 / gbps : 0; }

std::string hostNode(const Topology& cluster, int node) {
  return fmt::format("host {} {}", cluster.nodes[node].host, cluster.nodes[node].name);
}

Status checkRanks(const Topology& cluster, const std::vector<int>& hostOfRank,
                  const std::vector<int>& gpuOfRank, bool* cpuRanks) {
  if (hostOfRank.empty()) return makeError(tuttiInvalidArgument, "no ranks");
  if (hostOfRank.size() != gpuOfRank.size()) {
    return makeError(tuttiInvalidArgument, "{} hosts of ranks but {} GPUs of ranks",
                     hostOfRank.size(), gpuOfRank.size());
  }
  const int hosts = cluster.hostCount();
  const int nodes = static_cast<int>(cluster.nodes.size());
  int gpuRanks = 0;
  std::map<int, int> rankOfGpu;
  for (size_t r = 0; r < hostOfRank.size(); ++r) {
    const int host = hostOfRank[r];
    const int gpu = gpuOfRank[r];
    if (host < 0 || host >= hosts) {
      return makeError(tuttiInvalidArgument, "rank {}: host {} is not in the cluster (hosts 0..{})",
                       r, host, hosts - 1);
    }
    if (gpu == -1) continue;
    ++gpuRanks;
    if (gpu < 0 || gpu >= nodes) {
      return makeError(
          tuttiInvalidArgument,
          "rank {}: GPU node {} is not in the cluster (nodes 0..{}, -1 for a CPU rank)", r, gpu,
          nodes - 1);
    }
    const Node& node = cluster.nodes[gpu];
    if (node.kind != NodeKind::kGpu) {
      return makeError(tuttiInvalidArgument, "rank {}: node {} ({}) is a {}, not a GPU", r, gpu,
                       hostNode(cluster, gpu), topo::nodeKindName(node.kind));
    }
    if (node.host != host) {
      return makeError(tuttiInvalidArgument, "rank {} is on host {} but its GPU {} is on host {}",
                       r, host, node.name, node.host);
    }
    auto [it, inserted] = rankOfGpu.emplace(gpu, static_cast<int>(r));
    if (!inserted) {
      return makeError(tuttiInvalidArgument, "ranks {} and {} are both on {}", it->second, r,
                       hostNode(cluster, gpu));
    }
  }
  if (gpuRanks != 0 && gpuRanks != static_cast<int>(hostOfRank.size())) {
    return makeError(
        tuttiInvalidArgument,
        "{} of {} ranks are on GPUs and the rest on CPUs: a job of both is not modelled", gpuRanks,
        hostOfRank.size());
  }
  *cpuRanks = gpuRanks == 0;
  return Status::ok();
}

}  // namespace

Status clusterCostFromTopology(const Topology& cluster, const std::vector<int>& hostOfRank,
                               const std::vector<int>& gpuOfRank, const ClusterCost& cpuFallback,
                               TopologyCost* out) {
  bool cpuRanks = false;
  TUTTI_RETURN_IF_ERROR(checkRanks(cluster, hostOfRank, gpuOfRank, &cpuRanks));
  TopologyCost result;
  if (cpuRanks) {
    result.cost = cpuFallback;
    result.intraBasis = "CPU ranks: the fallback costs given";
    result.interBasis = result.intraBasis;
    *out = result;
    return Status::ok();
  }
  result.fromTopology = true;

  // Each host's ranks in rank order: its part of the ring.
  std::map<int, std::vector<int>> ranksOfHost;
  for (size_t r = 0; r < hostOfRank.size(); ++r) ranksOfHost[hostOfRank[r]].push_back(r);
  const HostViews views(cluster);

  // Between ranks of a host.
  double intraGBps = -1;
  double intraLatency = 0;
  for (const auto& [host, ranks] : ranksOfHost) {
    if (ranks.size() < 2) continue;
    const Topology& view = views.hosts[host];
    std::vector<Path> ring;
    bool nvSwitched = true;
    for (size_t i = 0; i < ranks.size(); ++i) {
      const int from = gpuOfRank[ranks[i]];
      const int to = gpuOfRank[ranks[(i + 1) % ranks.size()]];
      Path path = topo::findPath(view, views.localIndex[from], views.localIndex[to]);
      if (path.type == PathType::kDis) {
        return makeError(tuttiInvalidArgument, "no path between {} and {} (ranks {} and {})",
                         hostNode(cluster, from), cluster.nodes[to].name, ranks[i],
                         ranks[(i + 1) % ranks.size()]);
      }
      nvSwitched = nvSwitched && throughNvSwitch(view, path);
      intraLatency = std::max(intraLatency, path.latencyUs);
      ring.push_back(std::move(path));
    }
    double hostGBps = -1;
    std::string basis;
    if (nvSwitched) {
      for (int r : ranks) {
        auto [links, gbps] = nvSwitchLinks(view, views.localIndex[gpuOfRank[r]]);
        if (hostGBps < 0 || gbps < hostGBps) {
          hostGBps = gbps;
          basis = fmt::format("NVSwitch: {} NVLinks = {:.1f} GB/s per GPU ({})", links, gbps,
                              hostNode(cluster, gpuOfRank[r]));
        }
      }
    } else {
      for (size_t i = 0; i < ring.size(); ++i) {
        if (hostGBps < 0 || ring[i].bandwidthGBps < hostGBps) {
          hostGBps = ring[i].bandwidthGBps;
          basis = fmt::format("narrowest ring path {} -> {} ({}): {:.1f} GB/s",
                              hostNode(cluster, gpuOfRank[ranks[i]]),
                              cluster.nodes[gpuOfRank[ranks[(i + 1) % ranks.size()]]].name,
                              topo::pathTypeName(ring[i].type), ring[i].bandwidthGBps);
        }
      }
    }
    if (intraGBps < 0 || hostGBps < intraGBps) {
      intraGBps = hostGBps;
      result.intraBasis = basis;
    }
  }
  result.cost.intra.gammaNsPerByte = 0;  // fused into the copy (cost_topology.h)
  if (intraGBps < 0) {
    result.intraBasis = "one rank per host: no traffic inside a host";
  } else {
    result.intraGBps = intraGBps;
    result.intraLatencyUs = intraLatency;
    result.cost.intra.betaNsPerByte = nsPerByte(intraGBps);
    result.cost.intra.alphaUs = intraLatency;
  }

  // Between hosts.
  result.cost.inter.gammaNsPerByte = result.cost.intra.gammaNsPerByte;
  if (ranksOfHost.size() < 2) {
    result.interBasis = "one host: no network";
    *out = result;
    return Status::ok();
  }
  double interGBps = -1;
  double interLatency = 0;
  for (const auto& [host, ranks] : ranksOfHost) {
    const Topology& view = views.hosts[host];
    std::vector<int> gpus;
    std::set<int> nics;  // local indices
    for (int r : ranks) {
      const int gpu = views.localIndex[gpuOfRank[r]];
      gpus.push_back(gpu);
      Path closest;
      const std::vector<int> local = localNics(view, gpu, &closest);
      if (local.empty()) {
        return makeError(tuttiInvalidArgument,
                         "rank {}: {} reaches no NIC, and the job spans {} hosts", r,
                         hostNode(cluster, gpuOfRank[r]), ranksOfHost.size());
      }
      nics.insert(local.begin(), local.end());
      const Node& nic = view.nodes[topo::closestNic(view, gpu)];
      const double netLatency = nic.netLatencyUs > 0 ? nic.netLatencyUs : topo::kNetLatencyUs;
      interLatency = std::max(interLatency, netLatency + closest.latencyUs);
    }
    double nicSum = 0;
    std::string names;
    for (int nic : nics) {
      nicSum += nicGBps(view.nodes[nic]);
      names += (names.empty() ? "" : ",") + view.nodes[nic].name;
    }
    const double flow = maxFlowToNics(view, gpus, nics);
    if (flow <= 0) {
      return makeError(tuttiInvalidArgument,
                       "host {}: its NICs ({}) are reachable only over links "
                       "of no bandwidth",
                       host, names);
    }
    if (interGBps < 0 || flow < interGBps) {
      interGBps = flow;
      result.nicsPerHost = static_cast<int>(nics.size());
      result.nicGBpsPerHost = nicSum;
      result.interBasis = fmt::format(
          "host {}: {} NICs local to the ranks' GPUs ({}), {:.1f} GB/s of NICs, {:.1f} GB/s reach "
          "them over PCIe",
          host, nics.size(), names, nicSum, flow);
    }
  }
  result.interGBps = interGBps;
  result.interLatencyUs = interLatency;
  result.cost.inter.betaNsPerByte = nsPerByte(interGBps);
  result.cost.inter.alphaUs = interLatency;
  *out = result;
  return Status::ok();
}

Status placeRanks(const Topology& cluster, int nranks, std::vector<int>* hostOfRank,
                  std::vector<int>* gpuOfRank) {
  if (nranks < 1) return makeError(tuttiInvalidArgument, "{} ranks: need at least 1", nranks);
  const int hosts = cluster.hostCount();
  if (hosts < 1) return makeError(tuttiInvalidArgument, "the topology has no hosts");
  std::vector<std::vector<int>> gpus(hosts);
  for (size_t i = 0; i < cluster.nodes.size(); ++i) {
    if (cluster.nodes[i].kind == NodeKind::kGpu) gpus[cluster.nodes[i].host].push_back(i);
  }
  for (std::vector<int>& list : gpus) {
    const bool indexed = std::all_of(list.begin(), list.end(),
                                     [&](int gpu) { return cluster.nodes[gpu].gpuIndex >= 0; });
    if (!indexed) continue;  // node order
    std::stable_sort(list.begin(), list.end(), [&](int a, int b) {
      return cluster.nodes[a].gpuIndex < cluster.nodes[b].gpuIndex;
    });
  }
  const int withGpus = static_cast<int>(std::count_if(
      gpus.begin(), gpus.end(), [](const std::vector<int>& g) { return !g.empty(); }));
  if (withGpus != 0 && withGpus != hosts) {
    return makeError(tuttiInvalidArgument,
                     "{} of {} hosts have GPUs: a job of GPU and CPU ranks is not modelled",
                     withGpus, hosts);
  }
  hostOfRank->clear();
  gpuOfRank->clear();
  for (int host = 0; host < hosts; ++host) {
    const size_t ranks = chunkCount(static_cast<size_t>(nranks), hosts, host);
    if (withGpus != 0 && ranks > gpus[host].size()) {
      return makeError(tuttiInvalidArgument,
                       "{} ranks on host {}, which has {} GPUs (one rank per GPU)", ranks, host,
                       gpus[host].size());
    }
    for (size_t local = 0; local < ranks; ++local) {
      hostOfRank->push_back(host);
      gpuOfRank->push_back(withGpus != 0 ? gpus[host][local] : -1);
    }
  }
  return Status::ok();
}

std::string describeTopologyCost(const TopologyCost& cost, const std::string& linePrefix) {
  const LinkCost& intra = cost.cost.intra;
  const LinkCost& inter = cost.cost.inter;
  return fmt::format(
      "{}intra: alpha {:.2f} us, beta {:.5f} ns/B, gamma {:.3f} ns/B; {}\n"
      "{}inter: alpha {:.2f} us, beta {:.5f} ns/B; {}\n",
      linePrefix, intra.alphaUs, intra.betaNsPerByte, intra.gammaNsPerByte, cost.intraBasis,
      linePrefix, inter.alphaUs, inter.betaNsPerByte, cost.interBasis);
}

}  // namespace tutti
