#include "core/bootstrap.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <thread>

#include "base/handshake.h"
#include "base/log.h"
#include "base/net_iface.h"

namespace tutti {
namespace {

struct RootReply {
  int32_t result;  // tuttiResult_t
  char message[252];
};

void replyError(int fd, tuttiResult_t code, const std::string& message) {
  RootReply reply{};
  reply.result = code;
  std::snprintf(reply.message, sizeof(reply.message), "%s", message.c_str());
  (void)sendAll(fd, &reply, sizeof(reply), Deadline::afterMs(kHelloTimeoutMs));
}

void runRoot(Fd listenFd, std::array<uint8_t, kSecretBytes> secret, int timeoutMs) {
  Deadline deadline = Deadline::afterMs(timeoutMs);
  int nranks = -1;
  std::vector<Fd> conns;
  std::vector<WireAddr> table;
  int arrived = 0;
  while (nranks < 0 || arrived < nranks) {
    Fd conn;
    Status status = acceptFrom(listenFd.get(), deadline, &conn);
    if (!status.isOk()) {
      std::string missing;
      for (int r = 0; r < nranks; ++r) {
        if (!conns[r].valid()) missing += (missing.empty() ? "" : ",") + std::to_string(r);
      }
      std::string message = fmt::format(
          "bootstrap root: {} of {} ranks arrived before the timeout ({} ms); missing ranks: {}",
          arrived, nranks < 0 ? 0 : nranks, timeoutMs, missing.empty() ? "all" : missing);
      TUTTI_WARN(kLogBootstrap, "{}", message);
      for (Fd& fd : conns) {
        if (fd.valid()) replyError(fd.get(), tuttiTimeout, message);
      }
      return;
    }
    Hello hello;
    Status heard =
        receiveHello(conn.get(), HelloKind::kBootstrapRoot, secret.data(), deadline, &hello);
    if (heard.code() == tuttiTimeout) continue;  // a stranger that said nothing
    if (!heard.isOk()) {
      TUTTI_WARN(kLogBootstrap, "bootstrap root: rejected {}", heard.message());
      replyError(conn.get(), tuttiRemoteError, "bootstrap root: rejected " + heard.message());
      continue;
    }

    if (nranks < 0) {
      if (hello.count < 1) continue;
      nranks = hello.count;
      conns.resize(nranks);
      table.resize(nranks);
    }
    if (hello.count != nranks || hello.rank < 0 || hello.rank >= nranks ||
        conns[hello.rank].valid()) {
      replyError(conn.get(), tuttiInvalidArgument,
                 fmt::format("bootstrap root: rank {} of {} does not fit a communicator of {} "
                             "ranks whose rank {} has {}",
                             hello.rank, hello.count, nranks, hello.rank,
                             hello.rank >= 0 && hello.rank < nranks && conns[hello.rank].valid()
                                 ? "already arrived"
                                 : "another rank count"));
      continue;
    }
    table[hello.rank] = hello.address;
    conns[hello.rank] = std::move(conn);
    ++arrived;
  }
  for (int r = 0; r < nranks; ++r) {
    RootReply reply{};
    reply.result = tuttiSuccess;
    Deadline sendDeadline = Deadline::afterMs(kHelloTimeoutMs);
    if (!sendAll(conns[r].get(), &reply, sizeof(reply), sendDeadline).isOk() ||
        !sendAll(conns[r].get(), table.data(), table.size() * sizeof(WireAddr), sendDeadline)
             .isOk()) {
      TUTTI_WARN(kLogBootstrap, "bootstrap root: could not answer rank {}", r);
    }
  }
  TUTTI_INFO(kLogBootstrap, "bootstrap root: all {} ranks met", nranks);
}

}  // namespace

Status startBootstrapRoot(const SockAddr& addr, const uint8_t* secret, int timeoutMs,
                          SockAddr* bound) {
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
  std::thread(runRoot, std::move(listenFd), key, timeoutMs).detach();
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
  Status status = chooseInterface(params.socketIfname, family, &iface);
  if (!status.isOk() && params.socketFamily == 0) {
    status = chooseInterface(params.socketIfname, 0, &iface);
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
  Deadline deadline = Deadline::afterMs(params.timeoutMs);

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
  TUTTI_RETURN_IF_ERROR(connectTo(nextAddr, deadline, &boot->next_, abortFlag)
                            .withContext(fmt::format("bootstrap: connecting to rank {}", next)));
  TUTTI_RETURN_IF_ERROR(sendHello(boot->next_.get(),
                                  makeHello(HelloKind::kBootstrapRing, id.secret, rank), deadline,
                                  abortFlag));
  while (!boot->prev_.valid()) {
    Fd conn;
    TUTTI_RETURN_IF_ERROR(
        acceptFrom(listenFd.get(), deadline, &conn, abortFlag)
            .withContext(fmt::format("bootstrap: waiting for rank {} to connect", prev)));
    Hello got;
    Status heard =
        receiveHello(conn.get(), HelloKind::kBootstrapRing, id.secret, deadline, &got, abortFlag);
    if (!heard.isOk() || got.rank != prev) {
      TUTTI_WARN(kLogBootstrap, "bootstrap: rank {} rejected a connection: {}", rank,
                 heard.isOk() ? fmt::format("rank {} where rank {} was expected", got.rank, prev)
                              : heard.message());
      continue;
    }
    boot->prev_ = std::move(conn);
  }
  *out = std::move(boot);
  return Status::ok();
}

Status Bootstrap::allGather(void* data, size_t bytesPerRank) {
  char* slots = static_cast<char*>(data);
  Deadline deadline = Deadline::afterMs(timeoutMs_);
  for (int step = 0; step < nranks_ - 1; ++step) {
    int sendSlot = ((rank_ - step) % nranks_ + nranks_) % nranks_;
    int recvSlot = ((rank_ - step - 1) % nranks_ + nranks_) % nranks_;
    TUTTI_RETURN_IF_ERROR(sendRecvAll(next_.get(), slots + sendSlot * bytesPerRank, bytesPerRank,
                                      prev_.get(), slots + recvSlot * bytesPerRank, bytesPerRank,
                                      deadline, abortFlag_)
                              .withContext("bootstrap allgather"));
  }
  return Status::ok();
}

Status Bootstrap::barrier() {
  std::vector<char> slots(nranks_, 1);
  return allGather(slots.data(), 1);
}

}  // namespace tutti
