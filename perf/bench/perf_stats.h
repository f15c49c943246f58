// tutti-perf's arithmetic, free of communicators so that it has unit tests: percentiles of the
// per-iteration times and the memory-traffic bound of --bound.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "perf/bench/perf_options.h"

namespace tutti::perf {

// One host's memory system for --bound.
struct HostMemory {
  std::string host;
  int ranks = 0;    // ranks on the host
  int threads = 0;  // memcpy threads of the measurement (0: --mem-gbps)
  double gbps = 0;  // 1e9 bytes of traffic (read + written) per second
};

// The memory-traffic bound of a run: the host whose ranks / bandwidth is largest binds it.
struct BoundInfo {
  bool enabled = false;
  bool measured = false;  // false: --mem-gbps
  std::vector<HostMemory> hosts;
  size_t binding = 0;  // index in hosts
};

// Bound in microseconds for one row of size sizeBytes (0 when the bound is off).
double boundTimeUs(const BoundInfo& bound, PerfCollective collective, double sizeBytes, int nranks);

// The nearest-rank percentile (0 < p <= 100) of values: the smallest value with at least p% of
// the values at or below it, i.e. sorted[ceil(p/100 * N) - 1]. 0 for no values.
double nearestRankPercentile(std::vector<double> values, double p);

// Bytes of memory traffic (read + written) that one rank's share of a single-copy host algorithm
// moves for one call of a collective whose nccl-tests size is sizeBytes, with nranks ranks.
double boundBytesPerRank(PerfCollective collective, double sizeBytes, int nranks);
// Whether the bound has a formula for the collective (all-reduce, all-gather, reduce-scatter).
bool boundCovers(PerfCollective collective);

// The formula of boundBytesPerRank as text, for the header: "(5n-3)/n x size".
std::string boundFormulaText(PerfCollective collective);

// The memory-traffic bound in microseconds: hostRanks ranks share one memory system of memGBps
// (1e9 bytes of traffic per second), so the host moves hostRanks x boundBytesPerRank bytes.
double boundTimeUs(PerfCollective collective, double sizeBytes, int nranks, int hostRanks,
                   double memGBps);

}  // namespace tutti::perf
