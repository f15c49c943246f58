// tutti-perf --algo: the listed algorithms measured in turn at each size, the fastest against
// the model's choice. This file holds the list and the verdicts, free of communicators so that
// they have unit tests; perf_algo_run.cc measures, perf_algo_report.cc prints.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "algo/select.h"
#include "perf/bench/perf_bench.h"

namespace tutti::perf {

// "auto" in --algo: the spec left empty, so the model chooses.
constexpr const char* kAutoAlgo = "auto";

// A time within this fraction of the winner's counts as a near match: on a machine of few
// cores two runs of one algorithm differ by a few percent.
constexpr double kNearFraction = 0.05;

// "ring,tree,auto" into algorithm names as algorithmName spells them ("recursive_doubling"
// becomes "rd") plus "auto"; false with *error set for an unknown or repeated name.
bool parseAlgoList(const std::string& text, std::vector<std::string>* names, std::string* error);

// The TUTTI_ALGO text that runs one --algo column.
std::string algoSpecText(const std::string& name);

enum class Verdict {
  kNone,        // no verdict: TUTTI_ALGO pinned the choice, or no algorithm but auto measured
  kMatch,       // the model chose the measured winner
  kNear,        // another algorithm, measured within kNearFraction of the winner's time
  kMiss,        // another algorithm, measured slower than that
  kUnmeasured,  // another algorithm that this run did not measure
};
const char* verdictName(Verdict verdict);  // "-", "yes", "near", "no", "no*"

struct AlgoRow {
  size_t bytes = 0;
  size_t count = 0;
  tuttiDataType_t type = tuttiFloat32;
  tuttiRedOp_t op = tuttiSum;
  std::vector<std::optional<Measurement>> measured;  // per listed name; nullopt: does not apply
  Algorithm model = Algorithm::kRing;  // the communicator's choice under its own TUTTI_ALGO
  bool pinned = false;                 // TUTTI_ALGO made that choice, not the model
  // Set by judgeRow:
  int winner = -1;                // index in the list of the fastest but auto; -1: none
  std::optional<double> modelUs;  // the measured time of the model's choice
  bool modelListed = false;       // the model's choice has its own column (else auto's stands)
  Verdict verdict = Verdict::kNone;
};

// Sets winner, modelUs and verdict from measured, model and pinned. names: the --algo list.
// autoIsModel: the auto column ran the model's choice (the run's own TUTTI_ALGO is empty), so
// its time stands for the model's choice when that algorithm is not in the list.
void judgeRow(const std::vector<std::string>& names, bool autoIsModel, AlgoRow* row);

struct AlgoSummary {
  int compared = 0;  // rows with a verdict
  int matched = 0;   // kMatch
  int near = 0;      // kMatch or kNear: within kNearFraction of the winner's time
  int pinned = 0;
  int unmeasured = 0;
  int unlisted = 0;  // compared rows whose model choice had no column of its own
};
AlgoSummary summarize(const std::vector<AlgoRow>& rows);

}  // namespace tutti::perf
