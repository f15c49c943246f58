#include "core/comm_topology.h"

#include <sched.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "base/log.h"
#include "base/params.h"
#include "topo/paths.h"
#include "topo/text_format.h"
#include "topo/topology_file.h"

namespace tutti {
namespace {

// What stands for a host whose topology is unknown: one CPU node, so that host indices stay
// those of hostOfRank.
topo::Topology unknownHost() {
  topo::Topology host;
  topo::Node cpu;
  cpu.kind = topo::NodeKind::kCpu;
  cpu.name = "cpu0";
  host.addNode(cpu);
  return host;
}

std::string hostText(int hostIndex) {
  topo::Topology topology;
  Status status = topo::loadOrDetectHostTopology(&topology);
  if (!status.isOk()) {
    TUTTI_WARN(kLogInit, "topology of host {} unknown ({}); the cost model uses defaults",
               hostIndex, status.message());
    return std::string();
  }
  const int count = topology.hostCount();
  if (count > 1) topology = topo::extractHost(topology, hostIndex % count);
  return topo::serialize(topology);
}

// The NUMA node of the CPU this thread runs on: the nodeN entry of its sysfs directory.
int currentNumaNode() {
  const int cpu = sched_getcpu();
  if (cpu < 0) return -1;
  for (int node = 0; node < 1024; ++node) {
    std::ifstream probe(fmt::format("/sys/devices/system/cpu/cpu{}/node{}/cpumap", cpu, node));
    if (probe) return node;
  }
  return -1;
}

// The NIC of `host` with the best path from cpuNode (lowest path type, then widest), as NCCL
// orders paths; -1 when the host has none.
int nearestNic(const topo::Topology& cluster, int host, int cpuNode) {
  int best = -1;
  topo::Path bestPath;
  for (int nic : cluster.nodesOf(topo::NodeKind::kNic, host)) {
    topo::Path path = topo::findPath(cluster, cpuNode, nic);
    if (path.type == topo::PathType::kDis) continue;
    if (best < 0 || path.type < bestPath.type ||
        (path.type == bestPath.type && path.bandwidthGBps > bestPath.bandwidthGBps)) {
      best = nic;
      bestPath = path;
    }
  }
  return best;
}

std::vector<RankPlace> placeOnCluster(const topo::Topology& cluster,
                                      const std::vector<int>& hostOfRank,
                                      const std::vector<int32_t>& numaOfRank) {
  std::vector<RankPlace> places(hostOfRank.size());
  std::vector<int> seen;
  for (size_t r = 0; r < hostOfRank.size(); ++r) {
    RankPlace& place = places[r];
    place.host = hostOfRank[r];
    if (static_cast<size_t>(place.host) >= seen.size()) seen.resize(place.host + 1, 0);
    place.localRank = seen[place.host]++;
    place.numa = numaOfRank[r];
    const std::vector<int> cpus = cluster.nodesOf(topo::NodeKind::kCpu, place.host);
    for (int cpu : cpus) {
      if (cluster.nodes[cpu].numaId == place.numa) place.cpuNode = cpu;
    }
    // A picture from a file may number NUMA nodes otherwise: its first socket then.
    if (place.cpuNode < 0 && !cpus.empty()) place.cpuNode = cpus.front();
    if (place.cpuNode >= 0) place.nic = nearestNic(cluster, place.host, place.cpuNode);
  }
  return places;
}

}  // namespace

Status exchangeTopology(Bootstrap& bootstrap, int rank, int nranks,
                        const std::vector<int>& hostOfRank, topo::Topology* cluster,
                        std::vector<RankPlace>* places) {
  const int myHost = hostOfRank[rank];
  const bool head =
      std::find(hostOfRank.begin(), hostOfRank.end(), myHost) - hostOfRank.begin() == rank;
  const std::string mine = head ? hostText(myHost) : std::string();
  std::vector<uint64_t> lengths(nranks, 0);
  lengths[rank] = mine.size();
  TUTTI_RETURN_IF_ERROR(bootstrap.allGather(lengths.data(), sizeof(uint64_t)));
  const size_t slot = std::max<size_t>(1, *std::max_element(lengths.begin(), lengths.end()));
  std::vector<char> texts(slot * nranks, '\0');
  std::memcpy(texts.data() + slot * rank, mine.data(), mine.size());
  TUTTI_RETURN_IF_ERROR(bootstrap.allGather(texts.data(), slot));

  const int nhosts = *std::max_element(hostOfRank.begin(), hostOfRank.end()) + 1;
  std::vector<topo::Topology> hosts(nhosts);
  for (int host = 0; host < nhosts; ++host) {
    const int headRank = static_cast<int>(std::find(hostOfRank.begin(), hostOfRank.end(), host) -
                                          hostOfRank.begin());
    const std::string text(texts.data() + slot * headRank, lengths[headRank]);
    Status parsed = text.empty() ? makeError(tuttiInternalError, "not detected")
                                 : topo::parse(text, &hosts[host]);
    if (!parsed.isOk() || hosts[host].nodes.empty()) {
      if (!text.empty()) {
        TUTTI_WARN(kLogInit, "topology of host {} (rank {}) unreadable: {}", host, headRank,
                   parsed.message());
      }
      hosts[host] = unknownHost();
    }
  }
  *cluster = topo::combineHosts(hosts);
  std::vector<int32_t> numaOfRank(nranks, -1);
  numaOfRank[rank] = currentNumaNode();
  TUTTI_RETURN_IF_ERROR(bootstrap.allGather(numaOfRank.data(), sizeof(int32_t)));
  *places = placeOnCluster(*cluster, hostOfRank, numaOfRank);
  const char* dumpPath = paramEnv("TUTTI_TOPO_DUMP_FILE");
  if (rank == 0 && dumpPath != nullptr && *dumpPath != '\0') {
    Status dumped = topo::dumpTopologyFile(dumpPath, *cluster);
    if (dumped.isOk()) {
      TUTTI_INFO(kLogInit | kLogEnv, "topology: {} host(s) written to TUTTI_TOPO_DUMP_FILE={}",
                 nhosts, dumpPath);
    } else {
      TUTTI_WARN(kLogInit | kLogEnv, "TUTTI_TOPO_DUMP_FILE: {}", dumped.message());
    }
  }
  return Status::ok();
}

std::string describeCluster(const topo::Topology& cluster, const std::vector<int>& hostOfRank,
                            const std::vector<RankPlace>& places) {
  std::string text;
  for (int host = 0; host < cluster.hostCount(); ++host) {
    std::string ranks;
    for (size_t r = 0; r < hostOfRank.size(); ++r) {
      if (hostOfRank[r] == host) ranks += (ranks.empty() ? "" : ",") + std::to_string(r);
    }
    std::string nics;
    for (int nic : cluster.nodesOf(topo::NodeKind::kNic, host)) {
      const topo::Node& node = cluster.nodes[nic];
      nics += fmt::format("{}{} {} Gb/s", nics.empty() ? "" : ", ",
                          node.netName.empty() ? node.name : node.netName, node.speedMbps / 1000.0);
    }
    text +=
        fmt::format("host {}: ranks {}; {} NUMA node(s), {} PUs, {} GPU(s){}, NICs: {}\n", host,
                    ranks, cluster.numaCount(host), cluster.puCount(host), cluster.gpuCount(host),
                    cluster.hasNvlink(host) ? " with NVLink" : "", nics.empty() ? "none" : nics);
  }
  for (size_t r = 0; r < places.size(); ++r) {
    const RankPlace& place = places[r];
    std::string nic = "none";
    if (place.nic >= 0) {
      const topo::Node& node = cluster.nodes[place.nic];
      nic = fmt::format("{} ({})", node.netName.empty() ? node.name : node.netName,
                        topo::pathTypeName(topo::findPath(cluster, place.cpuNode, place.nic).type));
    }
    text += fmt::format(
        "rank {}: host {}, local rank {}, NUMA node {}, {}, nearest NIC {}\n", r, place.host,
        place.localRank, place.numa < 0 ? std::string("unknown") : std::to_string(place.numa),
        place.gpu < 0 ? std::string("CPU rank") : cluster.nodes[place.gpu].name, nic);
  }
  return text;
}

}  // namespace tutti
