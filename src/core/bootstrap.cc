#include "core/bootstrap.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <new>
#include <thread>
#include <utility>
#include <vector>

#include "base/handshake.h"
#include "base/hello_acceptor.h"
#include "base/log.h"
#include "base/net_iface.h"

namespace tutti {
namespace {

constexpr int kRootCheckMs = 50;  // how often the root looks for ranks gone while it waits

struct RootReply {
  int32_t result;  // tuttiResult_t
  char message[252];
};

// Best effort: a stranger need not read it, and the rank it is for may be gone.
void replyError(int fd, tuttiResult_t code, const std::string& message, const Deadline& deadline) {
  RootReply reply{};
  reply.result = code;
  std::snprintf(reply.message, sizeof(reply.message), "%s", message.c_str());
  (void)sendAll(fd, &reply, sizeof(reply), deadline);
}

// "0,1,5" for at most kListed ranks, then how many more.
std::string missingRanks(int nranks, const std::map<int, Fd>& arrived) {
  constexpr int kListed = 32;
  std::string text;
  int listed = 0;
  int more = 0;
  for (int r = 0; r < nranks; ++r) {
    if (arrived.count(r) != 0) continue;
    if (listed++ < kListed) {
      text += (text.empty() ? "" : ",") + std::to_string(r);
    } else {
      ++more;
    }
  }
  if (more > 0) text += fmt::format(" and {} more", more);
  return text.empty() ? "all" : text;
}

// Whether a hello that passed the handshake fits the communicator the root gathers: nranks is 0
// until the first rank says (a unique id), or the rank count rank 0 was given (TUTTI_COMM_ID).
Status checkArrival(const Hello& hello, int nranks, const std::map<int, Fd>& arrived) {
  // The count comes from the wire: bounded before it sizes the root's tables.
  if (hello.count < 1 || hello.count > kMaxRanks) {
    return makeError(tuttiInvalidArgument,
                     "bootstrap root: a hello with rank count {}, outside [1, {}]", hello.count,
                     kMaxRanks);
  }
  if (nranks != 0 && hello.count != nranks) {
    return makeError(tuttiInvalidArgument,
                     "bootstrap root: rank {} says the communicator has {} ranks, the root "
                     "gathers {}",
                     hello.rank, hello.count, nranks);
  }
  if (hello.rank < 0 || hello.rank >= hello.count) {
    return makeError(tuttiInvalidArgument, "bootstrap root: rank {} is outside [0, {})", hello.rank,
                     hello.count);
  }
  if (arrived.count(hello.rank) != 0) {
    return makeError(tuttiInvalidArgument, "bootstrap root: rank {} of {} already arrived",
                     hello.rank, hello.count);
  }
  return Status::ok();
}

// The ranks that arrived, hostRank last (startBootstrapRoot says why).
std::vector<std::pair<int, int>> answerOrder(const std::map<int, Fd>& arrived, int hostRank) {
  std::vector<std::pair<int, int>> order;  // (rank, fd)
  for (const auto& [rank, fd] : arrived) {
    if (rank != hostRank) order.emplace_back(rank, fd.get());
  }
  auto host = arrived.find(hostRank);
  if (host != arrived.end()) order.emplace_back(hostRank, host->second.get());
  return order;
}

void serveRoot(int listenFd, const uint8_t* secret, int timeoutMs, int expectedRanks,
               int hostRank) {
  Deadline deadline = Deadline::afterMs(timeoutMs);
  // A connection turned away learns why (a rank with a wrong secret, a count that does not fit);
  // one send attempt, so that a stranger that does not read cannot hold the root.
  HelloAcceptor acceptor(listenFd, HelloKind::kBootstrapRoot, secret, "bootstrap root",
                         [](int fd, const Status& why) {
                           replyError(fd, why.code(), "bootstrap root: rejected " + why.message(),
                                      Deadline::afterMs(0));
                         });
  int nranks = expectedRanks;
  std::map<int, Fd> arrived;
  std::map<int, WireAddr> addresses;
  // A rank that arrived never closes before the answer unless it is gone (its process exited,
  // or its init gave up): then the meeting cannot complete, and the others learn it at once.
  // Checked every 50 ms, so a large meeting does not poll all its connections per arrival.
  Deadline nextCheck = Deadline::afterMs(0);
  const WaitCheck arrivedThere = [&]() -> Status {
    if (!nextCheck.expired()) return Status::ok();
    nextCheck = Deadline::afterMs(kRootCheckMs);
    for (const auto& [rank, fd] : arrived) {
      Status there = checkSilentLink(fd.get(), fmt::format("rank {}", rank));
      if (!there.isOk()) {
        return makeError(tuttiRemoteError,
                         "bootstrap root: {} before every rank arrived; missing ranks: {}",
                         there.message(), missingRanks(nranks, arrived));
      }
    }
    return Status::ok();
  };
  while (nranks == 0 || static_cast<int>(arrived.size()) < nranks) {
    Fd conn;
    Hello hello;
    Status status = acceptor.next(deadline, &conn, &hello, nullptr, arrivedThere);
    if (!status.isOk()) {
      std::string message =
          status.code() == tuttiTimeout
              ? fmt::format(
                    "bootstrap root: {} of {} ranks arrived before the timeout ({} ms); missing "
                    "ranks: {} ({} stray connection(s) turned away)",
                    arrived.size(), nranks, timeoutMs, missingRanks(nranks, arrived),
                    acceptor.turnedAway())
              : status.message();
      TUTTI_WARN(kLogBootstrap, "{}", message);
      for (const auto& [rank, fd] : answerOrder(arrived, hostRank)) {
        replyError(fd, status.code(), message, Deadline::afterMs(kHelloTimeoutMs));
      }
      return;
    }
    Status fits = checkArrival(hello, nranks, arrived);
    if (!fits.isOk()) {
      acceptor.reject(std::move(conn), fits);
      continue;
    }
    nranks = hello.count;
    addresses[hello.rank] = hello.address;
    arrived[hello.rank] = std::move(conn);
  }
  std::vector<WireAddr> table(nranks);
  for (auto& [rank, address] : addresses) table[rank] = address;
  for (const auto& [rank, fd] : answerOrder(arrived, hostRank)) {
    RootReply reply{};
    reply.result = tuttiSuccess;
    Deadline sendDeadline = Deadline::afterMs(kHelloTimeoutMs);
    if (!sendAll(fd, &reply, sizeof(reply), sendDeadline).isOk() ||
        !sendAll(fd, table.data(), table.size() * sizeof(WireAddr), sendDeadline).isOk()) {
      TUTTI_WARN(kLogBootstrap, "bootstrap root: could not answer rank {}", rank);
    }
  }
  TUTTI_INFO(kLogBootstrap, "bootstrap root: all {} ranks met ({} stray connection(s) turned away)",
             nranks, acceptor.turnedAway());
}

// The root's thread: nothing may escape it (an exception would end the whole process).
void runRoot(Fd listenFd, std::array<uint8_t, kSecretBytes> secret, int timeoutMs,
             int expectedRanks, int hostRank) {
  try {
    serveRoot(listenFd.get(), secret.data(), timeoutMs, expectedRanks, hostRank);
  } catch (const std::exception& e) {
    try {
      TUTTI_WARN(kLogBootstrap, "bootstrap root stopped: {}", e.what());
    } catch (const std::bad_alloc&) {
      // Memory ran out, and for the message too: the ranks' own waits time out and say so.
    }
  }
}

}  // namespace

Status startBootstrapRoot(const SockAddr& addr, const uint8_t* secret, int timeoutMs,
                          int expectedRanks, SockAddr* bound, int hostRank) {
  Fd listenFd;
  Status status = listenOn(addr, &listenFd, bound);
  if (!status.isOk() && errno == EADDRNOTAVAIL) {
    // The name resolved to an address of another host alias: listen on every address instead.
    SockAddr any{};
    any.storage.ss_family = static_cast<sa_family_t>(addr.family());
    any.length = addr.length;
    any.setPort(addr.port());
    status = listenOn(any, &listenFd, bound);
  }
  TUTTI_RETURN_IF_ERROR(status.withContext("bootstrap root"));
  std::array<uint8_t, kSecretBytes> key;
  std::memcpy(key.data(), secret, kSecretBytes);
  TUTTI_INFO(kLogBootstrap, "bootstrap root listening on {}", bound->toString());
  std::thread(runRoot, std::move(listenFd), key, timeoutMs, expectedRanks, hostRank).detach();
  return Status::ok();
}

Status localAddressFor(const SockAddr& rootAddr, const Params& params, SockAddr* out) {
  if (rootAddr.isLoopback()) {
    *out = rootAddr;
    out->setPort(0);
    return Status::ok();
  }
  NetIface iface;
  int family = params.socketFamily != 0 ? params.socketFamily : rootAddr.family();
  Status status = chooseInterface(params.bootstrapInterfaces(), family, &iface);
  if (!status.isOk() && params.socketFamily == 0) {
    status = chooseInterface(params.bootstrapInterfaces(), 0, &iface);
  }
  TUTTI_RETURN_IF_ERROR(status);
  *out = iface.addr;
  out->setPort(0);
  return Status::ok();
}

Status Bootstrap::create(const UniqueIdContents& id, int rank, int nranks, const Params& params,
                         const std::atomic<bool>* abortFlag, std::unique_ptr<Bootstrap>* out) {
  std::unique_ptr<Bootstrap> boot(new Bootstrap());
  boot->rank_ = rank;
  boot->nranks_ = nranks;
  boot->timeoutMs_ = params.timeoutMs;
  boot->abortFlag_ = abortFlag;
  std::memcpy(boot->secret_, id.secret, kSecretBytes);
  // With TUTTI_INIT_TIMEOUT_MS, init as a whole ends by then; its start is this bootstrap's.
  if (params.initTimeoutMs > 0) boot->setupDeadline_ = Deadline::afterMs(params.initTimeoutMs);
  const Deadline deadline = boot->deadline(params.timeoutMs);

  SockAddr rootAddr;
  TUTTI_RETURN_IF_ERROR(fromWire(id.root, &rootAddr));
  TUTTI_RETURN_IF_ERROR(localAddressFor(rootAddr, params, &boot->local_));
  Fd listenFd;
  SockAddr listenAddr;
  TUTTI_RETURN_IF_ERROR(listenOn(boot->local_, &listenFd, &listenAddr).withContext("bootstrap"));

  // Meet at the root.
  Fd rootConn;
  TUTTI_RETURN_IF_ERROR(connectTo(rootAddr, deadline, &rootConn, abortFlag)
                            .withContext(fmt::format("bootstrap: rank {} reaching the root at {}",
                                                     rank, rootAddr.toString())));
  // Before the watch starts (at the end of init) nothing else finds a host that stops answering.
  TUTTI_RETURN_IF_ERROR(setKeepAlive(rootConn.get(), params.heartbeatTimeoutMs));
  Hello hello = makeHello(HelloKind::kBootstrapRoot, id.secret, rank);
  hello.count = nranks;
  hello.address = toWire(listenAddr);
  TUTTI_RETURN_IF_ERROR(sendHello(rootConn.get(), hello, deadline, abortFlag)
                            .withContext("bootstrap: hello to root"));
  RootReply reply{};
  TUTTI_RETURN_IF_ERROR(recvAll(rootConn.get(), &reply, sizeof(reply), deadline, abortFlag)
                            .withContext("bootstrap: waiting for all ranks at the root"));
  if (reply.result != tuttiSuccess) {
    reply.message[sizeof(reply.message) - 1] = '\0';
    return Status(static_cast<tuttiResult_t>(reply.result), reply.message);
  }
  std::vector<WireAddr> table(nranks);
  TUTTI_RETURN_IF_ERROR(
      recvAll(rootConn.get(), table.data(), nranks * sizeof(WireAddr), deadline, abortFlag)
          .withContext("bootstrap: address table from root"));
  TUTTI_INFO(kLogBootstrap, "bootstrap: rank {} of {} met at root {}", rank, nranks,
             rootAddr.toString());
  if (nranks == 1) {
    *out = std::move(boot);
    return Status::ok();
  }

  // Ring: connect to the next rank, accept the previous one.
  int next = (rank + 1) % nranks;
  int prev = (rank + nranks - 1) % nranks;
  SockAddr nextAddr;
  TUTTI_RETURN_IF_ERROR(fromWire(table[next], &nextAddr));
  // Every rank listened before it said its address to the root: a refusal is a rank gone.
  TUTTI_RETURN_IF_ERROR(connectToListening(nextAddr, deadline, &boot->next_, abortFlag)
                            .withContext(fmt::format("bootstrap: connecting to rank {}", next)));
  TUTTI_RETURN_IF_ERROR(setKeepAlive(boot->next_.get(), params.heartbeatTimeoutMs));
  TUTTI_RETURN_IF_ERROR(sendHello(boot->next_.get(),
                                  makeHello(HelloKind::kBootstrapRing, id.secret, rank), deadline,
                                  abortFlag));
  // Strangers may reach this port too: hellos are read side by side, and only rank prev's counts.
  HelloAcceptor acceptor(listenFd.get(), HelloKind::kBootstrapRing, id.secret,
                         fmt::format("bootstrap: rank {}", rank));
  // Rank next cannot finish init without this rank: its link closing means it is gone, and this
  // rank gives up too, so that a rank lost here ends every rank's wait round the ring in turn.
  const std::string nextName = fmt::format("rank {}", next);
  const WaitCheck nextThere = [&] { return checkSilentLink(boot->next_.get(), nextName); };
  while (!boot->prev_.valid()) {
    Fd conn;
    Hello got;
    TUTTI_RETURN_IF_ERROR(
        acceptor.next(deadline, &conn, &got, abortFlag, nextThere)
            .withContext(fmt::format("bootstrap: waiting for rank {} to connect", prev)));
    if (got.rank != prev) {
      acceptor.reject(
          std::move(conn),
          makeError(tuttiRemoteError, "rank {} where rank {} was expected", got.rank, prev));
      continue;
    }
    TUTTI_RETURN_IF_ERROR(setKeepAlive(conn.get(), params.heartbeatTimeoutMs));
    boot->prev_ = std::move(conn);
  }
  *out = std::move(boot);
  return Status::ok();
}

Deadline Bootstrap::deadline(int timeoutMs) const {
  const Deadline own = Deadline::afterMs(timeoutMs);
  return setupDeadline_ ? Deadline::earliest(own, *setupDeadline_) : own;
}

Status Bootstrap::allGather(void* data, size_t bytesPerRank) {
  char* slots = static_cast<char*>(data);
  const Deadline deadline = this->deadline(timeoutMs_);
  for (int step = 0; step < nranks_ - 1; ++step) {
    int sendSlot = ((rank_ - step) % nranks_ + nranks_) % nranks_;
    int recvSlot = ((rank_ - step - 1) % nranks_ + nranks_) % nranks_;
    TUTTI_RETURN_IF_ERROR(
        sendRecvAll(next_.get(), slots + sendSlot * bytesPerRank, bytesPerRank, prev_.get(),
                    slots + recvSlot * bytesPerRank, bytesPerRank, deadline, abortFlag_)
            .withContext(fmt::format("bootstrap allgather, step {} of {}: sending to rank {}, "
                                     "waiting for rank {}'s entry from rank {}",
                                     step + 1, nranks_ - 1, (rank_ + 1) % nranks_, recvSlot,
                                     (rank_ + nranks_ - 1) % nranks_)));
  }
  return Status::ok();
}

Status Bootstrap::barrier() {
  std::vector<char> slots(nranks_, 1);
  return allGather(slots.data(), 1);
}

Status Bootstrap::checkPeers() {
  // Asked only where a neighbour cannot have finished on its own (a transport's setup, with
  // exchanges still to come), so a closed link is a rank gone. Data from prev_'s rank waiting for
  // the next exchange is not a close.
  if (next_.valid()) {
    TUTTI_RETURN_IF_ERROR(
        checkSilentLink(next_.get(), fmt::format("rank {}", (rank_ + 1) % nranks_))
            .withContext("bootstrap"));
  }
  if (prev_.valid()) {
    TUTTI_RETURN_IF_ERROR(
        checkSilentLink(prev_.get(), fmt::format("rank {}", (rank_ + nranks_ - 1) % nranks_))
            .withContext("bootstrap"));
  }
  return Status::ok();
}

}  // namespace tutti
