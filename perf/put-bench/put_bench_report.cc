#include "perf/put-bench/put_bench_report.h"

#include <fmt/format.h>

#include <cstdio>
#include <string>

namespace tutti::perf {
namespace {

std::string number(double value, int precision) {
  return value < 0 ? std::string("n/a") : fmt::format("{:.{}f}", value, precision);
}

}  // namespace

void printPutBenchTable(const PutBenchResult& result, const PutBenchOptions& options) {
  std::printf("# transport %s, 2 ranks, %d in flight in the bandwidth tests, warmup %d\n",
              result.transport, options.window, options.warmup);
  if (!result.supportsPut) std::printf("# this transport has no one-sided put\n");
  std::printf("#%11s %7s  %11s %9s  %11s %9s  %9s  %6s\n", "size", "iters", "send/recv", "put",
              "send/recv", "put", "memcpy", "wrong");
  std::printf("#%11s %7s  %11s %9s  %11s %9s  %9s  %6s\n", "(B)", "", "(us)", "(us)", "(GB/s)",
              "(GB/s)", "(GB/s)", "(B)");
  for (int i = 0; i < result.rows; ++i) {
    const PutBenchRow& row = result.row[i];
    std::printf(" %11zu %7d  %11s %9s  %11s %9s  %9s  %6ld\n", row.bytes,
                itersFor(options, row.bytes), number(row.sendRecvLatencyUs, 2).c_str(),
                number(row.putLatencyUs, 2).c_str(), number(row.sendRecvGBps, 3).c_str(),
                number(row.putGBps, 3).c_str(), number(row.memcpyGBps, 2).c_str(), row.wrong);
  }
  std::fflush(stdout);
}

nlohmann::json putBenchJson(const PutBenchResult& result, const PutBenchOptions& options) {
  auto orNull = [](double value) { return value < 0 ? nlohmann::json() : nlohmann::json(value); };
  nlohmann::json rows = nlohmann::json::array();
  for (int i = 0; i < result.rows; ++i) {
    const PutBenchRow& row = result.row[i];
    rows.push_back({{"bytes", row.bytes},
                    {"iters", itersFor(options, row.bytes)},
                    {"send_recv_latency_us", row.sendRecvLatencyUs},
                    {"put_latency_us", orNull(row.putLatencyUs)},
                    {"send_recv_gbps", row.sendRecvGBps},
                    {"put_gbps", orNull(row.putGBps)},
                    {"memcpy_gbps", row.memcpyGBps},
                    {"wrong", row.wrong}});
  }
  return {{"transport", result.transport},
          {"supports_put", result.supportsPut},
          {"window", options.window},
          {"warmup", options.warmup},
          {"rows", rows}};
}

}  // namespace tutti::perf
