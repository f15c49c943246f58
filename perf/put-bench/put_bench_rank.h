// One rank of tutti-put-bench: two local ranks share a communicator, and each drives its
// connection to the other directly (transports/transport.h), below the executor, so that what is
// timed is the transport: two-sided messages against one-sided puts with a signal.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tutti/tutti.h"

namespace tutti::perf {

struct PutBenchOptions {
  std::vector<std::string> transports;  // TUTTI_TRANSPORT values, one launch each
  size_t minBytes = 8;
  size_t maxBytes = size_t{4} << 20;
  int factor = 4;
  int iters = 100;  // timed repetitions per size (fewer above 1 MiB, see itersFor)
  int warmup = 10;  // untimed repetitions before them
  int window = 16;  // transfers in flight in the bandwidth tests (OSU's window size)
  int timeoutMs = 60000;
  std::string jsonPath;
};

// The repetitions for a message of `bytes`: the options' count, scaled down above 1 MiB so that
// every size takes about as long (at least 4).
int itersFor(const PutBenchOptions& options, size_t bytes);

// One size's results, as rank 0 saw them. Latencies are half a round trip, in microseconds;
// bandwidths are bytes delivered per second, 1e9 (GB/s), with `window` transfers in flight.
// Put columns are negative where the transport has no put.
struct PutBenchRow {
  size_t bytes = 0;
  double sendRecvLatencyUs = 0;
  double putLatencyUs = -1;
  double sendRecvGBps = 0;
  double putGBps = -1;
  double memcpyGBps = 0;  // one memcpy of `bytes` on one core, for the limit
  long wrong = 0;         // bytes that did not arrive as sent, both ranks, every test
};

// What rank 0 hands back to the tool: plain data, in memory the forked ranks share with it.
struct PutBenchResult {
  static constexpr int kMaxRows = 64;
  char transport[64] = {};  // as the communicator describes it, e.g. "shm/cma"
  bool supportsPut = false;
  int rows = 0;
  PutBenchRow row[kMaxRows];
};

// The body of rank `rank` (0 or 1) of a launch for one transport (TUTTI_TRANSPORT is already
// set). Rank 0 fills *result. Returns 0 when every size ran with every byte right, 1 when bytes
// were wrong, 2 when setup or a transfer failed (the reason on stderr).
int runPutBenchRank(int rank, const tuttiUniqueId& id, const PutBenchOptions& options,
                    PutBenchResult* result);

}  // namespace tutti::perf
