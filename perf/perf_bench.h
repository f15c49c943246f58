// One rank's side of a benchmark sweep: correctness check against exact values, then timed
// iterations, for each size, out of place and in place. Times are combined over ranks as -a
// says; #wrong is summed over ranks.
#pragma once

#include <cstddef>
#include <vector>

#include "perf/perf_options.h"
#include "tutti/tutti.h"

namespace tutti::perf {

struct Measurement {
  double timeUs = 0;
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

// Bus bandwidth factor of nccl-tests' doc/PERFORMANCE.md.
double busBandwidthFactor(PerfCollective collective, int nranks);

// Runs one (type, op, size) row; false when a call failed (the message is printed).
bool runRow(tuttiComm_t comm, const PerfOptions& options, tuttiDataType_t type, tuttiRedOp_t op,
            size_t bytes, Row* row);

}  // namespace tutti::perf
