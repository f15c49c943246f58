#include "testing/strangers.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <deque>
#include <set>
#include <sstream>

#include "base/handshake.h"

namespace tutti::test {
namespace {

// The whole of a /proc file, or "" when it cannot be read. Plain read(2), not std::ifstream: a
// process that exits between the open and the read makes read fail with ESRCH, and libstdc++'s
// filebuf throws on that instead of reporting end of file.
std::string readProcFile(const std::string& path) {
  std::string text;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return text;
  char chunk[4096];
  for (;;) {
    const ssize_t got = ::read(fd.get(), chunk, sizeof(chunk));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    text.append(chunk, static_cast<size_t>(got));
  }
  return text;
}

// Socket inodes the processes hold ("socket:[123]" links in /proc/<pid>/fd).
std::set<unsigned long> socketInodes(const std::vector<pid_t>& pids) {
  std::set<unsigned long> inodes;
  for (pid_t pid : pids) {
    std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    DIR* fds = opendir(dir.c_str());
    if (fds == nullptr) continue;
    while (dirent* entry = readdir(fds)) {
      char link[64] = {0};
      std::string path = dir + "/" + entry->d_name;
      if (readlink(path.c_str(), link, sizeof(link) - 1) <= 0) continue;
      unsigned long inode = 0;
      if (std::sscanf(link, "socket:[%lu]", &inode) == 1) inodes.insert(inode);
    }
    closedir(fds);
  }
  return inodes;
}

// Listening TCP sockets of /proc/net/tcp or tcp6 among the inodes; a wildcard address is
// reached over loopback.
void tcpListeners(const char* table, int family, const std::set<unsigned long>& inodes,
                  std::vector<ListenerAddress>* out) {
  std::istringstream file(readProcFile(table));
  std::string line;
  std::getline(file, line);  // header
  while (std::getline(file, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout;
    unsigned long inode = 0;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
        timeout >> inode;
    if (state != "0A" || inodes.count(inode) == 0) continue;  // 0A: LISTEN
    size_t colon = local.find(':');
    if (colon == std::string::npos) continue;
    const std::string hex = local.substr(0, colon);
    const auto port = static_cast<uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16));
    ListenerAddress listener;
    if (family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(&listener.tcp.storage);
      in->sin_family = AF_INET;
      in->sin_addr.s_addr = static_cast<uint32_t>(std::stoul(hex, nullptr, 16));
      if (in->sin_addr.s_addr == INADDR_ANY) in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      in->sin_port = htons(port);
      listener.tcp.length = sizeof(sockaddr_in);
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&listener.tcp.storage);
      in6->sin6_family = AF_INET6;
      for (int word = 0; word < 4; ++word) {
        uint32_t value = static_cast<uint32_t>(std::stoul(hex.substr(word * 8, 8), nullptr, 16));
        std::memcpy(&in6->sin6_addr.s6_addr[word * 4], &value, 4);
      }
      if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)) in6->sin6_addr = in6addr_loopback;
      in6->sin6_port = htons(port);
      listener.tcp.length = sizeof(sockaddr_in6);
    }
    out->push_back(listener);
  }
}

// Listening abstract Unix stream sockets of /proc/net/unix among the inodes.
void unixListeners(const std::set<unsigned long>& inodes, std::vector<ListenerAddress>* out) {
  std::istringstream file(readProcFile("/proc/net/unix"));
  std::string line;
  std::getline(file, line);  // header
  while (std::getline(file, line)) {
    std::istringstream fields(line);
    std::string slot, refs, protocol, flags, type, state, path;
    unsigned long inode = 0;
    fields >> slot >> refs >> protocol >> flags >> type >> state >> inode >> path;
    const bool listening = (std::stoul(flags, nullptr, 16) & 0x10000) != 0;  // __SO_ACCEPTCON
    if (!listening || type != "0001" || path.size() < 2 || path[0] != '@') continue;
    if (inodes.count(inode) == 0) continue;
    ListenerAddress listener;
    listener.isUnix = true;
    listener.unixName = path.substr(1);
    out->push_back(listener);
  }
}

// The children of a process, from /proc/<pid>/stat.
std::vector<pid_t> childrenOf(pid_t parent) {
  std::vector<pid_t> children;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return children;
  while (dirent* entry = readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0) continue;
    const std::string text = readProcFile("/proc/" + std::to_string(pid) + "/stat");
    size_t close = text.rfind(')');  // the command may hold spaces and parentheses
    if (close == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(text.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == parent) {
      children.push_back(pid);
    }
  }
  closedir(proc);
  return children;
}

Fd connectNonBlocking(const ListenerAddress& listener) {
  const int family = listener.isUnix ? AF_UNIX : listener.tcp.family();
  Fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return Fd();
  int rc = 0;
  if (listener.isUnix) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const size_t length = std::min(listener.unixName.size(), sizeof(addr.sun_path) - 1);
    std::memcpy(addr.sun_path + 1, listener.unixName.data(), length);
    rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + length));
  } else {
    rc = ::connect(fd.get(), listener.tcp.get(), listener.tcp.length);
  }
  if (rc != 0 && errno != EINPROGRESS) return Fd();
  pollfd pfd{fd.get(), POLLOUT, 0};
  if (rc != 0 && ::poll(&pfd, 1, 200) != 1) return Fd();
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  return err == 0 ? std::move(fd) : Fd();
}

}  // namespace

const char* strangerName(StrangerKind kind) {
  switch (kind) {
    case StrangerKind::kSilent:
      return "silent";
    case StrangerKind::kGarbage:
      return "garbage";
    case StrangerKind::kTruncatedHello:
      return "truncated hello";
    case StrangerKind::kWrongSecret:
      return "wrong secret";
    case StrangerKind::kWrongVersion:
      return "wrong version";
    case StrangerKind::kAbsurdCount:
      return "absurd rank count";
  }
  return "?";
}

std::string ListenerAddress::toString() const { return isUnix ? "@" + unixName : tcp.toString(); }

Fd connectStranger(const ListenerAddress& listener, StrangerKind kind, const uint8_t* secret) {
  Fd fd = connectNonBlocking(listener);
  if (!fd.valid()) return fd;
  uint8_t otherSecret[kSecretBytes];
  for (size_t i = 0; i < kSecretBytes; ++i) otherSecret[i] = static_cast<uint8_t>(i * 37 + 11);
  Hello hello = makeHello(HelloKind::kBootstrapRoot, otherSecret, 0);
  hello.count = 2;
  std::string bytes;
  switch (kind) {
    case StrangerKind::kSilent:
      return fd;
    case StrangerKind::kGarbage:
      bytes = "GET / HTTP/1.1\r\nHost: tutti\r\n\r\n";
      break;
    case StrangerKind::kTruncatedHello:
      bytes.assign(reinterpret_cast<const char*>(&hello), sizeof(hello) / 2);
      break;
    case StrangerKind::kWrongSecret:
      bytes.assign(reinterpret_cast<const char*>(&hello), sizeof(hello));
      break;
    case StrangerKind::kWrongVersion:
      hello.version = kHelloVersion + 1;
      bytes.assign(reinterpret_cast<const char*>(&hello), sizeof(hello));
      break;
    case StrangerKind::kAbsurdCount:
      if (secret != nullptr) std::memcpy(hello.secret, secret, kSecretBytes);
      hello.count = INT_MAX;
      hello.rank = 1;
      bytes.assign(reinterpret_cast<const char*>(&hello), sizeof(hello));
      break;
  }
  (void)::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  return fd;
}

std::vector<ListenerAddress> listenersOf(const std::vector<pid_t>& pids) {
  const std::set<unsigned long> inodes = socketInodes(pids);
  std::vector<ListenerAddress> listeners;
  if (inodes.empty()) return listeners;
  tcpListeners("/proc/net/tcp", AF_INET, inodes, &listeners);
  tcpListeners("/proc/net/tcp6", AF_INET6, inodes, &listeners);
  unixListeners(inodes, &listeners);
  return listeners;
}

Flooder::Flooder(pid_t watched, const uint8_t* secret, int maxOpen) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return;
  std::vector<uint8_t> key;
  if (secret != nullptr) key.assign(secret, secret + kSecretBytes);
  pid_t pid = fork();
  if (pid != 0) {
    ::close(pair[1]);
    control_ = pair[0];
    pid_ = pid;
    return;
  }
  ::close(pair[0]);
  const int control = pair[1];
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    maxOpen = std::min<int>(maxOpen, static_cast<int>(limit.rlim_cur) - 64);
  }
  Counts counts;
  std::set<std::string> reached;
  std::deque<Fd> open;
  std::vector<pid_t> pids;
  int kind = 0;
  for (int round = 0;; ++round) {
    pollfd stop{control, POLLIN, 0};
    if (::poll(&stop, 1, 0) != 0) break;
    if (round % 10 == 0) {  // new ranks appear; rescanning every round costs CPU the ranks need
      pids = childrenOf(watched);
      pids.erase(std::remove(pids.begin(), pids.end(), getpid()), pids.end());
      pids.push_back(watched);
    }
    for (const ListenerAddress& listener : listenersOf(pids)) {
      Fd fd = connectStranger(listener, static_cast<StrangerKind>(kind++ % kStrangerKinds),
                              key.empty() ? nullptr : key.data());
      if (!fd.valid()) continue;
      ++counts.connections;
      if (reached.insert(listener.toString()).second) {
        ++counts.listeners;
        if (listener.isUnix) ++counts.unixListeners;
      }
      open.push_back(std::move(fd));
      if (static_cast<int>(open.size()) > maxOpen) open.pop_front();
    }
    ::usleep(10000);
  }
  (void)!::write(control, &counts, sizeof(counts));
  _exit(0);
}

Flooder::Counts Flooder::stop() {
  Counts counts;
  if (pid_ < 0) return counts;
  char byte = 'q';
  if (::write(control_, &byte, 1) == 1) {
    pollfd answer{control_, POLLIN, 0};
    if (::poll(&answer, 1, 10000) == 1 &&
        ::read(control_, &counts, sizeof(counts)) != static_cast<ssize_t>(sizeof(counts))) {
      counts = Counts{};
    }
  }
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  ::close(control_);
  pid_ = -1;
  return counts;
}

Flooder::~Flooder() { (void)stop(); }

}  // namespace tutti::test
