// tutti-perf --calibrate's arithmetic, free of communicators so that it has unit tests: the
// cost model's constants (LinkCost) fitted to measured collective times.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "algo/plan.h"
#include "algo/select.h"
#include "base/status.h"

namespace tutti::perf {

// Minimizes sum_i ((rows[i] . x - targets[i]) / targets[i])^2, the squared relative error, over
// x >= 0: the normal equations by Gaussian elimination; a coefficient that comes out negative
// is fixed at 0 and the rest solved again. A column that is 0 in every row gets 0 and counts as
// undetermined. Fails (tuttiInvalidArgument) on ragged rows, a target that is not positive, or
// columns that do not determine their coefficients (linearly dependent).
struct NonNegativeFit {
  std::vector<double> x;
  std::vector<bool> clamped;       // fixed at 0 because the free solution was negative
  std::vector<bool> undetermined;  // a column of zeros
};
Status fitRelativeNonNegative(const std::vector<std::vector<double>>& rows,
                              const std::vector<double>& targets, NonNegativeFit* out);

// One measured call: nccl-tests' size (the larger buffer) and the time (us).
struct CalibrationSample {
  Algorithm algorithm = Algorithm::kRing;
  Collective collective = Collective::kAllReduce;
  size_t bytes = 0;
  double measuredUs = 0;
};

struct CalibrationFit {
  LinkCost cost;                     // rendezvousBytes SIZE_MAX: no rendezvous level was fitted
  std::vector<double> fittedUs;      // per sample
  double rmsRelativeError = 0;       // sqrt(mean(((fitted - measured) / measured)^2))
  std::vector<std::string> clamped;  // names of the constants fixed at 0 ("beta_ns_per_byte")
};

// Fits the level's LinkCost (CostLevel: between the ranks of one host, or between hosts, each
// rank on its own) to the samples with the model's own linear form of that level (levelTerms in
// algo/cost_model.h) over each sample's costTerms(nranks, hosts); rendezvousBytes SIZE_MAX: no
// rendezvous unknown. Errors name a constant that no
// sample exercises (say, no message reached rendezvousBytes) or samples that cannot be fitted.
Status fitLinkCost(const std::vector<CalibrationSample>& samples, CostLevel level, int nranks,
                   const HostShape& hosts, size_t rendezvousBytes, CalibrationFit* out);

}  // namespace tutti::perf
