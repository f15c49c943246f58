#include "testing/rank_launcher.h"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
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

namespace {

// Waits for the forked ranks, killing those still running after timeoutSec (<= 0: waits for
// ever).
void waitRanks(const std::vector<pid_t>& pids, int timeoutSec, RankLaunch* launch) {
  const int nranks = static_cast<int>(pids.size());
  launch->ranks.resize(nranks);
  std::vector<bool> done(nranks, false);
  if (timeoutSec <= 0) {
    for (int rank = 0; rank < nranks; ++rank) {
      int wstatus = 0;
      waitpid(pids[rank], &wstatus, 0);
      launch->ranks[rank] = exitOf(pids[rank], wstatus);
    }
    return;
  }
  // Polled rather than blocking so that a hung rank is noticed whichever rank it is.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSec);
  int remaining = nranks;
  while (remaining > 0) {
    for (int rank = 0; rank < nranks; ++rank) {
      int wstatus = 0;
      if (!done[rank] && waitpid(pids[rank], &wstatus, WNOHANG) == pids[rank]) {
        launch->ranks[rank] = exitOf(pids[rank], wstatus);
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
        launch->ranks[rank] = exitOf(pids[rank], wstatus);
        launch->ranks[rank].timedOut = true;
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// In a child: the parent's bytes, read until the parent closes the pipe (bounded by timeoutSec).
std::optional<std::string> readHandout(int fd, int timeoutSec) {
  std::string bytes;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSec > 0 ? timeoutSec : 3600);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000))) <= 0) continue;
    char buffer[512];
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    bytes.append(buffer, static_cast<size_t>(n));
  }
  if (bytes.empty()) return std::nullopt;
  return bytes.substr(1);  // a leading byte, so that an empty hand-out differs from none
}

}  // namespace

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
  waitRanks(pids, timeoutSec, &launch);
  return launch;
}

RankLaunch forkRanksWithHandout(int nranks,
                                const std::function<std::optional<std::string>()>& handout,
                                const std::function<int(int rank, const std::string&)>& body,
                                int timeoutSec) {
  std::vector<int> readEnds(nranks, -1);
  std::vector<int> writeEnds(nranks, -1);
  auto closeAll = [&] {
    for (int& fd : readEnds) {
      if (fd >= 0) close(fd);
      fd = -1;
    }
    for (int& fd : writeEnds) {
      if (fd >= 0) close(fd);
      fd = -1;
    }
  };
  for (int rank = 0; rank < nranks; ++rank) {
    // A socket rather than a pipe: a write to a rank that is gone is EPIPE, not SIGPIPE.
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      closeAll();
      RankLaunch launch;
      launch.error = fmt::format("socketpair for rank {}: {}", rank, std::strerror(errno));
      return launch;
    }
    readEnds[rank] = fds[0];
    writeEnds[rank] = fds[1];
  }
  std::fflush(stdout);
  std::fflush(stderr);
  RankLaunch launch;
  launch.timeoutSec = timeoutSec;
  std::vector<pid_t> pids;
  const bool forkedFromOneThread = onlyThreadOfProcess();
  for (int rank = 0; rank < nranks; ++rank) {
    const pid_t pid = fork();
    if (pid == 0) {
      for (int other = 0; other < nranks; ++other) {
        close(writeEnds[other]);
        if (other != rank) close(readEnds[other]);
      }
      const std::optional<std::string> bytes = readHandout(readEnds[rank], timeoutSec);
      close(readEnds[rank]);
      int code = 98;
      if (bytes) code = body(rank, *bytes);
      std::fflush(stdout);
      std::fflush(stderr);
      _exit(leakCheckedExitCode(code, forkedFromOneThread));
    }
    if (pid < 0) {
      launch.error = fmt::format("fork of rank {}: {}", rank, std::strerror(errno));
      closeAll();
      for (pid_t child : pids) kill(child, SIGKILL);
      for (pid_t child : pids) waitpid(child, nullptr, 0);
      return launch;
    }
    pids.push_back(pid);
  }
  for (int& fd : readEnds) {
    close(fd);
    fd = -1;
  }
  const std::optional<std::string> bytes = handout();
  if (bytes) {
    const std::string framed = "+" + *bytes;
    for (int rank = 0; rank < nranks; ++rank) {
      size_t written = 0;
      while (written < framed.size()) {
        const ssize_t n =
            send(writeEnds[rank], framed.data() + written, framed.size() - written, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // the rank is gone: its exit says so
        written += static_cast<size_t>(n);
      }
    }
  }
  closeAll();
  waitRanks(pids, timeoutSec, &launch);
  if (!bytes) launch.error = "the parent's hand-out to the ranks failed";
  return launch;
}

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

}  // namespace tutti::test
