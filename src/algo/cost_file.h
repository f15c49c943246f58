// The cost file: the cost model's constants measured on a machine (tutti-perf --calibrate), one
// entry per machine shape, read by every communicator at init. Without an entry for the shape a
// communicator uses the defaults (defaultLinkCost, cost_defaults.h).
//
// Format (text, `#` starts a comment, one entry per line, fields in any order):
//   tutti-costs 1
//   cost transport=shm/cma ranks=2 cpus=2 alpha_us=5.1 beta_ns_per_byte=0.12
//        gamma_ns_per_byte=0.15 rendezvous_bytes=65536 rendezvous_alpha_us=15.2
// (one line in the file). transport, ranks and cpus are the key: the transport as a
// communicator names it ("shm/cma", "shm", "tcp"), the ranks of the job on this machine and the
// machine's online CPUs (both set how much a round costs once ranks outnumber cores). The other
// fields are LinkCost's; rendezvous_bytes and rendezvous_alpha_us may be absent (no rendezvous
// level).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "algo/cost_model.h"
#include "base/status.h"

namespace tutti {

struct CostKey {
  std::string transport;
  int ranks = 0;
  int cpus = 0;
  bool operator==(const CostKey& other) const {
    return transport == other.transport && ranks == other.ranks && cpus == other.cpus;
  }
};

struct CostEntry {
  CostKey key;
  LinkCost cost;
  std::string comment;  // kept after a `#` on the entry's line (when and how it was measured)
};

// The text of a cost file holding these entries (header line first).
std::string serializeCosts(const std::vector<CostEntry>& entries);
// One entry's line, without its newline (what serializeCosts writes for it).
std::string costEntryLine(const CostEntry& entry);
// Errors are tuttiInvalidArgument naming the line and the field: unknown or missing key fields,
// numbers that do not parse, negative costs, a missing or newer header, two entries with one key.
Status parseCosts(const std::string& text, std::vector<CostEntry>* out);

// The entry with this exact key; nullopt when none.
std::optional<LinkCost> findCost(const std::vector<CostEntry>& entries, const CostKey& key);

// TUTTI_COST_FILE when set (set and empty: no cost file); else $XDG_CONFIG_HOME/tutti/costs,
// else $HOME/.config/tutti/costs; empty when none of these variables is set (an empty or
// relative XDG_CONFIG_HOME counts as unset, as the XDG base directory specification says).
std::string defaultCostFilePath();

// A missing file is no entries (ok); an unreadable or malformed one is an error.
Status loadCostFile(const std::string& path, std::vector<CostEntry>* out);
// Replaces the entry with the same key (or appends it) and rewrites the file atomically
// (written beside it, then renamed), creating its directory when missing. A malformed file is
// left alone (the error says why); an entry the format cannot hold (a transport with spaces,
// `=` or `#`, ranks or cpus < 1, a negative or non-finite cost) is tuttiInvalidArgument.
// Comment lines of the old file are not kept: the file is written by tools.
Status storeCostEntry(const std::string& path, const CostEntry& entry);

}  // namespace tutti
