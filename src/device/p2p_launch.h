// The two device operations of the p2p path (core/p2p_collective.h), on memory of this device and
// peers' device memory mapped into this process (Runtime::importMemory):
//   ReduceManyLaunch  dst[i] = in[0][i] op in[1][i] op ... op in[n-1][i], folded left to right
//                     in that order, each step rounded to the element type as reduceArrays
//                     (exec/reduce.h) does, so a chain of ReduceLaunch steps gives the same bits;
//                     an Avg divides once, after the last input; one input is copied.
//   BarrierLaunch     every rank of a p2p group raises its slot in every member's flag area to
//                     the barrier's value, then waits until every slot of its own area holds at
//                     least that value: a stream-ordered barrier with no host round trip. Values
//                     rise with every barrier, so flags are never reset. A call's first
//                     barrier also checks that every member makes the same call: each member
//                     publishes its call's descriptor (exec/call_check.h) in its own flag area
//                     before it announces, and compares every member's with its own once all
//                     have announced (collective mismatch detection, docs/reliability.md).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tutti/tutti.h"

namespace tutti {
namespace device {

// Ranks of one p2p group at most (the inputs of one reduction, the slots of a flag area).
constexpr int kMaxP2pRanks = 16;

// The error word's value after tuttiCommAbort: every barrier still queued ends at once.
constexpr uint64_t kP2pAborted = ~uint64_t{0};
// The error word's value after a call's first barrier found a member's call descriptor different
// from this rank's (BarrierLaunch::mismatch then says which).
constexpr uint64_t kP2pMismatch = ~uint64_t{0} - 1;

// What a call's first barrier compares, word by word: exec/call_check.h's 32-byte descriptor and
// three words on the registered windows the call reads (core/p2p_schedule.h, P2pCallCheck).
constexpr int kP2pCallWords = 7;
constexpr int kP2pMismatchWords = 1 + 2 * kP2pCallWords;

struct ReduceManyLaunch {
  void* dst = nullptr;  // may equal an input (then exactly), never partially overlap one
  const void* inputs[kMaxP2pRanks] = {};  // plain arrays: device code copies them
  int inputCount = 0;                     // 1..kMaxP2pRanks
  size_t count = 0;                       // elements
  tuttiDataType_t type = tuttiFloat32;
  tuttiRedOp_t op = tuttiSum;
  int avgDivisor = 0;  // > 0 with tuttiAvg: divide the result by it
};

struct BarrierLaunch {
  // Where this rank announces itself: its slot in each member's flag area (its own included).
  uint64_t* announce[kMaxP2pRanks] = {};
  const uint64_t* slots = nullptr;  // this rank's flag area: one slot per member
  int ranks = 0;                    // members, 1..kMaxP2pRanks
  uint64_t value = 0;               // > every earlier barrier's value of the group
  // Page-locked host memory (allocPinned) the device can write: 0 while all is well. A barrier
  // that finds it non-zero, on entry or while it waits, ends at once; one that waits longer than
  // timeoutMs writes its value there and ends (the stream goes on; the communicator reports the
  // error). An abort writes kP2pAborted.
  uint64_t* error = nullptr;
  int64_t timeoutMs = 0;  // > 0

  // The call check, on a call's first barrier only (publish != nullptr): this rank's descriptor
  // goes to `publish` (its own flag area) before it announces; once every member has announced,
  // each member's descriptor (members[r], in r's flag area) is compared with `call`, and at the
  // first that differs mismatch[0] becomes r + 1, the next kP2pCallWords words that member's
  // check, the next this rank's, and then the error word kP2pMismatch (mismatch: page-locked host
  // memory of kP2pMismatchWords). A member
  // overwrites its descriptor only at its next call's first barrier, which it reaches after this
  // call's last barrier; every call has at least two, so every member has read it by then.
  uint64_t call[kP2pCallWords] = {};
  uint64_t* publish = nullptr;
  const uint64_t* members[kMaxP2pRanks] = {};
  uint64_t* mismatch = nullptr;
};

}  // namespace device
}  // namespace tutti
