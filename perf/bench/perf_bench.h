// One rank's side of a benchmark sweep: correctness check against exact values, then timed
// iterations, for each size, out of place and in place. The mean time is combined over ranks as
// -a says; each iteration's time is the max over ranks (p50, p99); #wrong is summed over ranks.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "perf/bench/perf_options.h"
#include "perf/bench/perf_stats.h"
#include "tutti/tutti.h"

namespace tutti::perf {

struct Measurement {
  double timeUs = 0;  // mean over the -n iterations (nccl-tests' time)
  double p50Us = 0;   // nearest-rank percentiles of the iterations, each the max over ranks
  double p99Us = 0;
  double algbw = 0;  // GB/s, 1e9 bytes per second
  double busbw = 0;
  long wrong = -1;  // -1: not checked
};

struct Row {
  size_t bytes = 0;  // nccl-tests' size: the larger of the send and receive buffers
  size_t count = 0;  // elements in that buffer
  tuttiDataType_t type = tuttiFloat32;
  tuttiRedOp_t op = tuttiSum;
  Measurement outOfPlace;
  Measurement inPlace;
};

// A row's size, count, type and op before any measurement: nccl-tests' size for `bytes`, whole
// elements per rank.
Row describeRow(PerfCollective collective, tuttiDataType_t type, tuttiRedOp_t op, size_t bytes,
                int nranks);

// Which placements a row measures: both (the table), or out of place alone (--algo,
// --calibrate, which compare one placement across algorithms).
enum class Placements { kBoth, kOutOfPlace };

// Runs one (type, op, size) row of options.collective; false when a call failed (the message is
// printed). With kOutOfPlace, row->inPlace stays empty (time 0, not checked).
bool runRow(tuttiComm_t comm, const PerfOptions& options, tuttiDataType_t type, tuttiRedOp_t op,
            size_t bytes, Row* row, Placements placements = Placements::kBoth);

// The memory bandwidth of every host for --bound (called by every rank, hostOfRank[r] naming
// rank r's host): --mem-gbps, or measured by the lowest rank of each host while the other ranks
// wait in a collective (blocked, not computing). False when a call or the measurement failed.
bool measureBound(tuttiComm_t comm, const PerfOptions& options,
                  const std::vector<std::string>& hostOfRank, BoundInfo* bound);

}  // namespace tutti::perf
