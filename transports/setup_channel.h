// The narrow channel a transport sets itself up through: collective exchanges among the ranks of
// a communicator, and the secret that proves a connection belongs to it. The communicator's
// bootstrap network implements it; tests give a transport an in-memory one
// (tests/transports/fake_setup_channel.h) so that its setup and data path run in one process.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/deadline.h"
#include "base/socket.h"
#include "base/status.h"
#include "base/unique_id.h"

namespace tutti {

class SetupChannel {
 public:
  virtual ~SetupChannel() = default;

  virtual int rank() const = 0;
  virtual int nranks() const = 0;
  // The address of the interface this rank's peers reach it at (port 0): transports that listen
  // (tcp) listen there.
  virtual const SockAddr& localAddress() const = 0;
  // kSecretBytes bytes that every rank of the communicator holds and nobody else does.
  virtual const uint8_t* secret() const = 0;
  // The deadline of a setup wait that may take timeoutMs: that long from now, or sooner when the
  // channel bounds the whole setup (a communicator's init has one deadline, TUTTI_TIMEOUT_MS from
  // its start, that no wait of it outlasts).
  virtual Deadline deadline(int timeoutMs) const { return Deadline::afterMs(timeoutMs); }

  // Collective. data holds nranks() slots of bytesPerRank bytes; this rank's slot is filled on
  // entry, every slot on return. Errors: the channel's (tuttiTimeout, tuttiRemoteError, ...).
  virtual Status allGather(void* data, size_t bytesPerRank) = 0;
  // Collective: returns once every rank entered.
  virtual Status barrier() = 0;

  // Non-blocking: an error when a rank this channel links to is gone (it closed its link: its
  // process exited or its setup failed; or its host stopped answering). A transport asks it while
  // it waits for a peer's connection, so that a rank lost during setup ends every rank's setup in
  // turn (each rank that fails closes its links, which its neighbours see) instead of leaving the
  // ranks that wait for it until the timeout. Valid only while no rank can have finished on its
  // own, which holds during init (it ends with a barrier). Errors: tuttiRemoteError naming the
  // rank. An in-memory channel has nothing to lose: ok.
  virtual Status checkPeers() { return Status::ok(); }
};

}  // namespace tutti
