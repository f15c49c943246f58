// Multi-process test harness: forks N ranks on this host that share a unique id the parent
// makes once they are forked and hands to them, runs a body in each, and collects their exit
// status. The forking and waiting is
// testing/rank_launcher.h, the one launcher tutti-perf -np uses too. Each child exits with the
// body's return value (0 = success) without returning into GoogleTest.
#pragma once

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <new>
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

// The steady clock in nanoseconds: the same in the parent and in its forked ranks, so that a
// rank can time its error from an event the parent noted.
inline int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A T constructed in shared anonymous memory, mapped before the ranks are forked so that they
// and the parent see one object; nullptr when mmap fails. Release with munmap(p, sizeof(T)).
template <typename T>
T* mapShared() {
  void* memory =
      mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return nullptr;
  return new (memory) T();
}

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
