// The UCX transport (UCP): connects any two ranks that UCX can reach, over whatever UCX finds
// and UCX_TLS / UCX_NET_DEVICES allow: shared memory and CMA on one host, TCP, and
// InfiniBand/RoCE verbs (with UCX's own multi-rail over several NICs) between hosts. Each
// connect creates one UCP context and worker; the ranks allgather the workers' addresses over
// the setup channel and each creates an endpoint to each peer it needs. Two-sided messages by
// tag matching and one-sided puts with a signal (ucx_connection.h); no staging of its own. Each
// connect's memory domain (ucx_memory.h) lives with its worker: UCX's registrations belong to a
// context.
//
// Not in the default preference order's first places: TUTTI_TRANSPORT=ucx (or a list naming it
// before tcp) selects it. UCX's own connections are not introduced by the communicator's secret
// as tcp's are: the workers' addresses travel only over the bootstrap, but a process that learns
// one can reach that worker as UCX allows.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/params.h"
#include "transports/transport.h"

namespace tutti {

class UcxTransport : public Transport {
 public:
  const char* name() const override { return "ucx"; }
  Status connect(SetupChannel& setup, const std::vector<int>& peers,
                 std::vector<std::unique_ptr<Connection>>* out) override;

  // Longest worker address accepted from a peer (UCX's are a few hundred bytes: one entry per
  // device and transport).
  static constexpr uint32_t kMaxAddressBytes = 64 << 10;
  // Longest packed rkey of a peer's signal words accepted.
  static constexpr uint32_t kMaxSignalKeyBytes = 4 << 10;
};

// The transport's parameters: none of its own (UCX reads its UCX_* variables itself).
const std::vector<ParamInfo>& ucxParamTable();

}  // namespace tutti
