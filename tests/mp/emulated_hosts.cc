#include "mp/emulated_hosts.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
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

bool takeUniqueId(int rank, IdHandout* handout, tuttiUniqueId* id) {
  if (rank == 0) {
    if (tuttiGetUniqueId(&handout->id) != tuttiSuccess) {
      std::fprintf(stderr, "rank 0: tuttiGetUniqueId: %s\n", tuttiGetLastError(nullptr));
      return false;
    }
    handout->ready.store(1);
  }
  const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (handout->ready.load() == 0) {
    if (std::chrono::steady_clock::now() > giveUp) {
      std::fprintf(stderr, "rank %d: no unique id from rank 0 in 20 s\n", rank);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  *id = handout->id;
  return true;
}

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

EmulatedHosts::EmulatedHosts(int nranks, int rails)
    : prefix_(std::string(kPrefix) + std::to_string(getpid())), nranks_(nranks), rails_(rails) {
  removeStale();
  if (!run("ip netns add " + bridgeNs())) return;
  for (int rail = 0; rail < rails; ++rail) {
    const std::string bridge = "tbr" + std::to_string(rail);
    if (!run("ip -n " + bridgeNs() + " link add " + bridge + " type bridge") ||
        !run("ip -n " + bridgeNs() + " link set " + bridge + " up")) {
      return;
    }
  }
  for (int rank = 0; rank < nranks; ++rank) {
    const std::string ns = nsName(rank);
    if (!run("ip netns add " + ns)) return;
    ++created_;
    for (int rail = 0; rail < rails; ++rail) {
      const std::string port = "tport" + std::to_string(rank) + "r" + std::to_string(rail);
      const std::string iface = ifname(rail);
      if (!run("ip -n " + bridgeNs() + " link add " + port + " type veth peer name " + iface +
               " netns " + ns) ||
          !run("ip -n " + bridgeNs() + " link set " + port + " master tbr" +
               std::to_string(rail)) ||
          !run("ip -n " + bridgeNs() + " link set " + port + " up") ||
          !run("ip -n " + ns + " addr add 10.213." + std::to_string(rail) + "." +
               std::to_string(rank + 1) + "/24 dev " + iface) ||
          !run("ip -n " + ns + " link set " + iface + " up")) {
        return;
      }
    }
    if (!run("ip -n " + ns + " link set lo up")) return;
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

bool EmulatedHosts::cutLink(int rank, int rail) const {
  return quietly("ip -n " + nsName(rank) + " link set " + ifname(rail) + " down");
}

bool EmulatedHosts::restoreLink(int rank, int rail) const {
  return quietly("ip -n " + nsName(rank) + " link set " + ifname(rail) + " up");
}

bool EmulatedHosts::limitRate(int rank, int rail, const std::string& rate) const {
  return quietly("tc -n " + nsName(rank) + " qdisc replace dev " + ifname(rail) +
                 " root tbf rate " + rate + " burst 256kb latency 50ms");
}

bool EmulatedHosts::unlimitRate(int rank, int rail) const {
  return quietly("tc -n " + nsName(rank) + " qdisc del dev " + ifname(rail) + " root");
}

namespace {

// In namespace ns: the table "tutti_loss" that drops each packet in or out of `iface` with
// probability percent/100.
bool addLossTable(const std::string& ns, const std::string& iface, int percent) {
  const std::string nft = "ip netns exec " + ns + " nft ";
  const std::string drop =
      " numgen random mod 100 '<' " + std::to_string(percent) + " counter drop";
  return quietly(nft + "add table inet tutti_loss") &&
         quietly(nft + "add chain inet tutti_loss in '{ type filter hook input priority 0; }'") &&
         quietly(nft + "add chain inet tutti_loss out '{ type filter hook output priority 0; }'") &&
         quietly(nft + "add rule inet tutti_loss in iifname " + iface + drop) &&
         quietly(nft + "add rule inet tutti_loss out oifname " + iface + drop);
}

}  // namespace

std::string EmulatedHosts::lossUnavailableReason() {
  if (!quietly("nft --version")) return "needs nftables' nft command (Debian package nftables)";
  // The kernel must have nf_tables with numgen, and allow it in a namespace: try it in one.
  const std::string probe = std::string(kPrefix) + std::to_string(getpid()) + "-nftprobe";
  const bool works = quietly("ip netns add " + probe) && addLossTable(probe, kIfname, 5);
  quietly("ip netns del " + probe);
  if (!works) return "nftables cannot drop packets at random in a network namespace here";
  return "";
}

bool EmulatedHosts::loseRandomly(int rank, int percent) const {
  return addLossTable(nsName(rank), kIfname, percent);
}

long long EmulatedHosts::stopLosing(int rank) const {
  const std::string nft = "ip netns exec " + nsName(rank) + " nft ";
  long long dropped = -1;
  if (FILE* pipe = popen((nft + "list table inet tutti_loss 2>/dev/null").c_str(), "r")) {
    char line[512];
    while (std::fgets(line, sizeof(line), pipe) != nullptr) {
      const char* packets = std::strstr(line, "counter packets ");
      if (packets == nullptr) continue;
      dropped = std::max(dropped, 0LL) + std::strtoll(packets + 16, nullptr, 10);
    }
    pclose(pipe);
  }
  if (!quietly(nft + "delete table inet tutti_loss")) return -1;
  return dropped;
}

long long EmulatedHosts::sentBytes(int rank, int rail) const {
  const std::string command = "ip netns exec " + nsName(rank) + " cat /sys/class/net/" +
                              ifname(rail) + "/statistics/tx_bytes 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  long long bytes = -1;
  if (std::fscanf(pipe, "%lld", &bytes) != 1) bytes = -1;
  pclose(pipe);
  return bytes;
}

}  // namespace tutti::test
