#include "mp/harness.h"

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

namespace tutti::test {

LaunchResult runRanks(int nranks, const RankBody& body, int timeoutSec, bool makeId) {
  LaunchResult result;
  const tuttiUniqueId none{};
  const RankLaunch launch =
      makeId
          ? forkRanksSharingId(
                nranks, [&](int rank, const tuttiUniqueId& id) { return body(rank, nranks, id); },
                timeoutSec)
          : forkRanks(
                nranks, [&](int rank) { return body(rank, nranks, none); }, timeoutSec);
  result.ok = launch.ok();
  result.failure = launch.failures();
  return result;
}

tuttiComm_t initComm(int rank, int nranks, const tuttiUniqueId& id, int timeoutMs) {
  tuttiConfig_t config = TUTTI_CONFIG_INITIALIZER;
  config.timeoutMs = timeoutMs;
  tuttiComm_t comm = nullptr;
  tuttiResult_t rc = tuttiCommInitRankConfig(&comm, nranks, id, rank, &config);
  if (rc != tuttiSuccess) {
    std::fprintf(stderr, "rank %d: init failed: %s: %s\n", rank, tuttiGetErrorString(rc),
                 tuttiGetLastError(nullptr));
    return nullptr;
  }
  return comm;
}

std::string ranksTransportName(const ::testing::TestParamInfo<std::tuple<int, const char*>>& info) {
  return std::to_string(std::get<0>(info.param)) + "ranks_" + std::get<1>(info.param);
}

}  // namespace tutti::test
