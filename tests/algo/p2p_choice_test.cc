// The p2p path's algorithm choice (algo/p2p_choice.h): TUTTI_ALGO's p2p names, the staged path
// when it names only table algorithms, and the cost model's crossover between one-shot and
// two-shot.
#include "algo/p2p_choice.h"

#include <gtest/gtest.h>

#include "algo/algo_spec_testing.h"
#include "topo/link_model.h"
#include "topo/topology_file.h"

namespace tutti {
namespace {

std::optional<P2pAlgorithm> choose(const std::string& spec, Collective collective, int nranks,
                                   size_t bytes) {
  return chooseP2pAlgorithm(parsed(spec), collective, nranks, bytes, P2pCost());
}

TEST(P2pChoiceTest, ModelTakesOneShotForSmallAndTwoShotForLargeAllReduces) {
  EXPECT_EQ(choose("", Collective::kAllReduce, 8, 1024), P2pAlgorithm::kOneShot);
  EXPECT_EQ(choose("", Collective::kAllReduce, 8, 64 << 20), P2pAlgorithm::kTwoShot);
  // Two ranks read the same bytes either way: one-shot saves a barrier at every size.
  EXPECT_EQ(choose("", Collective::kAllReduce, 2, size_t{1} << 30), P2pAlgorithm::kOneShot);
  // The crossover: barrierUs x GB/s x n / ((n - 1)(n - 2)) bytes, 95,238 for 8 ranks.
  EXPECT_EQ(choose("", Collective::kAllReduce, 8, 95000), P2pAlgorithm::kOneShot);
  EXPECT_EQ(choose("", Collective::kAllReduce, 8, 96000), P2pAlgorithm::kTwoShot);
  EXPECT_EQ(choose("", Collective::kAllGather, 8, 64 << 20), P2pAlgorithm::kOneShot);
  EXPECT_EQ(choose("", Collective::kReduceScatter, 8, 64 << 20), P2pAlgorithm::kOneShot);
  EXPECT_FALSE(choose("", Collective::kBroadcast, 8, 1024));  // staged
}

TEST(P2pChoiceTest, TuttiAlgoForcesEitherOrTheStagedPath) {
  EXPECT_EQ(choose("oneshot", Collective::kAllReduce, 8, 64 << 20), P2pAlgorithm::kOneShot);
  EXPECT_EQ(choose("allreduce:twoshot", Collective::kAllReduce, 8, 8), P2pAlgorithm::kTwoShot);
  // two-shot is all-reduce's only: the other collectives keep their direct algorithm.
  EXPECT_EQ(choose("allreduce:twoshot", Collective::kAllGather, 8, 8), P2pAlgorithm::kOneShot);
  EXPECT_FALSE(choose("ring", Collective::kAllReduce, 8, 8));
  EXPECT_FALSE(choose("allreduce:ring", Collective::kAllReduce, 8, 8));
  EXPECT_EQ(choose("allreduce:ring", Collective::kAllGather, 8, 8), P2pAlgorithm::kOneShot);
  EXPECT_EQ(choose("allreduce:0-64k:oneshot,64k-:twoshot", Collective::kAllReduce, 3, 1000),
            P2pAlgorithm::kOneShot);
  EXPECT_EQ(choose("allreduce:0-64k:oneshot,64k-:twoshot", Collective::kAllReduce, 3, 1 << 20),
            P2pAlgorithm::kTwoShot);
  EXPECT_EQ(choose("^oneshot", Collective::kAllReduce, 8, 8), P2pAlgorithm::kTwoShot);
  EXPECT_FALSE(choose("^oneshot", Collective::kAllGather, 8, 8));
  EXPECT_FALSE(choose("^oneshot,twoshot", Collective::kAllReduce, 8, 8));
}

// A rule naming only p2p algorithms leaves the table's choice to the model, so init still
// connects every peer the model may need.
TEST(P2pChoiceTest, P2pNamesLeaveTheHostChoiceToTheModel) {
  AlgoSpec spec = parsed("oneshot");
  EXPECT_TRUE(spec.allowed(Collective::kAllReduce, 8).empty());
  EXPECT_TRUE(spec.mayUse(Algorithm::kRing));
  EXPECT_TRUE(spec.mayUse(Algorithm::kRecursiveDoubling));
  AlgoSpec mixed = parsed("allreduce:rd/twoshot");
  EXPECT_EQ(mixed.allowed(Collective::kAllReduce, 8),
            std::vector<Algorithm>{Algorithm::kRecursiveDoubling});
  EXPECT_EQ(mixed.allowedP2p(Collective::kAllReduce, 8),
            std::vector<P2pAlgorithm>{P2pAlgorithm::kTwoShot});
  AlgoSpec bad;
  Status status = AlgoSpec::parse("threeshot", &bad);
  EXPECT_EQ(status.code(), tuttiInvalidArgument);
  EXPECT_NE(status.message().find("oneshot, twoshot"), std::string::npos) << status.message();
}

topo::Topology shippedTopology(const std::string& name) {
  topo::Topology topology;
  const Status status =
      topo::loadTopologyFile(std::string(TUTTI_PERF_TOPOLOGIES_DIR) + "/" + name, &topology);
  EXPECT_TRUE(status.isOk()) << status.message();
  return topology;
}

// The ranks' GPUs price the p2p path: a DGX H100's 18 NVLinks per GPU through NVSwitches, a
// PCIe host's PCIe; ranks sharing a GPU, or a device the topology does not have, keep the
// defaults.
TEST(P2pChoiceTest, CostsFromTheTopologyOfTheRanksGpus) {
  const topo::Topology dgx = shippedTopology("dgx-h100.topo");
  P2pCost cost;
  std::string basis;
  ASSERT_TRUE(p2pCostFromTopology(dgx, {0, 1, 2, 3, 4, 5, 6, 7}, &cost, &basis)) << basis;
  EXPECT_NEAR(cost.gbps, 18 * topo::nvlinkBandwidthPerLinkGBps(90), 1e-9);
  EXPECT_NEAR(cost.barrierUs, P2pCost().barrierUs + 4 * topo::kNvlinkLatencyUs, 1e-9);
  // NVSwitch bandwidth moves the 8-rank crossover up from the defaults' 95 KiB.
  EXPECT_EQ(chooseP2pAlgorithm(parsed(""), Collective::kAllReduce, 8, 200000, cost),
            P2pAlgorithm::kOneShot);

  const topo::Topology pcie = shippedTopology("pcie-4gpu-2nic.topo");
  P2pCost pcieCost;
  ASSERT_TRUE(p2pCostFromTopology(pcie, {0, 1, 2, 3}, &pcieCost, &basis)) << basis;
  EXPECT_LT(pcieCost.gbps, cost.gbps);

  P2pCost unchanged;
  EXPECT_FALSE(p2pCostFromTopology(dgx, {0, 0}, &unchanged, &basis));
  EXPECT_NE(basis.find("share"), std::string::npos) << basis;
  EXPECT_FALSE(p2pCostFromTopology(dgx, {0, 99}, &unchanged, &basis));
  EXPECT_FALSE(p2pCostFromTopology(shippedTopology("cpu-only.topo"), {0}, &unchanged, &basis));
  EXPECT_EQ(unchanged.gbps, P2pCost().gbps);
  EXPECT_EQ(unchanged.barrierUs, P2pCost().barrierUs);
}

}  // namespace
}  // namespace tutti
