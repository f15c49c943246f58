// Unit tests of tutti-perf's arithmetic: nearest-rank percentiles and the memory-traffic bound.
#include "perf/bench/perf_stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "perf/bench/perf_membw.h"

namespace tutti::perf {
namespace {

TEST(NearestRankPercentile, FiveIterations) {
  // ceil(0.5 x 5) = 3rd and ceil(0.99 x 5) = 5th smallest, whatever the order.
  std::vector<double> v = {9, 1, 7, 3, 5};
  EXPECT_EQ(nearestRankPercentile(v, 50), 5);
  EXPECT_EQ(nearestRankPercentile(v, 99), 9);
  EXPECT_EQ(nearestRankPercentile(v, 100), 9);
  EXPECT_EQ(nearestRankPercentile(v, 1), 1);
}

TEST(NearestRankPercentile, HundredValuesAreTheirOwnPercentiles) {
  std::vector<double> v(100);
  std::iota(v.begin(), v.end(), 1.0);
  std::shuffle(v.begin(), v.end(), std::mt19937(7));
  for (int p = 1; p <= 100; ++p) EXPECT_EQ(nearestRankPercentile(v, p), p) << p;
}

TEST(NearestRankPercentile, TwentyIterationsAndEdges) {
  std::vector<double> v(20);
  std::iota(v.begin(), v.end(), 0.0);           // 0 .. 19
  EXPECT_EQ(nearestRankPercentile(v, 50), 9);   // 10th
  EXPECT_EQ(nearestRankPercentile(v, 99), 19);  // ceil(19.8) = 20th
  EXPECT_EQ(nearestRankPercentile(v, 95), 18);  // 19th exactly, no rounding up
  EXPECT_EQ(nearestRankPercentile({4.5}, 50), 4.5);
  EXPECT_EQ(nearestRankPercentile({}, 50), 0);
}

// The traffic of the single-copy algorithms, phase by phase, as an independent sum.
double phasesBytes(PerfCollective collective, double s, int nranks) {
  const double n = nranks;
  const double chunk = s / n;
  double bytes = 0;
  switch (collective) {
    case PerfCollective::kAllReduce:
      bytes += (n - 1) * 2 * chunk;  // copy in the remote parts of my chunk
      bytes += n * chunk + chunk;    // read n inputs, write one
      bytes += (n - 1) * 2 * chunk;  // copy in the others' final chunks
      break;
    case PerfCollective::kAllGather:
      bytes += n * 2 * chunk;  // n blocks of size s/n, each read and written
      break;
    case PerfCollective::kReduceScatter:
      bytes += (n - 1) * 2 * chunk;
      bytes += n * chunk + chunk;
      break;
  }
  return bytes;
}

TEST(BoundBytesPerRank, MatchesThePhases) {
  for (PerfCollective c :
       {PerfCollective::kAllReduce, PerfCollective::kAllGather, PerfCollective::kReduceScatter}) {
    for (int n = 1; n <= 9; ++n) {
      for (double s : {8.0, 4096.0, 3.0 * (1 << 20)}) {
        EXPECT_DOUBLE_EQ(boundBytesPerRank(c, s, n), phasesBytes(c, s, n))
            << static_cast<int>(c) << " n " << n << " s " << s;
      }
    }
  }
  // Closed forms for two ranks: 3.5 S, 2 S, 2.5 S.
  EXPECT_DOUBLE_EQ(boundBytesPerRank(PerfCollective::kAllReduce, 1000, 2), 3500);
  EXPECT_DOUBLE_EQ(boundBytesPerRank(PerfCollective::kAllGather, 1000, 2), 2000);
  EXPECT_DOUBLE_EQ(boundBytesPerRank(PerfCollective::kReduceScatter, 1000, 2), 2500);
}

TEST(BoundTimeUs, HostRanksShareTheBandwidth) {
  // 4 ranks on the host each moving 3.5 MB (2-rank all-reduce of 1 MB) at 10 GB/s: 1.4 ms.
  EXPECT_DOUBLE_EQ(boundTimeUs(PerfCollective::kAllReduce, 1e6, 2, 4, 10), 1400);
  EXPECT_DOUBLE_EQ(boundTimeUs(PerfCollective::kAllReduce, 1e6, 2, 1, 10), 350);
  EXPECT_EQ(boundTimeUs(PerfCollective::kAllReduce, 1e6, 2, 1, 0), 0);

  BoundInfo bound;
  EXPECT_EQ(boundTimeUs(bound, PerfCollective::kAllGather, 1e6, 2), 0);  // off
  bound.enabled = true;
  bound.hosts = {{"a", 2, 0, 20}, {"b", 3, 0, 10}};
  bound.binding = 1;
  EXPECT_DOUBLE_EQ(boundTimeUs(bound, PerfCollective::kAllGather, 1e6, 5), 3 * 2e6 / 10e9 * 1e6);
}

TEST(BoundFormulaText, NamesEveryCollective) {
  EXPECT_EQ(boundFormulaText(PerfCollective::kAllReduce), "(5n-3)/n x size");
  EXPECT_EQ(boundFormulaText(PerfCollective::kAllGather), "2 x size");
  EXPECT_EQ(boundFormulaText(PerfCollective::kReduceScatter), "(3n-1)/n x size");
}

TEST(MeasureMemcpyGBps, PositiveAndRejectsNothingToDo) {
  EXPECT_GT(measureMemcpyGBps(2, 1 << 20, 2), 0);
  EXPECT_EQ(measureMemcpyGBps(0, 1 << 20, 2), 0);
  EXPECT_EQ(measureMemcpyGBps(1, 0, 2), 0);
  EXPECT_EQ(measureMemcpyGBps(1, 1 << 20, 0), 0);
}

}  // namespace
}  // namespace tutti::perf
