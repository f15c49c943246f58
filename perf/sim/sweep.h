// One collective's sweep over sizes: the model's time of every algorithm and its choice per
// size, each call's plans checked (and with --validate, verified) on the way.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "algo/plan.h"
#include "algo/select.h"
#include "perf/sim/call.h"
#include "perf/sim/findings.h"
#include "perf/sim/job.h"
#include "perf/sim/sample.h"
#include "perf/sim/validate.h"

namespace tutti::sim {

// Every algorithm of the table, in its order.
const std::vector<Algorithm>& shownAlgorithms();
constexpr Collective kCollectives[] = {Collective::kAllReduce, Collective::kAllGather,
                                       Collective::kReduceScatter};

struct Row {
  CallShape call;
  std::optional<double> us[kNumAlgorithms];
  Algorithm choice = Algorithm::kRing;
};

struct Sweep {
  Collective collective;
  std::vector<Row> rows;
  size_t skipped = 0;  // sizes below one element per rank
};

struct Totals {
  Findings findings;
  Validation validation;
  long plans = 0;
  size_t sizes = 0;  // of the sweep
};

Sweep sweep(const Job& job, const Sample& sample, Collective collective,
            const std::vector<size_t>& sizes, bool validate, Totals* totals);

// The largest size where the tree is predicted faster than ring; 0 where it never is.
size_t treeCrossover(const Sweep& sweep);

// minBytes, minBytes x factor, ... up to maxBytes.
std::vector<size_t> sweepSizes(size_t minBytes, size_t maxBytes, double factor);

}  // namespace tutti::sim
