// Transports as a registry. Each transport says, from two ranks' allgathered descriptors,
// whether it can connect them; the communicator connects each pair of ranks over the first
// transport of a preference order that can (TensorPipe's shape: a transport judges viability
// symmetrically from both sides' descriptors, so both ends of a pair choose alike without
// talking). TUTTI_TRANSPORT narrows and orders the list ("tcp", "shm,tcp").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/params.h"
#include "base/status.h"
#include "transports/transport.h"

namespace tutti {

// What every rank tells every other at init, for the transports to judge a pair by.
struct RankDescriptor {
  uint64_t hostHash;     // the host as the job sees it (TUTTI_HOSTID may pose one)
  uint64_t machineHash;  // the machine the rank really runs on (hostname + boot id)
  int32_t pid;
  int32_t pad;
};

struct TransportEntry {
  const char* name;
  // The transport's own parameters (documented; tutti-perf --params lists them).
  const std::vector<ParamInfo>& (*paramTable)();
  // Reads them for a communicator: tuttiInvalidArgument naming a bad value. Checked at init for
  // every built-in transport, so a bad value is an error even where the transport goes unused.
  Status (*checkParams)(const Params& params);
  // Symmetric: canConnect(params, a, b) == canConnect(params, b, a).
  bool (*canConnect)(const Params& params, const RankDescriptor& a, const RankDescriptor& b);
  Status (*create)(const Params& params, std::unique_ptr<Transport>* out);
  // In the default preference order (TUTTI_TRANSPORT unset); false: used only where
  // TUTTI_TRANSPORT names it, so that the default setup never starts it.
  bool byDefault = true;
};

class TransportRegistry {
 public:
  // Entries in the default preference order (most preferred first).
  explicit TransportRegistry(std::vector<TransportEntry> entries) : entries_(std::move(entries)) {}

  const std::vector<TransportEntry>& entries() const { return entries_; }
  std::string names() const;  // "shm, tcp"

  // The preference order a TUTTI_TRANSPORT value gives: empty = the default order (the entries
  // marked byDefault, in registration order); otherwise a
  // comma-separated list of registered names, each at most once. tuttiInvalidArgument naming
  // the variable otherwise.
  Status preference(const std::string& spec, std::vector<const TransportEntry*>* out) const;

  // For each peer, the index in `order` of the first transport that can connect this rank to
  // it, or -1 when none can. Depends only on data every rank holds, so both ends agree.
  static std::vector<int> choosePerPeer(const std::vector<const TransportEntry*>& order,
                                        const Params& params,
                                        const std::vector<RankDescriptor>& ranks, int self,
                                        const std::vector<int>& peers);

 private:
  std::vector<TransportEntry> entries_;
};

}  // namespace tutti
