#include "mp/emulated_hosts.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace tutti::test {
namespace {

constexpr const char* kPrefix = "tutti-nl-";
constexpr const char* kNetnsDir = "/var/run/netns";

// Runs a shell command quietly; true when it exited with 0.
bool quietly(const std::string& command) {
  const int status = std::system((command + " >/dev/null 2>&1").c_str());
  return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Namespaces of earlier runs that were killed before they could remove them: their creator's
// pid is gone.
void removeStale() {
  DIR* dir = opendir(kNetnsDir);
  if (dir == nullptr) return;
  std::vector<std::string> stale;
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.rfind(kPrefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + std::strlen(kPrefix), nullptr, 10);
    if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) stale.push_back(name);
  }
  closedir(dir);
  for (const std::string& name : stale) quietly("ip netns del " + name);
}

}  // namespace

std::string EmulatedHosts::unavailableReason() {
  if (geteuid() != 0) return "needs root (network namespaces and veth pairs)";
  if (!quietly("ip -V")) return "needs iproute2's ip command";
  // Creating one namespace with a veth pair proves the kernel and our privileges allow it.
  const std::string probe = std::string(kPrefix) + std::to_string(getpid()) + "-probe";
  const bool works = quietly("ip netns add " + probe) &&
                     quietly("ip -n " + probe + " link add tnp0 type veth peer name tnp1");
  quietly("ip netns del " + probe);
  if (!works) return "cannot create a network namespace with a veth pair (ip netns add, veth)";
  return "";
}

EmulatedHosts::EmulatedHosts(int nranks)
    : prefix_(std::string(kPrefix) + std::to_string(getpid())), nranks_(nranks) {
  removeStale();
  if (!run("ip netns add " + bridgeNs()) ||
      !run("ip -n " + bridgeNs() + " link add tbr0 type bridge") ||
      !run("ip -n " + bridgeNs() + " link set tbr0 up")) {
    return;
  }
  for (int rank = 0; rank < nranks; ++rank) {
    const std::string ns = nsName(rank);
    const std::string port = "tport" + std::to_string(rank);
    if (!run("ip netns add " + ns)) return;
    ++created_;
    if (!run("ip -n " + bridgeNs() + " link add " + port + " type veth peer name " + kIfname +
             " netns " + ns) ||
        !run("ip -n " + bridgeNs() + " link set " + port + " master tbr0") ||
        !run("ip -n " + bridgeNs() + " link set " + port + " up") ||
        !run("ip -n " + ns + " addr add 10.213.0." + std::to_string(rank + 1) + "/24 dev " +
             kIfname) ||
        !run("ip -n " + ns + " link set " + kIfname + " up") ||
        !run("ip -n " + ns + " link set lo up")) {
      return;
    }
  }
}

EmulatedHosts::~EmulatedHosts() {
  // Deleting a namespace destroys the veth ends in it, and with them their peers.
  for (int rank = 0; rank < created_; ++rank) quietly("ip netns del " + nsName(rank));
  quietly("ip netns del " + bridgeNs());
}

bool EmulatedHosts::run(const std::string& command) {
  if (quietly(command)) return true;
  if (error_.empty()) error_ = "failed: " + command;
  return false;
}

std::string EmulatedHosts::nsName(int rank) const { return prefix_ + "-r" + std::to_string(rank); }

std::string EmulatedHosts::bridgeNs() const { return prefix_ + "-br"; }

bool EmulatedHosts::enter(int rank) const {
  const std::string path = std::string(kNetnsDir) + "/" + nsName(rank);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "rank %d: open %s: %s\n", rank, path.c_str(), std::strerror(errno));
    return false;
  }
  const bool moved = setns(fd, CLONE_NEWNET) == 0;
  const int setnsErrno = errno;
  close(fd);
  if (!moved) {
    std::fprintf(stderr, "rank %d: setns %s: %s\n", rank, path.c_str(), std::strerror(setnsErrno));
    return false;
  }
  // A hostname of its own: the communicator counts the rank as another host and names it.
  const std::string host = hostname(rank);
  if (unshare(CLONE_NEWUTS) != 0 || sethostname(host.c_str(), host.size()) != 0) {
    std::fprintf(stderr, "rank %d: hostname %s: %s\n", rank, host.c_str(), std::strerror(errno));
    return false;
  }
  return true;
}

bool EmulatedHosts::cutLink(int rank) const {
  return quietly("ip -n " + nsName(rank) + " link set " + kIfname + " down");
}

}  // namespace tutti::test
