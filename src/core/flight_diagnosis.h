// What tutti-doctor says about the flight recorder files of every rank of a communicator: the
// first call that did not complete everywhere, and who held it up, in one line; then a table of
// where each rank was. Library code, so that tests diagnose the files the ranks just wrote the
// same way the tool does.
#pragma once

#include <string>
#include <vector>

#include "core/flight_recorder.h"

namespace tutti {

struct Diagnosis {
  // e.g. "call #57 all_reduce(count 1048576): rank 3 never started it; ranks 0,1,2 wait on
  // rank 3", or "call #12 all_gather(count 4096): rank 2 -> rank 3 link stalled at 4096 of
  // 65536 bytes".
  std::string line;
  std::string table;     // one row per rank
  bool stalled = false;  // some call did not complete on every rank
};

// snapshots: the files read, at most one per rank, in any order; nranks: the communicator's size
// (ranks without a file are named as such).
Diagnosis diagnose(const std::vector<RecorderSnapshot>& snapshots, int nranks);

// Where one rank stands, from its own snapshot taken at nowUs (wall clock, microseconds), as it
// answers the watch when another rank's call timed out waiting for it: the call it runs, for how
// long and which peers' bytes it still waits for; else the last call it ended and how long ago;
// e.g. "in call #57 all_reduce(count 1048576) for 1520 ms, waiting for rank 3 (0 of 4194304
// bytes in)" or "in no call: its last, call #56 all_reduce(count 8), completed 20013 ms ago".
// Only the operations the recorder keeps are seen: an empty one says "none recorded".
std::string describeRecordedState(const RecorderSnapshot& snapshot, int64_t nowUs);

// The rank whose bytes the running call of that snapshot holds the smallest share of (the one
// it waits for first; the lowest rank among equals), or -1 when no call runs or it awaits no
// bytes. The watch asks that rank next when it follows a chain of waits.
int awaitedRank(const RecorderSnapshot& snapshot);

}  // namespace tutti
