// tutti-put-bench's output: a table per transport in the manner of the OSU micro-benchmarks
// (latency as half a round trip, bandwidth with a window of transfers in flight), and the same
// numbers as JSON through the tools' one writer (src/testing/json_file.h).
#pragma once

#include <nlohmann/json.hpp>

#include "perf/put-bench/put_bench_rank.h"

namespace tutti::perf {

// The table of one transport's launch, header included, on stdout.
void printPutBenchTable(const PutBenchResult& result, const PutBenchOptions& options);

// One transport's launch as a JSON object: {"transport", "supports_put", "rows": [...]}, each row
// with bytes, iters, latencies in us, bandwidths in GB/s (null where there is no put), memcpy
// GB/s and wrong bytes.
nlohmann::json putBenchJson(const PutBenchResult& result, const PutBenchOptions& options);

}  // namespace tutti::perf
