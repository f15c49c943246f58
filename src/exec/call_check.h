// Collective mismatch detection. Every collective call sends a CallDescriptor (sequence number,
// collective, count, type, op, root, and the algorithm its plan follows) to every connected peer
// before its data, and receives one
// from each; a receiver compares it with its own call before it takes any data from that peer.
// Exchanging with every peer, not only the plan's, makes the streams of descriptors line up
// whatever the ranks called, and makes every rank see any rank that called something else: if
// the calls are not all alike, each rank has some peer whose call differs from its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "algo/plan.h"
#include "base/status.h"
#include "tutti/tutti.h"

namespace tutti {

// On the wire, 32 bytes, in the host's byte order (peers share a host or an architecture).
struct CallDescriptor {
  uint64_t magic = 0;     // kCallMagic: tells a descriptor from data of a rank not checking
  uint64_t sequence = 0;  // the call's number on the communicator, from 1
  uint64_t count = 0;
  int32_t root = -1;       // -1 for collectives without a root
  uint8_t collective = 0;  // Collective
  uint8_t type = 0;        // tuttiDataType_t
  uint8_t op = 0xff;       // tuttiRedOp_t; 0xff for collectives that do not reduce
  // 1 + the Algorithm (algo/algorithm.h) of the plan; 0: not stated (the p2p path). Ranks
  // that plan one call with different algorithms (TUTTI_ALGO or a tuner differing between
  // them) would read each other's messages in the wrong order.
  uint8_t algorithm = 0;
};
static_assert(sizeof(CallDescriptor) == 32, "the descriptor's wire size");

constexpr uint64_t kCallMagic = 0x4c4c4143'49545554ull;  // "TUTTICALL" abridged

// The descriptor of a call; op and root are kept only where they matter, so that calls that
// differ only in an argument the collective ignores are alike.
// algorithm: descriptorAlgorithm(Plan::algorithm), 0 where none is stated.
CallDescriptor describeCall(uint64_t sequence, Collective collective, size_t count,
                            tuttiDataType_t type, tuttiRedOp_t op, int root, uint8_t algorithm = 0);

// CallDescriptor::algorithm for a plan's algorithm name (a name or alias), 0 for another name.
uint8_t descriptorAlgorithm(const std::string& planAlgorithm);

// "all_reduce(count 200, float, sum)", "broadcast(count 8, int8, root 1)".
std::string callText(const CallDescriptor& call);

// Ok when `theirs`, received from `peer`, is the same call as `mine`, planned with the same
// algorithm where both state one; otherwise tuttiInvalidUsage naming both calls (and both
// algorithms when only they differ).
Status compareCalls(const CallDescriptor& mine, int rank, const CallDescriptor& theirs, int peer);

}  // namespace tutti
