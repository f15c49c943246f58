// What a communicator learns about the machines at init: every host's topology, exchanged so
// that all ranks hold the same picture (TUTTI_TOPO_FILE per host, TUTTI_TOPO_DUMP_FILE written
// once with every host), and the cost model's constants from the cost file, rank 0's winning.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/comm_info.h"
#include "mp/harness.h"
#include "topo/topology_file.h"

namespace tutti::test {
namespace {

std::string tempDir() {
  char path[] = "/tmp/tutti-picture-XXXXXX";
  return mkdtemp(path) != nullptr ? path : "";
}

bool writeFile(const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  return static_cast<bool>(file);
}

std::string topologyPath(const char* name) {
  return std::string(TUTTI_PERF_TOPOLOGIES_DIR) + "/" + name;
}

TEST(CommPictureTest, EveryRankHoldsEveryHostsTopology) {
  const std::string dir = tempDir();
  ASSERT_FALSE(dir.empty());
  const std::string dump = dir + "/cluster.topo";
  LaunchResult result = runRanks(4, [&](int rank, int nranks, const tuttiUniqueId& id) {
    // Two posed hosts, each reading its own file: a 4-GPU PCIe box and a CPU-only host.
    setenv("TUTTI_HOSTID", rank < 2 ? "box" : "cpu", 1);
    setenv("TUTTI_TOPO_FILE",
           topologyPath(rank < 2 ? "pcie-4gpu-2nic.topo" : "cpu-only.topo").c_str(), 1);
    setenv("TUTTI_TOPO_DUMP_FILE", dump.c_str(), 1);
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 1;
    CommInfo info;
    if (!getCommInfo(comm, &info).isOk()) return 2;
    std::fprintf(stderr, "rank %d sees:\n%s", rank, info.cluster.c_str());
    const bool ok =
        info.nhosts == 2 &&
        info.cluster.find("host 0: ranks 0,1; 2 NUMA node(s)") != std::string::npos &&
        info.cluster.find("4 GPU(s)") != std::string::npos &&
        info.cluster.find("host 1: ranks 2,3; 2 NUMA node(s), 128 PUs, 0 GPU(s)") !=
            std::string::npos &&
        // Per rank: its place, and the one NIC of the CPU-only host, whichever NUMA
        // node it ran on.
        info.cluster.find("rank 1: host 0, local rank 1, NUMA node ") != std::string::npos &&
        info.cluster.find("rank 3: host 1, local rank 1, NUMA node ") != std::string::npos &&
        info.cluster.find(", CPU rank, nearest NIC eth0 (") != std::string::npos;
    tuttiCommDestroy(comm);
    return ok ? 0 : 3;
  });
  ASSERT_TRUE(result.ok) << result.failure;
  topo::Topology cluster;
  ASSERT_TRUE(topo::loadTopologyFile(dump, &cluster).isOk());
  EXPECT_EQ(cluster.hostCount(), 2);
  EXPECT_EQ(cluster.gpuCount(0), 4);
  EXPECT_EQ(cluster.nicCount(0), 2);
  EXPECT_EQ(cluster.gpuCount(1), 0);
  EXPECT_EQ(cluster.puCount(1), 128);
  EXPECT_EQ(cluster.numaCount(0), 2);
}

TEST(CommPictureTest, UnreadableTopologyFileIsNotFatal) {
  LaunchResult result = runRanks(2, [&](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_TOPO_FILE", "/nonexistent/tutti.topo", 1);
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 1;
    CommInfo info;
    if (!getCommInfo(comm, &info).isOk()) return 2;
    int value = rank + 1;
    int sum = 0;
    if (tuttiAllReduce(&value, &sum, 1, tuttiInt32, tuttiSum, comm, nullptr) != tuttiSuccess) {
      return 3;
    }
    tuttiCommDestroy(comm);
    return sum == 3 && info.cluster.find("host 0: ranks 0,1") != std::string::npos ? 0 : 4;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// An entry for every transport the intra level may turn out to use here, so the test does not
// depend on whether single copy is available.
std::string costFile(double intraAlpha, double interAlpha, int ranks) {
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  std::ostringstream text;
  text << "tutti-costs 1\n";
  for (const char* transport : {"shm/cma", "shm"}) {
    text << "cost transport=" << transport << " ranks=" << ranks << " cpus=" << cpus
         << " alpha_us=" << intraAlpha
         << " beta_ns_per_byte=0.5 gamma_ns_per_byte=0.25 rendezvous_bytes=65536"
            " rendezvous_alpha_us=9\n";
  }
  text << "cost transport=tcp ranks=" << ranks << " cpus=" << cpus << " alpha_us=" << interAlpha
       << " beta_ns_per_byte=2 gamma_ns_per_byte=0.25\n";
  return text.str();
}

TEST(CommPictureTest, CostFileEntriesAreUsedAndRankZerosWin) {
  const std::string dir = tempDir();
  ASSERT_FALSE(dir.empty());
  ASSERT_TRUE(writeFile(dir + "/costs0", costFile(123, 77, 2)));
  ASSERT_TRUE(writeFile(dir + "/costs1", costFile(456, 88, 2)));
  LaunchResult result = runRanks(2, [&](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_COST_FILE", (dir + "/costs" + std::to_string(rank)).c_str(), 1);
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 1;
    CommInfo info;
    if (!getCommInfo(comm, &info).isOk()) return 2;
    std::fprintf(stderr, "rank %d: %s: intra alpha %g beta %g, inter alpha %g\n", rank,
                 info.costSource.c_str(), info.cost.intra.alphaUs, info.cost.intra.betaNsPerByte,
                 info.cost.inter.alphaUs);
    tuttiCommDestroy(comm);
    const bool ok = info.cost.intra.alphaUs == 123 && info.cost.intra.betaNsPerByte == 0.5 &&
                    info.cost.inter.alphaUs == 77 && info.cost.inter.betaNsPerByte == 2 &&
                    info.costSource.find("cost file") != std::string::npos;
    return ok ? 0 : 3;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

TEST(CommPictureTest, MalformedCostFileFallsBackToDefaults) {
  const std::string dir = tempDir();
  ASSERT_FALSE(dir.empty());
  ASSERT_TRUE(writeFile(dir + "/costs", "tutti-costs 1\ncost transport=shm alpha_us=banana\n"));
  LaunchResult result = runRanks(2, [&](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_COST_FILE", (dir + "/costs").c_str(), 1);
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 1;
    CommInfo info;
    if (!getCommInfo(comm, &info).isOk()) return 2;
    tuttiCommDestroy(comm);
    const LinkCost expected = defaultLinkCost(info.intraTransport);
    return info.cost.intra.alphaUs == expected.alphaUs &&
                   info.costSource.find("defaults") != std::string::npos
               ? 0
               : 3;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

}  // namespace
}  // namespace tutti::test
