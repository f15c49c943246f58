#include "perf/bench/perf_algo_report.h"

#include <fmt/format.h>

#include "exec/datatype.h"
#include "testing/json_file.h"

namespace tutti::perf {
namespace {

// One algorithm's columns: "  time  busbw", as wide as nccl-tests' time and busbw.
constexpr size_t kGroupWidth = 2 + 7 + 2 + 6;

std::string group(const std::string& time, const std::string& busbw) {
  return fmt::format("  {:>7s}  {:>6s}", time, busbw);
}

long rowWrong(const AlgoRow& row) {
  long wrong = -1;
  for (const std::optional<Measurement>& m : row.measured) {
    if (m && m->wrong >= 0) wrong = std::max(wrong, 0L) + m->wrong;
  }
  return wrong;
}

std::string modelText(const AlgoRow& row) {
  return row.pinned ? "pinned" : algorithmName(row.model);
}

std::string winnerText(const std::vector<std::string>& names, const AlgoRow& row) {
  return row.winner < 0 ? "-" : names[row.winner];
}

}  // namespace

void printAlgoHeader(const PerfOptions& options, const CommInfo& info,
                     const std::vector<RankPlace>& ranks, const std::string& ownSpec) {
  std::FILE* out = tableOutput();
  printPreamble(options, info, ranks);
  fmt::print(out,
             "#\n# --algo: each algorithm in turn at each size, out of place (TUTTI_ALGO set to "
             "it; auto: unset, the model's choice); model: the choice under {}\n",
             ownSpec.empty() ? std::string("the cost model")
                             : fmt::format("this run's TUTTI_ALGO='{}'", ownSpec));
  fmt::print(out, "# cost model: intra {}: {}", info.intraTransport, linkCostText(info.cost.intra));
  if (info.nhosts > 1) {
    fmt::print(out, "; inter {}: {}", info.interTransport, linkCostText(info.cost.inter));
  }
  fmt::print(out, "\n# cost model's source: {}\n#\n", info.costSource);
  std::string names = fmt::format("# {:>10s}  {:>12s}  {:>8s}  {:>6s}", "", "", "", "");
  std::string columns =
      fmt::format("# {:>10s}  {:>12s}  {:>8s}  {:>6s}", "size", "count", "type", "redop");
  std::string units =
      fmt::format("# {:>10s}  {:>12s}  {:>8s}  {:>6s}", "(B)", "(elements)", "", "");
  for (const std::string& name : options.algos) {
    names += fmt::format("{:>{}s}", name + "     ", kGroupWidth);
    columns += group("time", "busbw");
    units += group("(us)", "(GB/s)");
  }
  columns += fmt::format("  {:>6s}  {:>6s}  {:>6s}  {:>5s}", "#wrong", "winner", "model", "match");
  fmt::print(out, "{}\n{}\n{}\n", names, columns, units);
  std::fflush(out);
}

void printAlgoRow(const PerfOptions& options, const AlgoRow& row) {
  std::FILE* out = tableOutput();
  std::string line = fmt::format("{:12d}  {:12d}  {:>8s}  {:>6s}", row.bytes, row.count,
                                 dataTypeName(row.type), opName(options, row.op));
  for (const std::optional<Measurement>& m : row.measured) {
    line += m ? group(timeText(m->timeUs), fmt::format("{:6.2f}", m->busbw)) : group("n/a", "n/a");
  }
  const long wrong = rowWrong(row);
  line += fmt::format("  {:>6s}  {:>6s}  {:>6s}  {:>5s}", wrong < 0 ? "N/A" : std::to_string(wrong),
                      winnerText(options.algos, row), modelText(row), verdictName(row.verdict));
  fmt::print(out, "{}\n", line);
  for (size_t i = 0; i < row.measured.size(); ++i) {
    if (row.measured[i] && row.measured[i]->wrong > 0) {
      fmt::print(out, "# {} gave {} wrong values at {} B\n", options.algos[i],
                 row.measured[i]->wrong, row.bytes);
    }
  }
  std::fflush(out);
}

void printAlgoFooter(const PerfOptions& options, int nranks, const std::vector<AlgoRow>& rows,
                     const std::string& ownSpec) {
  std::FILE* out = tableOutput();
  long wrong = 0;
  for (const AlgoRow& row : rows) wrong += std::max(rowWrong(row), 0L);
  printWrongCount(options, wrong);
  const AlgoSummary summary = summarize(rows);
  fmt::print(out, "# model matched the measured winner at {} of {} sizes\n", summary.matched,
             summary.compared);
  fmt::print(out,
             "# model's choice within {:.0f}% of the winner's time at {} of {} sizes (timing "
             "on few cores is noisy)\n",
             kNearFraction * 100, summary.near, summary.compared);
  if (summary.pinned > 0) {
    fmt::print(out, "# TUTTI_ALGO='{}' pinned the choice at {} sizes: not compared there\n",
               ownSpec, summary.pinned);
  }
  if (summary.unlisted > summary.unmeasured) {
    fmt::print(out,
               "# the model chose an algorithm without its own column at {} sizes (auto's time "
               "stood for it); list every candidate for exact matches\n",
               summary.unlisted - summary.unmeasured);
  }
  if (summary.unmeasured > 0) {
    fmt::print(out,
               "# no*: the model chose an algorithm this run did not measure (add it to --algo) "
               "at {} sizes; counted as misses\n",
               summary.unmeasured);
  }
  fmt::print(out, "#\n");
  printBandwidthNote(options, nranks);
}

const char* const kAlgoCsvHeader =
    "collective,ranks,bytes,count,type,op,algorithm,time_us,p50_us,p99_us,algbw_GBps,busbw_GBps,"
    "wrong,winner,model,model_pinned,match";

bool writeAlgoCsv(CsvWriter* csv, const PerfOptions& options, int nranks, const AlgoRow& row) {
  const std::string verdict =
      fmt::format("{},{},{},{}", row.winner < 0 ? "" : options.algos[row.winner],
                  algorithmName(row.model), row.pinned ? 1 : 0, verdictName(row.verdict));
  for (size_t i = 0; i < row.measured.size(); ++i) {
    const std::optional<Measurement>& m = row.measured[i];
    const std::string measured =
        m ? fmt::format("{},{},{},{},{},{}", csvNumber(m->timeUs), csvNumber(m->p50Us),
                        csvNumber(m->p99Us), csvNumber(m->algbw), csvNumber(m->busbw),
                        m->wrong < 0 ? "" : std::to_string(m->wrong))
          : ",,,,,";
    if (!csv->writeLine(fmt::format("{},{},{},{},{},{},{},{},{}", options.collectiveName, nranks,
                                    row.bytes, row.count, dataTypeName(row.type),
                                    opName(options, row.op), options.algos[i], measured,
                                    verdict))) {
      return false;
    }
  }
  return true;
}

bool writeAlgoJson(const std::string& path, const PerfOptions& options, const CommInfo& info,
                   const std::vector<AlgoRow>& rows, const std::string& ownSpec) {
  nlohmann::json out = runJson(options, info);
  nlohmann::json results = nlohmann::json::array();
  for (const AlgoRow& row : rows) {
    nlohmann::json measured = nlohmann::json::object();
    for (size_t i = 0; i < row.measured.size(); ++i) {
      measured[options.algos[i]] =
          row.measured[i] ? measurementJson(*row.measured[i]) : nlohmann::json(nullptr);
    }
    results.push_back(
        {{"size", row.bytes},
         {"count", row.count},
         {"type", dataTypeName(row.type)},
         {"redop", opName(options, row.op)},
         {"out_of_place", measured},
         {"winner",
          row.winner < 0 ? nlohmann::json(nullptr) : nlohmann::json(options.algos[row.winner])},
         {"model", algorithmName(row.model)},
         {"model_pinned", row.pinned},
         {"model_time_us", row.modelUs ? nlohmann::json(*row.modelUs) : nlohmann::json(nullptr)},
         {"match", verdictName(row.verdict)}});
  }
  const AlgoSummary summary = summarize(rows);
  out["algo"] = {{"algorithms", options.algos},
                 {"own_spec", ownSpec},
                 {"cost_source", info.costSource},
                 {"near_fraction", kNearFraction},
                 {"sizes_compared", summary.compared},
                 {"matched", summary.matched},
                 {"within_near_fraction", summary.near},
                 {"pinned", summary.pinned},
                 {"unmeasured", summary.unmeasured},
                 {"model_unlisted", summary.unlisted},
                 {"rows", results}};
  return test::writeJsonFile(path, out);
}

}  // namespace tutti::perf
