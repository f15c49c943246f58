#include "perf/bench/perf_report.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/params.h"
#include "core/builtin_transports.h"
#include "exec/datatype.h"
#include "perf/bench/perf_membw.h"
#include "testing/json_file.h"
#include "testing/nccl_tests.h"

namespace tutti::perf {
namespace {

std::FILE* g_table = stdout;

// Widths of the table: nccl-tests' 13 columns (prefix and two placements) keep their places;
// p50/p99 (out of place, in place) and the bound follow them.
constexpr size_t kNcclWidth = 52 + 32 + 32;
constexpr size_t kPercentileWidth = 18;
constexpr size_t kBoundWidth = 25;

std::string centered(const std::string& text, size_t width) {
  if (text.size() >= width) return text;
  size_t left = (width - text.size() + 1) / 2;
  return std::string(left, ' ') + text + std::string(width - text.size() - left, ' ');
}

std::string rtrim(std::string text) {
  text.erase(text.find_last_not_of(' ') + 1);
  return text;
}

double fraction(double boundUs, double timeUs) { return timeUs > 0 ? boundUs / timeUs : 0; }

std::string wrongText(const Measurement& m) {
  return m.wrong < 0 ? "  N/A" : fmt::format("{:5d}", m.wrong);
}

}  // namespace

const char* opName(const PerfOptions& options, tuttiRedOp_t op) {
  return isReduction(collectiveOf(options.collective)) ? redOpName(op) : "none";
}

std::string linkCostText(const LinkCost& cost) {
  std::string rendezvous =
      cost.rendezvousBytes == SIZE_MAX
          ? ""
          : fmt::format(" ({:.3g} us from {} B)", cost.rendezvousAlphaUs, cost.rendezvousBytes);
  return fmt::format("alpha {:.3g} us{}, beta {:.3g} ns/B, gamma {:.3g} ns/B", cost.alphaUs,
                     rendezvous, cost.betaNsPerByte, cost.gammaNsPerByte);
}

void setTableOutput(std::FILE* out) { g_table = out; }
std::FILE* tableOutput() { return g_table; }

std::string timeText(double us) {
  // nccl-tests' precision steps keep the column 7 wide.
  if (us >= 10000) return fmt::format("{:7.0f}", us);
  if (us >= 100) return fmt::format("{:7.1f}", us);
  return fmt::format("{:7.2f}", us);
}

void printPreamble(const PerfOptions& options, const CommInfo& info,
                   const std::vector<RankPlace>& ranks) {
  std::string step = options.linearSteps ? fmt::format("{}(bytes)", options.stepBytes)
                                         : fmt::format("{}(factor)", options.stepFactor);
  fmt::print(g_table,
             "# Tutti {}.{}.{} tutti-perf {}: nranks {} nhosts {} transport {} algorithm {} "
             "nsocks/peer {}\n",
             TUTTI_MAJOR, TUTTI_MINOR, TUTTI_PATCH, options.collectiveName, info.nranks,
             info.nhosts, info.transport, info.algorithm, info.nSocksPerPeer);
  fmt::print(g_table,
             "# minBytes {} maxBytes {} step: {} warmup iters: {} iters: {} validation: {} "
             "average: {}\n",
             options.minBytes, options.maxBytes, step, options.warmupIters, options.iters,
             options.check, options.average);
  if (options.device) {
    fmt::print(g_table, "# device buffers on streams (--device){}\n",
               options.registerMode == 2
                   ? ", in a TUTTI_WIN_COLL_SYMMETRIC window registered per size (-R 2)"
                   : "");
  }
  fmt::print(g_table, "#\n# Using ranks\n");
  for (size_t r = 0; r < ranks.size(); ++r) {
    fmt::print(g_table, "#  Rank {:2d} Pid {:6d} on {:>10s} host memory\n", r, ranks[r].pid,
               ranks[r].host);
  }
}

void printHeader(const PerfOptions& options, const CommInfo& info,
                 const std::vector<RankPlace>& ranks, const BoundInfo& bound) {
  printPreamble(options, info, ranks);
  // nccl-tests' layout: row prefix "%12li  %12li  %8s  %6s  %6i", then per placement
  // "  %7s  %6.2f  %6.2f  %5s" (out of place, then in place).
  if (bound.enabled) {
    const HostMemory& host = bound.hosts[bound.binding];
    for (const HostMemory& h : bound.hosts) {
      if (bound.measured) {
        fmt::print(g_table,
                   "# Memory bandwidth {:.2f} GB/s on {} ({} ranks): best of {} memcpy runs of "
                   "{} MiB per thread on {} threads, 2 bytes of traffic per byte copied\n",
                   h.gbps, h.host, h.ranks, kBoundRepetitions, kBoundCopyBytes >> 20, h.threads);
      } else {
        fmt::print(g_table, "# Memory bandwidth {:.2f} GB/s on {} ({} ranks): --mem-gbps\n", h.gbps,
                   h.host, h.ranks);
      }
    }
    fmt::print(g_table,
               "# bound = ranks on host x bytes per rank / memory bandwidth = {} x {} / {:.2f} "
               "GB/s with n = {} (bytes read + written by a single-copy host algorithm); "
               "frac = bound / time\n",
               host.ranks, boundFormulaText(options.collective), host.gbps, info.nranks);
  }
  // nccl-tests' layout: row prefix "%12li  %12li  %8s  %6s  %6i", then per placement
  // "  %7s  %6.2f  %6.2f  %5s" (out of place, then in place); then ours.
  std::string groups = fmt::format("#{:62s}out-of-place{:23s}in-place", "", "");
  groups.resize(kNcclWidth, ' ');
  groups += centered("out-of-place", kPercentileWidth) + centered("in-place", kPercentileWidth);
  if (bound.enabled) groups += centered("memory bound", kBoundWidth);
  fmt::print(g_table, "#\n{}\n", rtrim(groups));
  const std::string placement =
      fmt::format("  {:>7s}  {:>6s}  {:>6s} {:>6s}", "time", "algbw", "busbw", "#wrong");
  const std::string percentiles = fmt::format("  {:>7s}  {:>7s}", "p50", "p99");
  const std::string boundNames =
      bound.enabled ? fmt::format("  {:>7s}  {:>6s}  {:>6s}", "bound", "frac", "frac") : "";
  fmt::print(g_table, "# {:>10s}  {:>12s}  {:>8s}  {:>6s}  {:>6s}{}{}{}{}{}\n", "size", "count",
             "type", "redop", "root", placement, placement, percentiles, percentiles, boundNames);
  const std::string units =
      fmt::format("  {:>7s}  {:>6s}  {:>6s} {:>6s}", "(us)", "(GB/s)", "(GB/s)", "");
  const std::string percentileUnits = fmt::format("  {:>7s}  {:>7s}", "(us)", "(us)");
  const std::string boundUnits =
      bound.enabled ? fmt::format("  {:>7s}  {:>6s}  {:>6s}", "(us)", "(out)", "(in)") : "";
  std::string unitLine =
      fmt::format("# {:>10s}  {:>12s}  {:>8s}  {:>6s}  {:>6s}{}{}{}{}{}", "(B)", "(elements)", "",
                  "", "", units, units, percentileUnits, percentileUnits, boundUnits);
  fmt::print(g_table, "{}\n", rtrim(unitLine));
  std::fflush(g_table);
}

void printRow(const PerfOptions& options, const Row& row, int nranks, const BoundInfo& bound) {
  std::string line = fmt::format(
      "{:12d}  {:12d}  {:>8s}  {:>6s}  {:6d}  {}  {:6.2f}  {:6.2f}  {}  {}  {:6.2f}  "
      "{:6.2f}  {}  {}  {}  {}  {}",
      row.bytes, row.count, dataTypeName(row.type), opName(options, row.op),
      isRooted(collectiveOf(options.collective)) ? kPerfRoot : -1, timeText(row.outOfPlace.timeUs),
      row.outOfPlace.algbw, row.outOfPlace.busbw, wrongText(row.outOfPlace),
      timeText(row.inPlace.timeUs), row.inPlace.algbw, row.inPlace.busbw, wrongText(row.inPlace),
      timeText(row.outOfPlace.p50Us), timeText(row.outOfPlace.p99Us), timeText(row.inPlace.p50Us),
      timeText(row.inPlace.p99Us));
  if (bound.enabled) {
    const double boundUs = boundTimeUs(bound, options.collective, row.bytes, nranks);
    line += fmt::format("  {}  {:6.3f}  {:6.3f}", timeText(boundUs),
                        fraction(boundUs, row.outOfPlace.timeUs),
                        fraction(boundUs, row.inPlace.timeUs));
  }
  fmt::print(g_table, "{}\n", line);
  std::fflush(g_table);
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
  printWrongCount(options, wrong);
  fmt::print(g_table, "# Avg bus bandwidth    : {:.4f}\n#\n", avg);
  printBandwidthNote(options, info.nranks);
  return avg;
}

void printBandwidthNote(const PerfOptions& options, int nranks) {
  fmt::print(g_table,
             "# algbw = size / time, busbw = algbw * {} with n = {} (nccl-tests "
             "doc/PERFORMANCE.md); GB/s = 1e9 bytes/s\n#\n",
             test::busBandwidthFactorText(collectiveOf(options.collective)), nranks);
  std::fflush(g_table);
}

void printWrongCount(const PerfOptions& options, long wrong) {
  if (options.check) {
    fmt::print(g_table, "# Out of bounds values : {} {}\n", wrong, wrong == 0 ? "OK" : "FAILED");
  } else {
    fmt::print(g_table, "# Out of bounds values : not checked (-c 0)\n");
  }
}

void printParams() {
  fmt::print("# {:<24s}{:<12s}{}\n", "variable", "default", "meaning");
  builtinTransports();  // registers the transports' tables
  for (const ParamInfo& param : everyParam()) {
    fmt::print("{:<26s}{:<12s}{}\n", param.env, param.defaultValue, param.doc);
  }
}

nlohmann::json measurementJson(const Measurement& m) {
  return {{"time_us", m.timeUs},
          {"p50_us", m.p50Us},
          {"p99_us", m.p99Us},
          {"algbw", m.algbw},
          {"busbw", m.busbw},
          {"wrong", m.wrong < 0 ? nlohmann::json(nullptr) : nlohmann::json(m.wrong)}};
}

nlohmann::json runJson(const PerfOptions& options, const CommInfo& info) {
  nlohmann::json out;
  out["collective"] = options.collectiveName;
  out["nranks"] = info.nranks;
  out["nhosts"] = info.nhosts;
  out["transport"] = info.transport;
  out["algorithm"] = info.algorithm;
  out["datatype"] = options.typeText;  // a type name or "all"
  out["op"] = isReduction(collectiveOf(options.collective)) ? options.opText : "none";
  out["iters"] = options.iters;
  out["warmup_iters"] = options.warmupIters;
  out["bandwidth_unit"] = "GB/s (1e9 bytes/s)";
  out["busbw_factor"] = test::busBandwidthFactor(collectiveOf(options.collective), info.nranks);
  out["time_stats"] =
      "time_us: mean; p50_us, p99_us: nearest rank over the iterations, each "
      "the max over ranks";
  return out;
}

bool writeJson(const std::string& path, const PerfOptions& options, const CommInfo& info,
               const std::vector<Row>& rows, double avgBusbw, const BoundInfo& bound) {
  auto measurement = [&bound](const Measurement& m, double boundUs) {
    nlohmann::json j = measurementJson(m);
    if (bound.enabled) {
      j["bound_us"] = boundUs;
      j["bound_fraction"] = fraction(boundUs, m.timeUs);
    }
    return j;
  };
  nlohmann::json out = runJson(options, info);
  if (bound.enabled) {
    nlohmann::json hosts = nlohmann::json::array();
    for (const HostMemory& h : bound.hosts) {
      hosts.push_back({{"host", h.host}, {"ranks", h.ranks}, {"mem_gbps", h.gbps}});
      if (bound.measured) hosts.back()["memcpy_threads"] = h.threads;
    }
    const HostMemory& host = bound.hosts[bound.binding];
    out["bound"] = {{"mem_gbps", host.gbps},
                    {"host_ranks", host.ranks},
                    {"mem_gbps_source", bound.measured ? "measured" : "--mem-gbps"},
                    {"bytes_per_rank", boundFormulaText(options.collective)},
                    {"formula", "bound_us = host_ranks x bytes_per_rank / mem_gbps"},
                    {"hosts", hosts}};
  }
  out["results"] = nlohmann::json::array();
  for (const Row& row : rows) {
    const double boundUs = boundTimeUs(bound, options.collective, row.bytes, info.nranks);
    out["results"].push_back({{"size", row.bytes},
                              {"count", row.count},
                              {"type", dataTypeName(row.type)},
                              {"redop", opName(options, row.op)},
                              {"out_of_place", measurement(row.outOfPlace, boundUs)},
                              {"in_place", measurement(row.inPlace, boundUs)}});
  }
  out["avg_busbw"] = avgBusbw;
  return test::writeJsonFile(path, out);
}

std::string csvNumber(double value) { return fmt::format("{:.6g}", value); }

const char* const kRowCsvHeader =
    "collective,ranks,bytes,count,type,op,placement,time_us,p50_us,p99_us,algbw_GBps,"
    "busbw_GBps,bound_us,bound_fraction,wrong";

CsvWriter::~CsvWriter() {
  if (file_ != nullptr && file_ != stdout) std::fclose(file_);
}

bool CsvWriter::open(const std::string& path, const char* header) {
  path_ = path;
  file_ = path == "-" ? stdout : std::fopen(path.c_str(), "w");
  if (file_ == nullptr) {
    std::fprintf(stderr, "tutti-perf: --csv %s: cannot open for writing: %s\n", path.c_str(),
                 std::strerror(errno));
    return false;
  }
  return writeLine(header);
}

bool CsvWriter::writeRow(const PerfOptions& options, const Row& row, int nranks,
                         const BoundInfo& bound) {
  if (file_ == nullptr) return true;
  const double boundUs = boundTimeUs(bound, options.collective, row.bytes, nranks);
  for (bool inPlace : {false, true}) {
    const Measurement& m = inPlace ? row.inPlace : row.outOfPlace;
    // Empty fields: no bound without --bound, no count without -c 1.
    if (!writeLine(fmt::format(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}", options.collectiveName, nranks,
            row.bytes, row.count, dataTypeName(row.type), opName(options, row.op),
            inPlace ? "in" : "out", csvNumber(m.timeUs), csvNumber(m.p50Us), csvNumber(m.p99Us),
            csvNumber(m.algbw), csvNumber(m.busbw), bound.enabled ? csvNumber(boundUs) : "",
            bound.enabled ? csvNumber(fraction(boundUs, m.timeUs)) : "",
            m.wrong < 0 ? "" : std::to_string(m.wrong)))) {
      return false;
    }
  }
  return true;
}

bool CsvWriter::writeLine(const std::string& line) {
  if (file_ == nullptr) return true;
  fmt::print(file_, "{}\n", line);
  if (std::fflush(file_) != 0 || std::ferror(file_)) {
    std::fprintf(stderr, "tutti-perf: --csv %s: write failed: %s\n", path_.c_str(),
                 std::strerror(errno));
    return false;
  }
  return true;
}

bool CsvWriter::close() {
  if (file_ == nullptr) return true;
  bool ok = std::fflush(file_) == 0 && !std::ferror(file_);
  if (file_ != stdout) ok = std::fclose(file_) == 0 && ok;
  file_ = nullptr;
  if (!ok) std::fprintf(stderr, "tutti-perf: --csv %s: write failed\n", path_.c_str());
  return ok;
}

}  // namespace tutti::perf
