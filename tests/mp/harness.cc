#include "mp/harness.h"

#include <cstdio>

#include "testing/rank_launcher.h"

namespace tutti::test {

LaunchResult runRanks(int nranks, const RankBody& body, int timeoutSec, bool makeId) {
  LaunchResult result;
  tuttiUniqueId id{};
  if (makeId && tuttiGetUniqueId(&id) != tuttiSuccess) {
    result.failure = std::string("tuttiGetUniqueId: ") + tuttiGetLastError(nullptr);
    return result;
  }
  const RankLaunch launch = forkRanks(
      nranks, [&](int rank) { return body(rank, nranks, id); }, timeoutSec);
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
