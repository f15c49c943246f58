#include "testing/rank_launcher.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "testing/child_leak_check.h"

namespace tutti::test {
namespace {

RankExit exitOf(pid_t pid, int wstatus) {
  RankExit exit;
  exit.pid = pid;
  exit.exited = WIFEXITED(wstatus);
  if (exit.exited) exit.code = WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) exit.signal = WTERMSIG(wstatus);
  return exit;
}

}  // namespace

bool RankLaunch::ok() const {
  return error.empty() &&
         std::all_of(ranks.begin(), ranks.end(), [](const RankExit& r) { return r.ok(); });
}

std::string RankLaunch::failures() const {
  if (!error.empty()) return error;
  std::string out;
  for (size_t rank = 0; rank < ranks.size(); ++rank) {
    const RankExit& r = ranks[rank];
    if (r.timedOut) {
      out += fmt::format("rank {} killed after {} s; ", rank, timeoutSec);
    } else if (r.exited && r.code != 0) {
      out += fmt::format("rank {} exited with {}; ", rank, r.code);
    } else if (!r.exited) {
      out += fmt::format("rank {} died of signal {}; ", rank, r.signal);
    }
  }
  return out;
}

int RankLaunch::exitStatus() const {
  if (!error.empty()) return 1;
  int status = 0;
  for (const RankExit& r : ranks) status = std::max(status, r.exited ? r.code : 1);
  return status;
}

RankLaunch forkRanks(int nranks, const std::function<int(int rank)>& body, int timeoutSec) {
  RankLaunch launch;
  launch.timeoutSec = timeoutSec;
  // Buffered output would otherwise be written once by the parent and once by every child.
  std::fflush(stdout);
  std::fflush(stderr);
  std::vector<pid_t> pids;
  const bool forkedFromOneThread = onlyThreadOfProcess();
  for (int rank = 0; rank < nranks; ++rank) {
    const pid_t pid = fork();
    if (pid == 0) {
      const int code = body(rank);
      std::fflush(stdout);
      std::fflush(stderr);
      _exit(leakCheckedExitCode(code, forkedFromOneThread));
    }
    if (pid < 0) {
      launch.error = fmt::format("fork of rank {}: {}", rank, std::strerror(errno));
      for (pid_t child : pids) kill(child, SIGKILL);
      for (pid_t child : pids) waitpid(child, nullptr, 0);
      return launch;
    }
    pids.push_back(pid);
  }
  launch.ranks.resize(nranks);
  std::vector<bool> done(nranks, false);
  if (timeoutSec <= 0) {
    for (int rank = 0; rank < nranks; ++rank) {
      int wstatus = 0;
      waitpid(pids[rank], &wstatus, 0);
      launch.ranks[rank] = exitOf(pids[rank], wstatus);
    }
    return launch;
  }
  // Polled rather than blocking so that a hung rank is noticed whichever rank it is.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSec);
  int remaining = nranks;
  while (remaining > 0) {
    for (int rank = 0; rank < nranks; ++rank) {
      int wstatus = 0;
      if (!done[rank] && waitpid(pids[rank], &wstatus, WNOHANG) == pids[rank]) {
        launch.ranks[rank] = exitOf(pids[rank], wstatus);
        done[rank] = true;
        --remaining;
      }
    }
    if (remaining == 0) break;
    if (std::chrono::steady_clock::now() > deadline) {
      for (int rank = 0; rank < nranks; ++rank) {
        if (done[rank]) continue;
        kill(pids[rank], SIGKILL);
        int wstatus = 0;
        waitpid(pids[rank], &wstatus, 0);
        launch.ranks[rank] = exitOf(pids[rank], wstatus);
        launch.ranks[rank].timedOut = true;
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return launch;
}

}  // namespace tutti::test
