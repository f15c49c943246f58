#include "perf/bench/perf_stats.h"

#include <algorithm>
#include <cmath>

namespace tutti::perf {

double nearestRankPercentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double n = static_cast<double>(values.size());
  // ceil(p/100 * N) as a rank from 1; the small slack keeps 0.99 * 100 from rounding to 100.
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * n - 1e-9));
  rank = std::clamp<size_t>(rank, 1, values.size());
  return values[rank - 1];
}

// The memory traffic of a single-copy host algorithm, per rank. S is the collective's size as
// nccl-tests reports it (the "size" column), n the number of ranks; each rank owns one chunk of
// S/n, and copying k bytes reads k and writes k (2k of traffic).
//
//   all_reduce (S = send = recv size):
//     copy in the n-1 remote parts of its own chunk       2(n-1)S/n
//     reduce its n inputs into one chunk: read n x S/n,    S + S/n
//       write S/n
//     copy in the n-1 final chunks of the others          2(n-1)S/n
//     total: (4(n-1) + n + 1)/n x S = (5n-3)/n x S
//
//   all_gather (S = recv size = n x count x elemsize):
//     copy in the n-1 remote blocks and, out of place,    n x 2S/n = 2S
//     its own block
//
//   reduce_scatter (S = send size = n x recvcount x elemsize):
//     copy in the n-1 remote parts of its chunk           2(n-1)S/n
//     reduce n inputs into its output: read S, write S/n  (n+1)S/n
//     total: (3n-1)/n x S
//
// All ranks of a host share its memory system: the host moves hostRanks times this (boundTimeUs).
double boundBytesPerRank(PerfCollective collective, double sizeBytes, int nranks) {
  const double n = nranks;
  const double s = sizeBytes;
  switch (collective) {
    case PerfCollective::kAllReduce:
      return (5 * n - 3) / n * s;
    case PerfCollective::kAllGather:
      return 2 * s;
    case PerfCollective::kReduceScatter:
      return (3 * n - 1) / n * s;
    default:
      return 0;  // boundCovers: none
  }
}

bool boundCovers(PerfCollective collective) {
  return collective == PerfCollective::kAllReduce || collective == PerfCollective::kAllGather ||
         collective == PerfCollective::kReduceScatter;
}

std::string boundFormulaText(PerfCollective collective) {
  switch (collective) {
    case PerfCollective::kAllReduce:
      return "(5n-3)/n x size";
    case PerfCollective::kAllGather:
      return "2 x size";
    case PerfCollective::kReduceScatter:
      return "(3n-1)/n x size";
    default:
      return "";
  }
}

double boundTimeUs(PerfCollective collective, double sizeBytes, int nranks, int hostRanks,
                   double memGBps) {
  if (!(memGBps > 0)) return 0;
  return hostRanks * boundBytesPerRank(collective, sizeBytes, nranks) / (memGBps * 1e9) * 1e6;
}

double boundTimeUs(const BoundInfo& bound, PerfCollective collective, double sizeBytes,
                   int nranks) {
  if (!bound.enabled || bound.binding >= bound.hosts.size()) return 0;
  const HostMemory& host = bound.hosts[bound.binding];
  return boundTimeUs(collective, sizeBytes, nranks, host.ranks, host.gbps);
}

}  // namespace tutti::perf
