#include "perf/sim/sweep.h"

#include <fmt/format.h>

#include <algorithm>

#include "perf/sim/checks.h"

namespace tutti::sim {

const std::vector<Algorithm>& shownAlgorithms() {
  static const std::vector<Algorithm> algorithms = [] {
    std::vector<Algorithm> ids;
    for (const RegisteredAlgorithm& entry : algorithmTable()) ids.push_back(entry.id);
    return ids;
  }();
  return algorithms;
}

Sweep sweep(const Job& job, const Sample& sample, Collective collective,
            const std::vector<size_t>& sizes, bool validate, Totals* totals) {
  Sweep result{collective, {}, 0};
  ParentCache parents;
  // Validation at a smaller job of the same ranks per host, when the job is too large to verify.
  const int verifyHosts =
      job.nranks <= kVerifyMaxRanks ? job.hosts : std::max(1, kVerifyMaxRanks / job.perHost);
  const std::vector<int> verifyLayout = hostMajor(verifyHosts, job.perHost);
  const int verifyRanks = static_cast<int>(verifyLayout.size());
  for (size_t bytes : sizes) {
    const CallShape call = callShape(collective, job.nranks, bytes);
    if (call.count == 0) {
      ++result.skipped;
      continue;
    }
    Row row;
    row.call = call;
    for (Algorithm a : shownAlgorithms()) {
      std::optional<CostTerms> terms = costTerms(a, collective, job.nranks, call.bytes, job.shape);
      if (!terms) continue;
      row.us[static_cast<int>(a)] = timeUs(*terms, job.cost.cost);
      totals->plans +=
          checkPlans(job, sample, collective, a, call, *terms, &parents, &totals->findings);
      if (!validate) continue;
      const CallShape small = callShape(collective, verifyRanks, bytes);
      const double elements = double(verifyRanks) * verifyRanks * small.count;
      const bool applies = costTerms(a, collective, verifyRanks, small.bytes).has_value();
      if (small.count > 0 && verifyRanks > 1 && elements <= kVerifyBudget && applies) {
        const std::string problem = verifyAll(a, collective, verifyLayout, small.count);
        ++totals->validation.verified;
        if (!problem.empty()) {
          totals->validation.problems.push_back(
              fmt::format("{} {} {} ranks, count {}: {}", collectiveName(collective),
                          algorithmName(a), verifyRanks, small.count, problem));
        }
      }
      if (job.nranks > verifyRanks) {
        const std::string problem =
            matchPeers(job, sample, a, collective, call.count, &totals->validation.pairs);
        if (!problem.empty()) {
          totals->validation.problems.push_back(fmt::format(
              "{} {} {} B: {}", collectiveName(collective), algorithmName(a), call.bytes, problem));
        }
      }
    }
    row.choice = chooseAlgorithm(AlgoSpec(), collective, job.nranks, call.bytes, job.cost.cost,
                                 nullptr, job.shape)
                     .algorithm;
    result.rows.push_back(row);
  }
  if (validate) {
    totals->validation.scope =
        job.nranks <= kVerifyMaxRanks
            ? fmt::format("all {} ranks", job.nranks)
            : fmt::format(
                  "{} hosts x {} ranks ({} ranks; the full job is too large), plus message "
                  "matching between every sampled rank and its peers at the full {} ranks",
                  verifyHosts, job.perHost, verifyRanks, job.nranks);
  }
  return result;
}

// The largest size where the tree is predicted faster than ring; 0 where it never is.
size_t treeCrossover(const Sweep& sweep) {
  size_t largest = 0;
  for (const Row& row : sweep.rows) {
    const auto& ring = row.us[static_cast<int>(Algorithm::kRing)];
    const auto& tree = row.us[static_cast<int>(Algorithm::kTree)];
    if (ring && tree && *tree < *ring) largest = row.call.bytes;
  }
  return largest;
}

std::vector<size_t> sweepSizes(size_t minBytes, size_t maxBytes, double factor) {
  std::vector<size_t> sizes;
  for (double size = double(minBytes); size <= double(maxBytes); size *= factor) {
    sizes.push_back(static_cast<size_t>(size));
  }
  return sizes;
}

}  // namespace tutti::sim
