#include "mp/harness.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace tutti::test {

LaunchResult runRanks(int nranks, const RankBody& body, int timeoutSec, bool makeId) {
  LaunchResult result;
  tuttiUniqueId id{};
  if (makeId && tuttiGetUniqueId(&id) != tuttiSuccess) {
    result.failure = std::string("tuttiGetUniqueId: ") + tuttiGetLastError(nullptr);
    return result;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  std::vector<pid_t> pids;
  for (int rank = 0; rank < nranks; ++rank) {
    pid_t pid = fork();
    if (pid == 0) {
      int code = body(rank, nranks, id);
      std::fflush(stdout);
      std::fflush(stderr);
      _exit(code);
    }
    if (pid < 0) {
      result.failure = "fork failed";
      for (pid_t child : pids) kill(child, SIGKILL);
      for (pid_t child : pids) waitpid(child, nullptr, 0);
      return result;
    }
    pids.push_back(pid);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSec);
  std::vector<int> status(nranks, -1);
  int remaining = nranks;
  while (remaining > 0) {
    for (int rank = 0; rank < nranks; ++rank) {
      if (status[rank] != -1) continue;
      int wstatus = 0;
      if (waitpid(pids[rank], &wstatus, WNOHANG) == pids[rank]) {
        status[rank] = wstatus;
        --remaining;
      }
    }
    if (remaining == 0) break;
    if (std::chrono::steady_clock::now() > deadline) {
      for (int rank = 0; rank < nranks; ++rank) {
        if (status[rank] == -1) {
          kill(pids[rank], SIGKILL);
          waitpid(pids[rank], nullptr, 0);
          result.failure += fmt::format("rank {} killed after {} s; ", rank, timeoutSec);
        }
      }
      return result;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  result.ok = true;
  for (int rank = 0; rank < nranks; ++rank) {
    int wstatus = status[rank];
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) continue;
    result.ok = false;
    if (WIFEXITED(wstatus)) {
      result.failure += fmt::format("rank {} exited with {}; ", rank, WEXITSTATUS(wstatus));
    } else if (WIFSIGNALED(wstatus)) {
      result.failure += fmt::format("rank {} died of signal {}; ", rank, WTERMSIG(wstatus));
    }
  }
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

}  // namespace tutti::test
