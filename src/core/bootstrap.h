// Bootstrap: how the ranks of a new communicator find each other.
//
// The root (a thread of the process that made the unique id, or of rank 0 for
// TUTTI_COMM_ID) collects every rank's hello (secret, rank, rank count, listen address) and
// answers each with the table of all listen addresses. Ranks then connect in a ring (each to the
// next rank, presenting the secret again) and use that ring for the allgather and barrier that
// communicator setup needs. Every wait is bounded by the communicator's timeout.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "base/params.h"
#include "base/socket.h"
#include "base/status.h"
#include "base/unique_id.h"
#include "transports/setup_channel.h"

namespace tutti {

// Starts the root in a detached thread listening on addr (port 0: any); *bound gets the
// address it listens on. expectedRanks: the rank count when the caller knows it (TUTTI_COMM_ID,
// whose secret anyone who knows the string can derive), or 0 to take the first rank's. The
// thread exits once every rank met, or after timeoutMs. Connections that are not ranks of this
// communicator (strangers, wrong secrets or versions, counts that do not fit) are turned away
// without delaying the ranks (base/hello_acceptor.h).
// hostRank: the rank this process will join as (-1: none or unknown). The root answers it last,
// so that by the time it can return from init (and its process exit, which would end the root's
// thread) every other rank's answer is already in the kernel: else a timed-out meeting could
// leave them with "peer closed the connection" instead of the missing ranks.
Status startBootstrapRoot(const SockAddr& addr, const uint8_t* secret, int timeoutMs,
                          int expectedRanks, SockAddr* bound, int hostRank = -1);

// The address this host listens on for a root at rootAddr: loopback when the root is on
// loopback, else the interface chosen by TUTTI_SOCKET_IFNAME (and family).
Status localAddressFor(const SockAddr& rootAddr, const Params& params, SockAddr* out);

// The bootstrap network is the transports' setup channel.
class Bootstrap : public SetupChannel {
 public:
  // Collective over nranks ranks: meets at the root, then connects the ring.
  static Status create(const UniqueIdContents& id, int rank, int nranks, const Params& params,
                       const std::atomic<bool>* abortFlag, std::unique_ptr<Bootstrap>* out);

  int rank() const override { return rank_; }
  int nranks() const override { return nranks_; }
  // The local address ranks of this communicator reach this rank at (port 0).
  const SockAddr& localAddress() const override { return local_; }
  const uint8_t* secret() const override { return secret_; }
  // timeoutMs from now; until endSetup(), and with TUTTI_INIT_TIMEOUT_MS set, no later than
  // that long after create() started (init's one deadline, for all its waits).
  Deadline deadline(int timeoutMs) const override;
  // Init is over (its last barrier passed): later collectives of the channel get waits of their
  // own.
  void endSetup() { setupDeadline_.reset(); }

  // data holds nranks slots of bytesPerRank bytes; this rank's slot is filled on entry, all on
  // return. Ring algorithm: nranks-1 steps.
  Status allGather(void* data, size_t bytesPerRank) override;
  Status barrier() override;
  // The ring's two links: closed by the neighbour, or failed (keepalive: its host stopped
  // answering). Data waiting on them is not a failure.
  Status checkPeers() override;

 private:
  Bootstrap() = default;

  int rank_ = 0;
  int nranks_ = 1;
  int timeoutMs_ = 0;
  SockAddr local_;
  uint8_t secret_[kSecretBytes] = {0};
  Fd next_;  // connection to rank+1
  Fd prev_;  // connection from rank-1
  const std::atomic<bool>* abortFlag_ = nullptr;
  std::optional<Deadline> setupDeadline_;
};

}  // namespace tutti
