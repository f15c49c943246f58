// Multi-process test harness: forks N ranks on this host that share a unique id made by the
// parent, runs a body in each, and collects their exit status. The forking and waiting is
// testing/rank_launcher.h, the one launcher tutti-perf -np uses too. Each child exits with the
// body's return value (0 = success) without returning into GoogleTest.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <tuple>

#include "tutti/tutti.h"

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
