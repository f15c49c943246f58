// clusterCostFromTopology and placeRanks on the shipped machine files (perf/topologies) and on
// small hand-built ones: the NVSwitch sum, the PCIe-limited ring, NICs as a maximum flow, the
// CPU fallback, and every error.
#include "algo/cost_topology.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "topo/link_model.h"
#include "topo/topology_file.h"

namespace tutti {
namespace {

using topo::Topology;

Topology shipped(const std::string& name, int hosts = 1) {
  Topology topology;
  const std::string path = std::string(TUTTI_PERF_TOPOLOGIES_DIR) + "/" + name;
  Status status = topo::loadTopologyFile(path, &topology);
  EXPECT_TRUE(status.isOk()) << status.message();
  return hosts > 1 ? topo::replicateHosts(topology, hosts) : topology;
}

struct Job {
  std::vector<int> hostOfRank;
  std::vector<int> gpuOfRank;
};

Job place(const Topology& cluster, int nranks) {
  Job job;
  Status status = placeRanks(cluster, nranks, &job.hostOfRank, &job.gpuOfRank);
  EXPECT_TRUE(status.isOk()) << status.message();
  return job;
}

ClusterCost fallback() { return defaultCpuClusterCost(); }

TopologyCost costOf(const Topology& cluster, const Job& job) {
  TopologyCost cost;
  Status status =
      clusterCostFromTopology(cluster, job.hostOfRank, job.gpuOfRank, fallback(), &cost);
  EXPECT_TRUE(status.isOk()) << status.message();
  return cost;
}

// DGX H100: 18 NVLinks per GPU (5 + 4 + 4 + 5 to four NVSwitches) at NCCL's SM90 20.6 GB/s.
TEST(TopoCostTest, DgxH100OneHostSumsEveryNvlinkToTheNvSwitches) {
  const Topology dgx = shipped("dgx-h100.topo");
  const TopologyCost cost = costOf(dgx, place(dgx, 8));
  EXPECT_TRUE(cost.fromTopology);
  const double expected = 18 * topo::nvlinkBandwidthPerLinkGBps(90);
  EXPECT_NEAR(cost.intraGBps, 18 * 20.6, 1e-9);
  EXPECT_NEAR(cost.intraGBps, expected, 1e-9);
  EXPECT_NEAR(cost.cost.intra.betaNsPerByte, 1 / expected, 1e-12);
  // gpu -> NVSwitch -> gpu: two NVLink hops.
  EXPECT_NEAR(cost.cost.intra.alphaUs, 2 * topo::kNvlinkLatencyUs, 1e-12);
  EXPECT_EQ(cost.cost.intra.gammaNsPerByte, 0);
  EXPECT_NE(cost.intraBasis.find("NVSwitch: 18 NVLinks"), std::string::npos) << cost.intraBasis;
  // One host: no network.
  EXPECT_EQ(cost.interGBps, 0);
  EXPECT_EQ(cost.cost.inter.betaNsPerByte, 0);
  EXPECT_NE(cost.interBasis.find("one host"), std::string::npos);
}

// Two hosts: every GPU has two local NICs (both behind its PCIe switch), so a host uses all 8
// NICs of 400 Gb/s = 50 GB/s; each pair of NICs hangs off one PCIe Gen5 x16 link per NIC (48 GB/s,
// NCCL's figure), so 8 x 48 GB/s reach them.
TEST(TopoCostTest, DgxH100TwoHostsUseEightNicsLimitedByTheirPcieLinks) {
  const Topology cluster = shipped("dgx-h100.topo", 2);
  const TopologyCost cost = costOf(cluster, place(cluster, 16));
  EXPECT_EQ(cost.nicsPerHost, 8);
  EXPECT_NEAR(cost.nicGBpsPerHost, 8 * topo::nicBandwidthGBps(400000), 1e-9);
  EXPECT_NEAR(cost.nicGBpsPerHost, 8 * 50.0, 1e-9);
  const double pcie = topo::pcieBandwidthGBps(5, 16);
  EXPECT_NEAR(pcie, 48.0, 1e-9);
  EXPECT_NEAR(cost.interGBps, 8 * pcie, 1e-9);
  EXPECT_NEAR(cost.cost.inter.betaNsPerByte, 1 / (8 * pcie), 1e-12);
  // gpu -> PCIe switch -> NIC, then the network.
  EXPECT_NEAR(cost.cost.inter.alphaUs, topo::kNetLatencyUs + 2 * topo::kPcieLatencyUs, 1e-12);
  EXPECT_NEAR(cost.intraGBps, 18 * 20.6, 1e-9);
}

// One GPU per host: its two local NICs are fed through the GPU's one PCIe link, so together they
// carry that link's 48 GB/s, not 2 x 50.
TEST(TopoCostTest, OneGpuPerHostIsLimitedByItsOwnPcieLink) {
  const Topology cluster = shipped("dgx-h100.topo", 4);
  const TopologyCost cost = costOf(cluster, place(cluster, 4));
  EXPECT_EQ(cost.nicsPerHost, 2);
  EXPECT_NEAR(cost.nicGBpsPerHost, 100, 1e-9);
  EXPECT_NEAR(cost.interGBps, topo::pcieBandwidthGBps(5, 16), 1e-9);
  EXPECT_EQ(cost.cost.intra.betaNsPerByte, 0);  // no host holds two ranks
  EXPECT_NE(cost.intraBasis.find("one rank per host"), std::string::npos);
}

// PCIe-only host: the ring 0 -> 1 -> 2 -> 3 -> 0 crosses the inter-socket link (Ice Lake, NCCL's
// SKL_QPI_BW 10 GB/s) between gpu1 and gpu2, narrower than PCIe Gen4 x16 (24 GB/s).
TEST(TopoCostTest, PcieHostTakesTheNarrowestRingPath) {
  const Topology host = shipped("pcie-4gpu-2nic.topo");
  const TopologyCost cost = costOf(host, place(host, 4));
  const double socket = topo::interSocketBandwidthGBps("GenuineIntel", 6, 106);
  EXPECT_NEAR(socket, 10, 1e-9);
  EXPECT_NEAR(cost.intraGBps, socket, 1e-9);
  EXPECT_NE(cost.intraBasis.find("SYS"), std::string::npos) << cost.intraBasis;
  // gpu1 -> cpu0 -> cpu1 -> gpu2.
  EXPECT_NEAR(cost.cost.intra.alphaUs, 2 * topo::kPcieLatencyUs + topo::kInterSocketLatencyUs,
              1e-12);
}

// Two ranks per host stay on one socket (PCIe Gen4 x16 through the root complex); between hosts
// both GPUs' closest NIC is nic0, 100 Gb/s = 12.5 GB/s, narrower than its PCIe link.
TEST(TopoCostTest, PcieClusterIsLimitedByTheNics) {
  const Topology cluster = shipped("pcie-4gpu-2nic.topo", 3);
  const TopologyCost cost = costOf(cluster, place(cluster, 6));
  EXPECT_NEAR(cost.intraGBps, topo::pcieBandwidthGBps(4, 16), 1e-9);
  EXPECT_NE(cost.intraBasis.find("PHB"), std::string::npos) << cost.intraBasis;
  EXPECT_EQ(cost.nicsPerHost, 1);
  EXPECT_NEAR(cost.interGBps, topo::nicBandwidthGBps(100000), 1e-9);
  EXPECT_NEAR(cost.interGBps, 12.5, 1e-9);
}

TEST(TopoCostTest, CpuRanksGetTheFallbackUnchanged) {
  const Topology cluster = shipped("cpu-only.topo", 2);
  const Job job = place(cluster, 4);
  EXPECT_EQ(job.gpuOfRank, std::vector<int>(4, -1));
  EXPECT_EQ(job.hostOfRank, (std::vector<int>{0, 0, 1, 1}));
  const TopologyCost cost = costOf(cluster, job);
  EXPECT_FALSE(cost.fromTopology);
  const ClusterCost expected = fallback();
  EXPECT_EQ(expected.intra.betaNsPerByte, defaultLinkCost("shm/cma").betaNsPerByte);
  EXPECT_EQ(expected.inter.alphaUs, defaultLinkCost("tcp").alphaUs);
  EXPECT_EQ(cost.cost.intra.alphaUs, expected.intra.alphaUs);
  EXPECT_EQ(cost.cost.intra.betaNsPerByte, expected.intra.betaNsPerByte);
  EXPECT_EQ(cost.cost.intra.gammaNsPerByte, expected.intra.gammaNsPerByte);
  EXPECT_EQ(cost.cost.intra.rendezvousBytes, expected.intra.rendezvousBytes);
  EXPECT_EQ(cost.cost.inter.alphaUs, expected.inter.alphaUs);
  EXPECT_EQ(cost.cost.inter.betaNsPerByte, expected.inter.betaNsPerByte);
  EXPECT_EQ(cost.interGBps, 0);  // no NIC limit invented for CPU ranks
}

TEST(TopoCostTest, PlaceRanksSpreadsBlocksAndFollowsGpuIndices) {
  const Topology cluster = shipped("dgx-h100.topo", 4);
  const Job job = place(cluster, 10);
  EXPECT_EQ(job.hostOfRank, (std::vector<int>{0, 0, 0, 1, 1, 1, 2, 2, 3, 3}));
  for (size_t r = 0; r < job.gpuOfRank.size(); ++r) {
    const topo::Node& gpu = cluster.nodes[job.gpuOfRank[r]];
    EXPECT_EQ(gpu.kind, topo::NodeKind::kGpu);
    EXPECT_EQ(gpu.host, job.hostOfRank[r]);
  }
  EXPECT_EQ(cluster.nodes[job.gpuOfRank[0]].gpuIndex, 0);
  EXPECT_EQ(cluster.nodes[job.gpuOfRank[2]].gpuIndex, 2);
  EXPECT_EQ(cluster.nodes[job.gpuOfRank[3]].gpuIndex, 0);
}

void expectInvalid(const Status& status, const std::string& words) {
  EXPECT_EQ(status.code(), tuttiInvalidArgument) << status.message();
  EXPECT_NE(status.message().find(words), std::string::npos) << status.message();
}

TEST(TopoCostTest, PlaceRanksRefusesMoreRanksThanGpus) {
  const Topology dgx = shipped("dgx-h100.topo");
  std::vector<int> hosts, gpus;
  expectInvalid(placeRanks(dgx, 9, &hosts, &gpus), "9 ranks on host 0, which has 8 GPUs");
  expectInvalid(placeRanks(dgx, 0, &hosts, &gpus), "need at least 1");
  expectInvalid(placeRanks(Topology(), 2, &hosts, &gpus), "no hosts");
  const Topology mixed = topo::combineHosts({shipped("dgx-h100.topo"), shipped("cpu-only.topo")});
  expectInvalid(placeRanks(mixed, 2, &hosts, &gpus), "1 of 2 hosts have GPUs");
}

TEST(TopoCostTest, RejectsInconsistentRanks) {
  const Topology cluster = shipped("dgx-h100.topo", 2);
  const Job job = place(cluster, 16);
  TopologyCost cost;
  const ClusterCost cpu = fallback();
  expectInvalid(clusterCostFromTopology(cluster, {}, {}, cpu, &cost), "no ranks");
  expectInvalid(clusterCostFromTopology(cluster, job.hostOfRank, {job.gpuOfRank[0]}, cpu, &cost),
                "16 hosts of ranks but 1 GPUs");
  std::vector<int> hosts = job.hostOfRank;
  hosts[3] = 2;
  expectInvalid(clusterCostFromTopology(cluster, hosts, job.gpuOfRank, cpu, &cost),
                "rank 3: host 2 is not in the cluster");
  // Rank 9 (host 1) given host 0's gpu0.
  std::vector<int> gpus = job.gpuOfRank;
  gpus[9] = job.gpuOfRank[1];
  expectInvalid(clusterCostFromTopology(cluster, job.hostOfRank, gpus, cpu, &cost),
                "rank 9 is on host 1 but its GPU gpu1 is on host 0");
  gpus = job.gpuOfRank;
  gpus[2] = cluster.findNode(0, "nic0");
  expectInvalid(clusterCostFromTopology(cluster, job.hostOfRank, gpus, cpu, &cost),
                "is a nic, not a GPU");
  gpus = job.gpuOfRank;
  gpus[2] = static_cast<int>(cluster.nodes.size());
  expectInvalid(clusterCostFromTopology(cluster, job.hostOfRank, gpus, cpu, &cost),
                "is not in the cluster");
  gpus = job.gpuOfRank;
  gpus[1] = gpus[0];
  expectInvalid(clusterCostFromTopology(cluster, job.hostOfRank, gpus, cpu, &cost),
                "ranks 0 and 1 are both on host 0 gpu0");
  gpus = job.gpuOfRank;
  gpus[5] = -1;
  expectInvalid(clusterCostFromTopology(cluster, job.hostOfRank, gpus, cpu, &cost),
                "15 of 16 ranks are on GPUs");
}

// Two hosts of two GPUs on PCIe and no NIC: nothing carries the traffic between hosts.
TEST(TopoCostTest, RejectsGpusWithoutNicsAcrossHosts) {
  Topology host;
  topo::Node cpu;
  cpu.kind = topo::NodeKind::kCpu;
  cpu.name = "cpu0";
  const int c = host.addNode(cpu);
  for (int i = 0; i < 2; ++i) {
    topo::Node gpu;
    gpu.kind = topo::NodeKind::kGpu;
    gpu.name = topo::defaultNodeName(topo::NodeKind::kGpu, i);
    gpu.sm = 80;
    topo::Link link;
    link.a = c;
    link.b = host.addNode(gpu);
    link.bandwidthGBps = topo::pcieBandwidthGBps(4, 16);
    link.latencyUs = topo::kPcieLatencyUs;
    host.addLink(link);
  }
  const Topology one = host;
  const TopologyCost single = costOf(one, place(one, 2));
  EXPECT_NEAR(single.intraGBps, topo::pcieBandwidthGBps(4, 16), 1e-9);

  const Topology cluster = topo::replicateHosts(host, 2);
  const Job job = place(cluster, 4);
  TopologyCost cost;
  expectInvalid(clusterCostFromTopology(cluster, job.hostOfRank, job.gpuOfRank, fallback(), &cost),
                "reaches no NIC");
}

// A published NCCL dump of an 8 x H100 SXM machine: NVLink counts 5/5/4/4 per GPU, 18 in all.
TEST(TopoCostTest, PublishedIbmH100DumpHasTheDgxNvlinkBandwidth) {
  const std::string path =
      std::string(TUTTI_SHARED_TOPOLOGIES_DIR) + "/ibm-cloud-gx3d-h100x8.nccl.xml";
  struct stat info;
  if (stat(path.c_str(), &info) != 0) GTEST_SKIP() << "no " << path;
  Topology topology;
  Status status = topo::loadTopologyFile(path, &topology);
  ASSERT_TRUE(status.isOk()) << status.message();
  const TopologyCost cost = costOf(topology, place(topology, 8));
  EXPECT_NEAR(cost.intraGBps, 18 * 20.6, 1e-9);
}

}  // namespace
}  // namespace tutti
