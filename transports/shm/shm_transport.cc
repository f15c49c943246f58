#include "transports/shm/shm_transport.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>

#include "base/handshake.h"
#include "base/hello_acceptor.h"
#include "base/log.h"
#include "base/unique_id.h"
#include "transports/shm/shm_connection.h"

namespace tutti {
namespace {

struct Nonce {
  int32_t pid;
  uint32_t counter;
  uint64_t probeAddress;  // where this process keeps kCmaProbeValue, for the peers' probe
  // Random, in every name: a segment left in /dev/shm by a killed process must not collide with
  // one of a later process that got the same pid (pids wrap, at 32768 by default).
  uint64_t tag;
};

constexpr uint64_t kCmaProbeValue = 0x74757474692d636dull;  // "tutti-cm"
// Peers write kCmaProbeValue here (the value it already holds, so concurrent probes agree).
volatile uint64_t gCmaProbe = kCmaProbeValue;

// Whether this process may read and write each peer's memory (process_vm_readv for the
// single-copy path, process_vm_writev for one-sided puts). Ptrace rules decide (Yama's
// ptrace_scope, a peer that is not dumpable, another user, a seccomp filter in a container), so the
// only reliable test is to try. Returns the first refusal in *why.
bool probeCrossMemoryAttach(const std::vector<Nonce>& nonces, const std::vector<int>& peers,
                            std::string* why) {
  for (int peer : peers) {
    uint64_t value = kCmaProbeValue;
    iovec local{&value, sizeof(value)};
    iovec remote{reinterpret_cast<void*>(nonces[peer].probeAddress), sizeof(value)};
    ssize_t n = process_vm_writev(nonces[peer].pid, &local, 1, &remote, 1, 0);
    if (n == static_cast<ssize_t>(sizeof(value))) {
      value = 0;
      n = process_vm_readv(nonces[peer].pid, &local, 1, &remote, 1, 0);
    }
    if (n != static_cast<ssize_t>(sizeof(value)) || value != kCmaProbeValue) {
      *why = fmt::format("cross-memory attach to rank {} (pid {}): {}", peer, nonces[peer].pid,
                         n < 0 ? std::strerror(errno) : "short or wrong transfer");
      return false;
    }
  }
  return true;
}

std::atomic<uint32_t> gCounter{0};

std::string segmentName(const Nonce& creator, int lower, int higher) {
  return fmt::format("/tutti-{}-{}-{:016x}-{}-{}", creator.pid, creator.counter, creator.tag, lower,
                     higher);
}

sockaddr_un listenerAddress(const Nonce& owner, socklen_t* length) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string name = fmt::format("tutti-{}-{}-{:016x}", owner.pid, owner.counter, owner.tag);
  std::memcpy(addr.sun_path + 1, name.data(), name.size());  // abstract: leading NUL
  *length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return addr;
}

// Reserves the segment's memory now (as NCCL does): a size set with ftruncate alone is a promise
// tmpfs may not keep, and a full /dev/shm would then kill the rank with SIGBUS at its first
// touch of a page, in the middle of a collective. An error here makes the pair fall back to tcp.
Status backSegment(int fd, const std::string& name, size_t bytes) {
  int err = posix_fallocate(fd, 0, static_cast<off_t>(bytes));
  if (err == 0) return Status::ok();
  if (err == ENOSPC || err == EFBIG) {
    return makeError(tuttiSystemError,
                     "shm: /dev/shm has no room for the {} KiB segment {} ({}): enlarge it "
                     "(docker run --shm-size=1g, a larger tmpfs on /dev/shm), use fewer or smaller "
                     "slots (TUTTI_SHM_SLOTS, TUTTI_SHM_SLOT_BYTES), or TUTTI_TRANSPORT=tcp",
                     bytes / 1024, name, std::strerror(err));
  }
  return systemError("shm: reserving " + name + " in /dev/shm", err);
}

// Every rank calls it at the same point: true when all ranks report ok. firstFailed (optional)
// gets the lowest rank that did not, or -1.
Status agree(SetupChannel& setup, bool ok, bool* all, int* firstFailed = nullptr) {
  std::vector<uint8_t> flags(setup.nranks(), 0);
  flags[setup.rank()] = ok ? 1 : 0;
  TUTTI_RETURN_IF_ERROR(setup.allGather(flags.data(), 1));
  *all = true;
  if (firstFailed != nullptr) *firstFailed = -1;
  for (size_t r = 0; r < flags.size(); ++r) {
    if (flags[r] == 1) continue;
    if (*all && firstFailed != nullptr) *firstFailed = static_cast<int>(r);
    *all = false;
  }
  return Status::ok();
}

}  // namespace

Status ShmTransport::connect(SetupChannel& setup, const std::vector<int>& peers,
                             std::vector<std::unique_ptr<Connection>>* out) {
  const int rank = setup.rank();
  const int slots = shm_.slots;
  const size_t slotBytes = shm_.slotBytes;
  const size_t bytes = ShmConnection::segmentBytes(slots, slotBytes);
  const Deadline deadline = setup.deadline(params_.timeoutMs);
  Status failure;  // the first local failure; setup goes on so the collective steps stay aligned

  std::vector<Nonce> nonces(setup.nranks());
  nonces[rank] = Nonce{getpid(), gCounter.fetch_add(1), reinterpret_cast<uint64_t>(&gCmaProbe), 0};
  if (!randomBytes(reinterpret_cast<uint8_t*>(&nonces[rank].tag), sizeof(uint64_t)).isOk()) {
    nonces[rank].tag = static_cast<uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());  // still differs by time
  }
  Fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  socklen_t length = 0;
  sockaddr_un self = listenerAddress(nonces[rank], &length);
  if (!listener.valid() ||
      ::bind(listener.get(), reinterpret_cast<sockaddr*>(&self), length) != 0 ||
      ::listen(listener.get(), SOMAXCONN) != 0) {
    failure = systemError("shm: doorbell listener", errno);
  }
  TUTTI_RETURN_IF_ERROR(setup.allGather(nonces.data(), sizeof(Nonce)));

  // The lower rank of each pair creates and sizes the segment.
  std::map<int, void*> mapped;
  std::vector<std::string> created;
  for (int peer : peers) {
    if (peer < rank || !failure.isOk()) continue;
    std::string name = segmentName(nonces[rank], rank, peer);
    int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0 || ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
      failure = systemError("shm: creating " + name, errno);
      if (fd >= 0) close(fd);
      continue;
    }
    created.push_back(name);
    Status backed = backSegment(fd, name, bytes);
    if (!backed.isOk()) {
      failure = backed;
      close(fd);
      continue;
    }
    void* map = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
      failure = systemError("shm: mapping " + name, errno);
      continue;
    }
    mapped[peer] = map;
  }
  bool allOk = false;
  TUTTI_RETURN_IF_ERROR(agree(setup, failure.isOk(), &allOk));

  // The higher rank maps the segment and connects the pair's doorbell.
  std::map<int, Fd> doorbells;
  for (int peer : peers) {
    if (peer > rank || !allOk || !failure.isOk()) continue;
    std::string name = segmentName(nonces[peer], peer, rank);
    int fd = shm_open(name.c_str(), O_RDWR, 0600);
    void* map =
        fd >= 0 ? mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
    if (fd >= 0) close(fd);
    if (map == MAP_FAILED) {
      failure = systemError("shm: opening " + name, errno);
      continue;
    }
    mapped[peer] = map;
    Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    socklen_t peerLength = 0;
    sockaddr_un peerAddr = listenerAddress(nonces[peer], &peerLength);
    if (!sock.valid() ||
        ::connect(sock.get(), reinterpret_cast<sockaddr*>(&peerAddr), peerLength) != 0) {
      failure = systemError(fmt::format("shm: doorbell to rank {}", peer), errno);
      continue;
    }
    Status sent = setNonBlocking(sock.get());
    if (sent.isOk()) {
      sent =
          sendHello(sock.get(), makeHello(HelloKind::kShmDoorbell, setup.secret(), rank), deadline);
    }
    if (!sent.isOk()) {
      failure = sent;
      continue;
    }
    doorbells[peer] = std::move(sock);
  }
  // The higher ranks' connections wait in the listener's backlog; everyone agrees first, so that
  // no lower rank waits for a doorbell from a rank that failed.
  TUTTI_RETURN_IF_ERROR(agree(setup, failure.isOk(), &allOk));
  // The lower rank accepts one doorbell from each higher peer.
  size_t expected = 0;
  for (int peer : peers) expected += peer > rank ? 1 : 0;
  size_t accepted = 0;
  // Any process of this network namespace can reach the abstract socket: hellos are read side by
  // side, and only higher peers whose segment is mapped count.
  HelloAcceptor acceptor(listener.get(), HelloKind::kShmDoorbell, setup.secret(),
                         fmt::format("shm: rank {}", rank));
  while (allOk && failure.isOk() && accepted < expected) {
    Fd conn;
    Hello hello;
    // A rank gone since the agreement ends the wait for its doorbell (setup_channel.h).
    Status status =
        acceptor.next(deadline, &conn, &hello, nullptr, [&setup] { return setup.checkPeers(); });
    if (!status.isOk()) {
      failure = status.withContext("shm: waiting for doorbells");
      break;
    }
    if (hello.rank <= rank || doorbells.count(hello.rank) || !mapped.count(hello.rank)) {
      acceptor.reject(
          std::move(conn),
          makeError(tuttiRemoteError, "an unexpected doorbell (claims rank {})", hello.rank));
      continue;
    }
    doorbells[hello.rank] = std::move(conn);
    ++accepted;
  }
  int failedRank = -1;
  TUTTI_RETURN_IF_ERROR(agree(setup, failure.isOk(), &allOk, &failedRank));
  for (const std::string& name : created) shm_unlink(name.c_str());
  if (!allOk) {
    for (auto& [peer, map] : mapped) munmap(map, bytes);
    return failure.isOk() ? makeError(tuttiSystemError,
                                      "shm: setup failed on rank {} (its log says why: room in "
                                      "/dev/shm, permissions, descriptors)",
                                      failedRank)
                          : failure;
  }

  // Single copy only if every rank may read and write its peers: both ends choose the path by size
  // alone, so both ends of every pair must agree, and one allgather makes that so.
  std::string cmaRefusal = "off by TUTTI_SHM_CMA=0 or for more ranks than CPUs on the host";
  bool cmaHere = shm_.cma && probeCrossMemoryAttach(nonces, peers, &cmaRefusal);
  bool cmaEverywhere = false;
  TUTTI_RETURN_IF_ERROR(agree(setup, cmaHere, &cmaEverywhere));
  cmaEnabled_ = cmaEverywhere && !peers.empty();
  if (!cmaEverywhere) {
    TUTTI_INFO(kLogInit | kLogNet,
               "shm: single-copy path off, every message goes through the FIFOs: {}",
               cmaHere ? "another rank may not read its peers' memory" : cmaRefusal);
  }

  out->clear();
  for (int peer : peers) {
    int lower = std::min(rank, peer);
    // Direction 0 carries lower -> higher.
    int outDirection = rank == lower ? 0 : 1;
    void* map = mapped[peer];
    out->push_back(std::make_unique<ShmConnection>(
        setup.rank(), peer, map, bytes, ShmConnection::fifoAt(map, outDirection, slots, slotBytes),
        ShmConnection::fifoAt(map, 1 - outDirection, slots, slotBytes), slots, slotBytes,
        std::move(doorbells[peer]), nonces[peer].pid, cmaEnabled_ ? shm_.cmaMinBytes : 0, domain_));
  }
  TUTTI_INFO(kLogNet,
             "shm: rank {} connected to {} peer(s), {} slots of {} bytes each way, single copy "
             "(process_vm_readv) {}",
             rank, peers.size(), slots, slotBytes,
             cmaEnabled_ ? fmt::format("from {} bytes", shm_.cmaMinBytes) : "off");
  return Status::ok();
}

}  // namespace tutti
