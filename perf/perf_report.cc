#include "perf/perf_report.h"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/params.h"
#include "exec/datatype.h"

namespace tutti::perf {
namespace {

std::string timeText(double us) {
  // nccl-tests' precision steps keep the column 7 wide.
  if (us >= 10000) return fmt::format("{:7.0f}", us);
  if (us >= 100) return fmt::format("{:7.1f}", us);
  return fmt::format("{:7.2f}", us);
}

std::string wrongText(const Measurement& m) {
  return m.wrong < 0 ? "  N/A" : fmt::format("{:5d}", m.wrong);
}

const char* busFactorText(PerfCollective coll) {
  return coll == PerfCollective::kAllReduce ? "2(n-1)/n" : "(n-1)/n";
}

}  // namespace

void printHeader(const PerfOptions& options, const CommInfo& info,
                 const std::vector<RankPlace>& ranks) {
  std::string step = options.linearSteps ? fmt::format("{}(bytes)", options.stepBytes)
                                         : fmt::format("{}(factor)", options.stepFactor);
  fmt::print(
      "# Tutti {}.{}.{} tutti-perf {}: nranks {} nhosts {} transport {} algorithm {} "
      "nsocks/peer {}\n",
      TUTTI_MAJOR, TUTTI_MINOR, TUTTI_PATCH, options.collectiveName, info.nranks, info.nhosts,
      info.transport, info.algorithm, info.nSocksPerPeer);
  fmt::print(
      "# minBytes {} maxBytes {} step: {} warmup iters: {} iters: {} validation: {} "
      "average: {}\n",
      options.minBytes, options.maxBytes, step, options.warmupIters, options.iters, options.check,
      options.average);
  fmt::print("#\n# Using ranks\n");
  for (size_t r = 0; r < ranks.size(); ++r) {
    fmt::print("#  Rank {:2d} Pid {:6d} on {:>10s} host memory\n", r, ranks[r].pid, ranks[r].host);
  }
  // nccl-tests' layout: row prefix "%12li  %12li  %8s  %6s  %6i", then per placement
  // "  %7s  %6.2f  %6.2f  %5s" (out of place, then in place).
  fmt::print("#\n#{:62s}out-of-place{:23s}in-place\n", "", "");
  const std::string placement =
      fmt::format("  {:>7s}  {:>6s}  {:>6s} {:>6s}", "time", "algbw", "busbw", "#wrong");
  fmt::print("# {:>10s}  {:>12s}  {:>8s}  {:>6s}  {:>6s}{}{}\n", "size", "count", "type", "redop",
             "root", placement, placement);
  const std::string units =
      fmt::format("  {:>7s}  {:>6s}  {:>6s} {:>6s}", "(us)", "(GB/s)", "(GB/s)", "");
  std::string unitLine = fmt::format("# {:>10s}  {:>12s}  {:>8s}  {:>6s}  {:>6s}{}{}", "(B)",
                                     "(elements)", "", "", "", units, units);
  unitLine.erase(unitLine.find_last_not_of(' ') + 1);
  fmt::print("{}\n", unitLine);
  std::fflush(stdout);
}

void printRow(const PerfOptions& options, const Row& row) {
  const char* op = options.collective == PerfCollective::kAllGather ? "none" : redOpName(row.op);
  fmt::print(
      "{:12d}  {:12d}  {:>8s}  {:>6s}  {:6d}  {}  {:6.2f}  {:6.2f}  {}  {}  {:6.2f}  "
      "{:6.2f}  {}\n",
      row.bytes, row.count, dataTypeName(row.type), op, -1, timeText(row.outOfPlace.timeUs),
      row.outOfPlace.algbw, row.outOfPlace.busbw, wrongText(row.outOfPlace),
      timeText(row.inPlace.timeUs), row.inPlace.algbw, row.inPlace.busbw, wrongText(row.inPlace));
  std::fflush(stdout);
}

double printFooter(const PerfOptions& options, const CommInfo& info, const std::vector<Row>& rows) {
  long wrong = 0;
  double sum = 0;
  for (const Row& row : rows) {
    wrong += row.outOfPlace.wrong > 0 ? row.outOfPlace.wrong : 0;
    wrong += row.inPlace.wrong > 0 ? row.inPlace.wrong : 0;
    sum += row.outOfPlace.busbw + row.inPlace.busbw;
  }
  double avg = rows.empty() ? 0 : sum / (2.0 * rows.size());
  if (options.check) {
    fmt::print("# Out of bounds values : {} {}\n", wrong, wrong == 0 ? "OK" : "FAILED");
  } else {
    fmt::print("# Out of bounds values : not checked (-c 0)\n");
  }
  fmt::print("# Avg bus bandwidth    : {:.4f}\n#\n", avg);
  fmt::print(
      "# algbw = size / time, busbw = algbw * {} with n = {} (nccl-tests "
      "doc/PERFORMANCE.md); GB/s = 1e9 bytes/s\n#\n",
      busFactorText(options.collective), info.nranks);
  std::fflush(stdout);
  return avg;
}

void printParams() {
  fmt::print("# {:<24s}{:<12s}{}\n", "variable", "default", "meaning");
  for (const ParamInfo& param : paramTable()) {
    fmt::print("{:<26s}{:<12s}{}\n", param.env, param.defaultValue, param.doc);
  }
}

bool writeJson(const std::string& path, const PerfOptions& options, const CommInfo& info,
               const std::vector<Row>& rows, double avgBusbw) {
  auto measurement = [](const Measurement& m) {
    nlohmann::json j = {{"time_us", m.timeUs}, {"algbw", m.algbw}, {"busbw", m.busbw}};
    j["wrong"] = m.wrong < 0 ? nlohmann::json(nullptr) : nlohmann::json(m.wrong);
    return j;
  };
  nlohmann::json out;
  out["collective"] = options.collectiveName;
  out["nranks"] = info.nranks;
  out["nhosts"] = info.nhosts;
  out["transport"] = info.transport;
  out["algorithm"] = info.algorithm;
  out["datatype"] = options.typeText;  // a type name or "all"
  out["op"] = options.collective == PerfCollective::kAllGather ? "none" : options.opText;
  out["iters"] = options.iters;
  out["warmup_iters"] = options.warmupIters;
  out["bandwidth_unit"] = "GB/s (1e9 bytes/s)";
  out["busbw_factor"] = busBandwidthFactor(options.collective, info.nranks);
  out["results"] = nlohmann::json::array();
  for (const Row& row : rows) {
    out["results"].push_back(
        {{"size", row.bytes},
         {"count", row.count},
         {"type", dataTypeName(row.type)},
         {"redop", options.collective == PerfCollective::kAllGather ? "none" : redOpName(row.op)},
         {"out_of_place", measurement(row.outOfPlace)},
         {"in_place", measurement(row.inPlace)}});
  }
  out["avg_busbw"] = avgBusbw;
  std::ofstream file(path);
  file << out.dump(2) << "\n";
  return static_cast<bool>(file);
}

}  // namespace tutti::perf
