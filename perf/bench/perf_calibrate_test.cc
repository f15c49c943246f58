// Unit tests of tutti-perf --calibrate's fit: the non-negative relative least squares and the
// cost model's constants recovered from times the model itself predicts.
#include "perf/bench/perf_calibrate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace tutti::perf {
namespace {

TEST(CalibrateFitTest, RecoversExactCoefficients) {
  std::mt19937 random(3);
  std::uniform_real_distribution<double> value(0.1, 100);
  const std::vector<double> truth = {2.0, 0.5, 3.0};
  std::vector<std::vector<double>> rows;
  std::vector<double> targets;
  for (int i = 0; i < 12; ++i) {
    rows.push_back({value(random), value(random), value(random)});
    targets.push_back(rows.back()[0] * truth[0] + rows.back()[1] * truth[1] +
                      rows.back()[2] * truth[2]);
  }
  NonNegativeFit fit;
  Status status = fitRelativeNonNegative(rows, targets, &fit);
  ASSERT_TRUE(status.isOk()) << status.message();
  for (size_t c = 0; c < truth.size(); ++c) {
    EXPECT_NEAR(fit.x[c], truth[c], 1e-9 * truth[c]) << c;
    EXPECT_FALSE(fit.clamped[c]);
  }
}

TEST(CalibrateFitTest, NegativeCoefficientIsClampedAndTheRestRefitted) {
  // t = 10 - x: the free fit is (10, -1); with the second fixed at 0 the best constant under
  // relative error is sum(1/t) / sum(1/t^2).
  const std::vector<std::vector<double>> rows = {{1, 1}, {1, 2}, {1, 3}, {1, 4}};
  const std::vector<double> targets = {9, 8, 7, 6};
  NonNegativeFit fit;
  ASSERT_TRUE(fitRelativeNonNegative(rows, targets, &fit).isOk());
  double sumInverse = 0;
  double sumInverseSquares = 0;
  for (double t : targets) {
    sumInverse += 1 / t;
    sumInverseSquares += 1 / (t * t);
  }
  EXPECT_TRUE(fit.clamped[1]);
  EXPECT_FALSE(fit.clamped[0]);
  EXPECT_EQ(fit.x[1], 0);
  EXPECT_NEAR(fit.x[0], sumInverse / sumInverseSquares, 1e-12);
}

TEST(CalibrateFitTest, ZeroColumnUndeterminedDependentColumnsRefused) {
  NonNegativeFit fit;
  ASSERT_TRUE(fitRelativeNonNegative({{1, 0}, {2, 0}}, {3, 6}, &fit).isOk());
  EXPECT_NEAR(fit.x[0], 3, 1e-12);
  EXPECT_TRUE(fit.undetermined[1]);
  EXPECT_EQ(fit.x[1], 0);

  Status dependent = fitRelativeNonNegative({{1, 2}, {2, 4}, {3, 6}}, {1, 2, 3}, &fit);
  EXPECT_EQ(dependent.code(), tuttiInvalidArgument);
  EXPECT_NE(dependent.message().find("do not separate"), std::string::npos);
  EXPECT_FALSE(fitRelativeNonNegative({{1}, {2}}, {1, 0}, &fit).isOk());  // a zero time
  EXPECT_FALSE(fitRelativeNonNegative({{1}, {2, 3}}, {1, 2}, &fit).isOk());
  EXPECT_FALSE(fitRelativeNonNegative({}, {}, &fit).isOk());
}

// What tutti-perf --calibrate measures: all-reduce by ring and rd, all-gather by ring, 8 B to
// 16 MiB in steps of 4.
std::vector<CalibrationSample> sweep(int nranks, const HostShape& hosts, const ClusterCost& cost) {
  std::vector<CalibrationSample> samples;
  for (size_t bytes = 8; bytes <= (size_t{16} << 20); bytes *= 4) {
    for (auto [algorithm, collective] :
         {std::pair{Algorithm::kRing, Collective::kAllReduce},
          std::pair{Algorithm::kRecursiveDoubling, Collective::kAllReduce},
          std::pair{Algorithm::kRing, Collective::kAllGather}}) {
      const size_t size = bytes / (4 * nranks) * (4 * nranks);  // whole elements per rank
      if (size == 0) continue;
      CalibrationSample sample{algorithm, collective, size, 0};
      sample.measuredUs = *predictUs(algorithm, collective, nranks, size, cost, hosts);
      samples.push_back(sample);
    }
  }
  return samples;
}

void expectCost(const LinkCost& fitted, const LinkCost& truth) {
  EXPECT_NEAR(fitted.alphaUs, truth.alphaUs, 1e-6 * truth.alphaUs);
  EXPECT_NEAR(fitted.betaNsPerByte, truth.betaNsPerByte, 1e-6 * truth.betaNsPerByte);
  EXPECT_NEAR(fitted.gammaNsPerByte, truth.gammaNsPerByte, 1e-6 * truth.gammaNsPerByte);
  EXPECT_EQ(fitted.rendezvousBytes, truth.rendezvousBytes);
  EXPECT_NEAR(fitted.rendezvousAlphaUs, truth.rendezvousAlphaUs, 1e-6 * truth.rendezvousAlphaUs);
}

TEST(CalibrateFitTest, IntraLevelWithRendezvousRecoversTheModelsConstants) {
  const LinkCost truth{5.1, 0.12, 0.15, 64 << 10, 15.2};
  for (int nranks : {2, 3, 4}) {
    const HostShape oneHost{1, nranks};
    CalibrationFit fit;
    Status status = fitLinkCost(sweep(nranks, oneHost, uniformCost(truth)), CostLevel::kIntra,
                                nranks, oneHost, truth.rendezvousBytes, &fit);
    ASSERT_TRUE(status.isOk()) << status.message();
    expectCost(fit.cost, truth);
    EXPECT_LT(fit.rmsRelativeError, 1e-9);
    EXPECT_TRUE(fit.clamped.empty());
  }
}

TEST(CalibrateFitTest, InterLevelRecoversTheNetworksConstants) {
  // Every rank on its own host: every round crosses, the host's bytes are the rank's; the
  // reductions run at intra's gamma, which the inter fit measures as its own.
  const int nranks = 4;
  const HostShape ownHosts{nranks, 1};
  ClusterCost cost;
  cost.intra = LinkCost{0, 0, 0.2};
  cost.inter = LinkCost{14, 0.7, 0};
  CalibrationFit fit;
  Status status = fitLinkCost(sweep(nranks, ownHosts, cost), CostLevel::kInter, nranks, ownHosts,
                              SIZE_MAX, &fit);
  ASSERT_TRUE(status.isOk()) << status.message();
  expectCost(fit.cost, LinkCost{14, 0.7, 0.2});
  EXPECT_EQ(fit.cost.rendezvousAlphaUs, 0);
}

TEST(CalibrateFitTest, ClampsANegativeConstantOfNoisyTimes) {
  // No reduction cost at all and times that shrink with the bytes reduced: a free fit would
  // make gamma negative.
  const HostShape oneHost{1, 2};
  std::vector<CalibrationSample> samples = sweep(2, oneHost, uniformCost(LinkCost{5, 0.2, 0}));
  for (CalibrationSample& sample : samples) {
    if (sample.collective == Collective::kAllReduce) sample.measuredUs *= 0.7;
  }
  CalibrationFit fit;
  Status status = fitLinkCost(samples, CostLevel::kIntra, 2, oneHost, SIZE_MAX, &fit);
  ASSERT_TRUE(status.isOk()) << status.message();
  EXPECT_EQ(fit.clamped, std::vector<std::string>{"gamma_ns_per_byte"});
  EXPECT_EQ(fit.cost.gammaNsPerByte, 0);
  EXPECT_GT(fit.cost.alphaUs, 0);
  EXPECT_GT(fit.cost.betaNsPerByte, 0);
  EXPECT_GT(fit.rmsRelativeError, 0.01);
}

TEST(CalibrateFitTest, ErrorsNameWhatTheSamplesCannotFit) {
  const HostShape oneHost{1, 2};
  std::vector<CalibrationSample> small;
  for (const CalibrationSample& sample : sweep(2, oneHost, uniformCost(LinkCost{5, 0.2, 0.1}))) {
    if (sample.bytes < 4096) small.push_back(sample);
  }
  CalibrationFit fit;
  Status status = fitLinkCost(small, CostLevel::kIntra, 2, oneHost, 64 << 10, &fit);
  EXPECT_EQ(status.code(), tuttiInvalidArgument);
  EXPECT_NE(status.message().find("rendezvous_alpha_us (no message of 65536 bytes or more)"),
            std::string::npos)
      << status.message();

  // Ring all-reduce alone sends twice what it reduces at every size: beta and gamma inseparable.
  std::vector<CalibrationSample> ringOnly;
  for (const CalibrationSample& sample : small) {
    if (sample.algorithm == Algorithm::kRing && sample.collective == Collective::kAllReduce) {
      ringOnly.push_back(sample);
    }
  }
  status = fitLinkCost(ringOnly, CostLevel::kIntra, 2, oneHost, SIZE_MAX, &fit);
  EXPECT_NE(status.message().find("do not separate"), std::string::npos) << status.message();

  status = fitLinkCost({{Algorithm::kTree, Collective::kAllGather, 64, 1}}, CostLevel::kIntra, 2,
                       oneHost, SIZE_MAX, &fit);
  EXPECT_NE(status.message().find("tree does not apply to all_gather on 2 ranks"),
            std::string::npos)
      << status.message();
}

}  // namespace
}  // namespace tutti::perf
