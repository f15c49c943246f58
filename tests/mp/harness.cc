#include "mp/harness.h"

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

namespace tutti::test {

RankLaunch forkRanksSharingId(int nranks,
                              const std::function<int(int rank, const tuttiUniqueId& id)>& body,
                              int timeoutSec) {
  std::string idError;
  RankLaunch launch = forkRanksWithHandout(
      nranks,
      [&]() -> std::optional<std::string> {
        tuttiUniqueId id{};
        if (tuttiGetUniqueId(&id) != tuttiSuccess) {
          idError = std::string("tuttiGetUniqueId: ") + tuttiGetLastError(nullptr);
          return std::nullopt;
        }
        return std::string(id.internal, sizeof(id.internal));
      },
      [&](int rank, const std::string& bytes) {
        tuttiUniqueId id{};
        if (bytes.size() != sizeof(id.internal)) return 97;
        std::memcpy(id.internal, bytes.data(), bytes.size());
        return body(rank, id);
      },
      timeoutSec);
  if (!idError.empty()) launch.error = idError;
  return launch;
}

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
