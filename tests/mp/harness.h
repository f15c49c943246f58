// Multi-process test harness: forks N ranks on this host that share a unique id the parent
// makes once they are forked and hands to them, runs a body in each, and collects their exit
// status. The forking and waiting is
// testing/rank_launcher.h, the one launcher tutti-perf -np uses too. Each child exits with the
// body's return value (0 = success) without returning into GoogleTest.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <string>
#include <tuple>

#include "testing/rank_launcher.h"
#include "tutti/tutti.h"

// In a rank's body: a failed call prints where and why, and the rank exits with code 10.
#define CHECK_RC(call)                                                      \
  do {                                                                      \
    tuttiResult_t rc_ = (call);                                             \
    if (rc_ != tuttiSuccess) {                                              \
      std::fprintf(stderr, "%s:%d %s: %s: %s\n", __FILE__, __LINE__, #call, \
                   tuttiGetErrorString(rc_), tuttiGetLastError(nullptr));   \
      return 10;                                                            \
    }                                                                       \
  } while (0)

namespace tutti::test {

using RankBody = std::function<int(int rank, int nranks, const tuttiUniqueId& id)>;

struct LaunchResult {
  bool ok = false;
  std::string failure;  // which ranks failed and how
};

// Runs body on nranks forked processes; children still running after timeoutSec are killed.
// makeId: create a unique id in the parent first (false: the body sets up its own bootstrap).
LaunchResult runRanks(int nranks, const RankBody& body, int timeoutSec = 300, bool makeId = true);

// The name of a test of a suite parametrized by (ranks, transport): "3ranks_shm".
std::string ranksTransportName(const ::testing::TestParamInfo<std::tuple<int, const char*>>& info);

// Creates a communicator in a child, printing the error on failure.
tuttiComm_t initComm(int rank, int nranks, const tuttiUniqueId& id, int timeoutMs = 60000);

}  // namespace tutti::test
