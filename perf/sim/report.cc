#include "perf/sim/report.h"

#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "perf/sim/call.h"
#include "testing/json_file.h"
#include "testing/nccl_tests.h"

namespace tutti::sim {

void printSweep(const Job& job, const Sweep& sweep) {
  const Collective c = sweep.collective;
  std::printf(
      "#\n# %s: %d ranks = %d host(s) x %d, float32; time in us, busbw in GB/s "
      "(algbw x %s)\n",
      collectiveName(c), job.nranks, job.hosts, job.perHost, test::busBandwidthFactorText(c));
  std::string header = fmt::format("# {:>12} {:>12}", "size", "count");
  for (Algorithm a : shownAlgorithms()) {
    header += fmt::format(" {:>12} {:>8}", fmt::format("{} time", algorithmName(a)), "busbw");
  }
  std::printf("%s  %s\n", header.c_str(), "model");
  for (const Row& row : sweep.rows) {
    std::string line = fmt::format("  {:>12} {:>12}", row.call.bytes, row.call.count);
    for (Algorithm a : shownAlgorithms()) {
      const auto& us = row.us[static_cast<int>(a)];
      if (us) {
        line += fmt::format(" {:>12.2f} {:>8.2f}", *us,
                            busbwGBps(c, job.nranks, double(row.call.bytes), *us));
      } else {
        line += fmt::format(" {:>12} {:>8}", "-", "-");
      }
    }
    std::printf("%s  %s\n", line.c_str(), algorithmName(row.choice));
  }
  if (sweep.skipped > 0) {
    std::printf("# %zu sizes below one float per rank skipped\n", sweep.skipped);
  }
  if (c == Collective::kAllReduce && !sweep.rows.empty()) {
    const size_t crossover = treeCrossover(sweep);
    if (crossover == 0) {
      std::printf("# ring/tree crossover: the model never predicts tree faster in this sweep\n");
    } else if (crossover == sweep.rows.back().call.bytes) {
      std::printf(
          "# ring/tree crossover: none in this sweep; tree is predicted faster than ring "
          "up to its largest size, %zu B\n",
          crossover);
    } else {
      std::printf(
          "# ring/tree crossover: tree is predicted faster than ring up to %zu B, ring "
          "above\n",
          crossover);
    }
  }
}

void printCost(const Job& job) {
  std::printf("# %s, %d host(s) x %d %s = %d ranks\n", job.source.c_str(), job.hosts, job.perHost,
              job.gpuOfRank[0] >= 0 ? "GPUs" : "CPU ranks", job.nranks);
  if (!job.machineNote.empty()) std::printf("# %s\n", job.machineNote.c_str());
  std::printf("%s", describeTopologyCost(job.cost, "# ").c_str());
  if (!job.cost.fromTopology) {
    std::printf(
        "# CPU ranks (no GPUs): the transports' defaults, intra defaultLinkCost(\"shm/cma\"), "
        "inter defaultLinkCost(\"tcp\"), not the topology's links\n");
  }
}

bool report(const Sample& sample, const Totals& totals, bool validate) {
  const Findings& f = totals.findings;
  std::string hosts;
  for (size_t i = 0; i < sample.hosts.size() && i < 8; ++i) {
    hosts += fmt::format("{}{}", i ? "," : "", sample.hosts[i]);
  }
  if (sample.hosts.size() > 8) hosts += ",...";
  std::printf(
      "#\n# plan checks: %ld relations on the plans of %zu sampled ranks (every rank of "
      "hosts %s) at %zu sizes, %ld plans generated: %s\n",
      f.checks, sample.ranks.size(), hosts.c_str(), totals.sizes, totals.plans,
      f.errors.empty() ? "all hold" : "DISAGREEMENTS");
  for (const std::string& line : f.errors.lines()) std::printf("# ERROR %s\n", line.c_str());
  for (const std::string& line : f.warnings.lines()) std::printf("# warning %s\n", line.c_str());
  const Validation& v = totals.validation;
  if (validate) {
    const std::string matched =
        v.pairs > 0 ? fmt::format("; {} sampled rank-peer pairs' messages matched", v.pairs) : "";
    std::printf(
        "# validate: %ld calls verified symbolically (verifyPlans, out of place and in "
        "place) on %s%s: %s\n",
        v.verified, v.scope.c_str(), matched.c_str(), v.problems.empty() ? "ok" : "PROBLEMS");
    for (const std::string& problem : v.problems) {
      std::printf("# ERROR validate %s\n", problem.c_str());
    }
  }
  return f.errors.empty() && v.problems.empty();
}

Status writeJson(const std::string& path, const Job& job, const std::vector<Sweep>& sweeps,
                 const Totals& totals) {
  const LinkCost& intra = job.cost.cost.intra;
  const LinkCost& inter = job.cost.cost.inter;
  nlohmann::json out;
  out["topology"] = job.source;
  out["hosts"] = job.hosts;
  out["ranks_per_host"] = job.perHost;
  out["nranks"] = job.nranks;
  out["cost"] = {{"intra",
                  {{"alpha_us", intra.alphaUs},
                   {"beta_ns_per_byte", intra.betaNsPerByte},
                   {"gamma_ns_per_byte", intra.gammaNsPerByte},
                   {"gbps", job.cost.intraGBps},
                   {"basis", job.cost.intraBasis}}},
                 {"inter",
                  {{"alpha_us", inter.alphaUs},
                   {"beta_ns_per_byte", inter.betaNsPerByte},
                   {"gbps", job.cost.interGBps},
                   {"basis", job.cost.interBasis}}}};
  nlohmann::json collectives = nlohmann::json::array();
  for (const Sweep& sweep : sweeps) {
    nlohmann::json rows = nlohmann::json::array();
    for (const Row& row : sweep.rows) {
      nlohmann::json json = {{"size", row.call.bytes},
                             {"count", row.call.count},
                             {"choice", algorithmName(row.choice)}};
      for (Algorithm a : shownAlgorithms()) {
        const auto& us = row.us[static_cast<int>(a)];
        if (!us) {
          json[algorithmName(a)] = nullptr;
          continue;
        }
        const double bytes = static_cast<double>(row.call.bytes);
        json[algorithmName(a)] = {{"time_us", *us},
                                  {"algbw", *us > 0 ? bytes / (*us * 1e3) : 0},
                                  {"busbw", busbwGBps(sweep.collective, job.nranks, bytes, *us)}};
      }
      rows.push_back(std::move(json));
    }
    nlohmann::json json = {{"collective", collectiveName(sweep.collective)},
                           {"rows", std::move(rows)}};
    if (sweep.collective == Collective::kAllReduce) {
      json["tree_faster_up_to"] = treeCrossover(sweep);
    }
    collectives.push_back(std::move(json));
  }
  out["collectives"] = std::move(collectives);
  out["plan_checks"] = totals.findings.checks;
  out["plans_generated"] = totals.plans;
  out["errors"] = totals.findings.errors.lines();
  out["warnings"] = totals.findings.warnings.lines();
  out["validation_problems"] = totals.validation.problems;
  if (!test::writeJsonFile(path, out)) return makeError(tuttiSystemError, "cannot write {}", path);
  return Status::ok();
}

}  // namespace tutti::sim
