#include "perf/bench/perf_calibrate.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace tutti::perf {
namespace {

// Solves m x = v in place by Gaussian elimination with partial pivoting; false when a pivot is
// negligible against the matrix's scale (the columns are linearly dependent).
bool solveLinear(std::vector<std::vector<double>> m, std::vector<double> v,
                 std::vector<double>* x) {
  const size_t n = v.size();
  double scale = 0;
  for (const auto& row : m) {
    for (double value : row) scale = std::max(scale, std::fabs(value));
  }
  for (size_t col = 0; col < n; ++col) {
    size_t pivot = col;
    for (size_t r = col + 1; r < n; ++r) {
      if (std::fabs(m[r][col]) > std::fabs(m[pivot][col])) pivot = r;
    }
    if (!(std::fabs(m[pivot][col]) > 1e-12 * scale)) return false;
    std::swap(m[pivot], m[col]);
    std::swap(v[pivot], v[col]);
    for (size_t r = col + 1; r < n; ++r) {
      const double factor = m[r][col] / m[col][col];
      for (size_t c = col; c < n; ++c) m[r][c] -= factor * m[col][c];
      v[r] -= factor * v[col];
    }
  }
  x->assign(n, 0);
  for (size_t col = n; col-- > 0;) {
    double sum = v[col];
    for (size_t c = col + 1; c < n; ++c) sum -= m[col][c] * (*x)[c];
    (*x)[col] = sum / m[col][col];
  }
  return true;
}

// The least-squares solution over the free columns of a (rows already divided by their
// targets, so the targets are all 1); the other coefficients are 0.
bool solveFree(const std::vector<std::vector<double>>& a, const std::vector<size_t>& free,
               std::vector<double>* x) {
  const size_t k = free.size();
  std::vector<std::vector<double>> normal(k, std::vector<double>(k, 0));
  std::vector<double> rhs(k, 0);
  for (const std::vector<double>& row : a) {
    for (size_t i = 0; i < k; ++i) {
      rhs[i] += row[free[i]];
      for (size_t j = 0; j < k; ++j) normal[i][j] += row[free[i]] * row[free[j]];
    }
  }
  std::vector<double> solved;
  if (!solveLinear(normal, rhs, &solved)) return false;
  x->assign(a.empty() ? 0 : a[0].size(), 0);
  for (size_t i = 0; i < k; ++i) (*x)[free[i]] = solved[i];
  return true;
}

}  // namespace

Status fitRelativeNonNegative(const std::vector<std::vector<double>>& rows,
                              const std::vector<double>& targets, NonNegativeFit* out) {
  if (rows.empty() || rows.size() != targets.size()) {
    return makeError(tuttiInvalidArgument, "{} rows for {} targets: nothing to fit", rows.size(),
                     targets.size());
  }
  const size_t n = rows[0].size();
  // Each row over its target (relative error), each column over its norm (so that rounds and
  // bytes, orders of magnitude apart, pivot alike); the coefficients are scaled back at the end.
  std::vector<std::vector<double>> a(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].size() != n) {
      return makeError(tuttiInvalidArgument, "row {} has {} columns, row 0 has {}", i,
                       rows[i].size(), n);
    }
    if (!(targets[i] > 0) || !std::isfinite(targets[i])) {
      return makeError(tuttiInvalidArgument, "target {} is {}: want a positive time", i,
                       targets[i]);
    }
    a[i] = rows[i];
    for (double& value : a[i]) value /= targets[i];
  }
  std::vector<double> norm(n, 0);
  for (const auto& row : a) {
    for (size_t c = 0; c < n; ++c) norm[c] += row[c] * row[c];
  }
  NonNegativeFit fit;
  fit.clamped.assign(n, false);
  fit.undetermined.assign(n, false);
  std::vector<size_t> free;
  for (size_t c = 0; c < n; ++c) {
    norm[c] = std::sqrt(norm[c]);
    if (norm[c] > 0) {
      free.push_back(c);
    } else {
      fit.undetermined[c] = true;
    }
  }
  for (auto& row : a) {
    for (size_t c : free) row[c] /= norm[c];
  }
  std::vector<double> x(n, 0);
  while (!free.empty()) {
    if (!solveFree(a, free, &x)) {
      return makeError(tuttiInvalidArgument,
                       "the measurements do not separate the constants (linearly dependent "
                       "columns)");
    }
    // The most negative goes first: fixing it may lift the others.
    size_t worst = n;
    for (size_t c : free) {
      if (x[c] < 0 && (worst == n || x[c] < x[worst])) worst = c;
    }
    if (worst == n) break;
    fit.clamped[worst] = true;
    free.erase(std::find(free.begin(), free.end(), worst));
    x.assign(n, 0);
  }
  for (size_t c = 0; c < n; ++c) x[c] = norm[c] > 0 ? x[c] / norm[c] : 0;
  fit.x = x;
  *out = fit;
  return Status::ok();
}

Status fitLinkCost(const std::vector<CalibrationSample>& samples, CostLevel level, int nranks,
                   const HostShape& hosts, size_t rendezvousBytes, CalibrationFit* out) {
  // Columns: alpha (us per eager round), rendezvous alpha (us per round), beta and gamma (ns per
  // byte, so bytes x 1e-3 gives us).
  const bool rendezvous = rendezvousBytes != SIZE_MAX;
  const char* names[] = {"alpha_us", "rendezvous_alpha_us", "beta_ns_per_byte",
                         "gamma_ns_per_byte"};
  std::vector<std::vector<double>> rows;  // all four columns
  std::vector<double> targets;
  for (const CalibrationSample& sample : samples) {
    std::optional<CostTerms> terms =
        costTerms(sample.algorithm, sample.collective, nranks, sample.bytes, hosts);
    if (!terms) {
      return makeError(tuttiInvalidArgument, "{} does not apply to {} on {} ranks",
                       algorithmName(sample.algorithm), collectiveName(sample.collective), nranks);
    }
    const LevelTerms linear = levelTerms(*terms, level, rendezvousBytes);
    rows.push_back({linear.eagerRounds, linear.rendezvousRounds, linear.wireKb, linear.reducedKb});
    targets.push_back(sample.measuredUs);
  }
  // Without a rendezvous level its column is left out of the fit (and its constant is 0).
  std::vector<std::vector<double>> columns = rows;
  if (!rendezvous) {
    for (auto& row : columns) row.erase(row.begin() + 1);
  }
  NonNegativeFit fit;
  TUTTI_RETURN_IF_ERROR(fitRelativeNonNegative(columns, targets, &fit));
  if (!rendezvous) {
    fit.x.insert(fit.x.begin() + 1, 0.0);
    fit.clamped.insert(fit.clamped.begin() + 1, false);
    fit.undetermined.insert(fit.undetermined.begin() + 1, false);
  }
  for (size_t c = 0; c < fit.undetermined.size(); ++c) {
    if (fit.undetermined[c]) {
      return makeError(tuttiInvalidArgument, "no measurement exercises {}{}", names[c],
                       c == 1 ? fmt::format(" (no message of {} bytes or more)", rendezvousBytes)
                              : std::string());
    }
  }
  CalibrationFit result;
  result.cost = LinkCost{fit.x[0], fit.x[2], fit.x[3], rendezvousBytes, fit.x[1]};
  double sumSquares = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    double us = 0;
    for (size_t c = 0; c < rows[i].size(); ++c) us += rows[i][c] * fit.x[c];
    result.fittedUs.push_back(us);
    const double relative = (us - targets[i]) / targets[i];
    sumSquares += relative * relative;
  }
  result.rmsRelativeError = std::sqrt(sumSquares / rows.size());
  for (size_t c = 0; c < fit.clamped.size(); ++c) {
    if (fit.clamped[c]) result.clamped.push_back(names[c]);
  }
  *out = result;
  return Status::ok();
}

}  // namespace tutti::perf
