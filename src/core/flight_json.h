// The flight recorder's file: one rank's snapshot as JSON (written by core/flight_dump.h, read
// by tutti-doctor). Layout, version 1:
//   {"tutti_flight_recorder": 1, "rank": 3, "nranks": 4, "reason": "failure", "taken_us": ...,
//    "operations": [{"id": 57, "collective": "all_reduce", "count": 1048576, "type": "float",
//      "op": "sum", "root": -1, "algorithm": "ring", "state": "failed", "error": "...",
//      "queued_us": 0, "start_us": ..., "end_us": ..., "peers": [{"peer": 2, "sent": 4096,
//      "send_total": 65536, "received": 0, "recv_total": 65536}, ...]}, ...]}
// Operations oldest first; times are microseconds of the wall clock, 0 where not reached.
#pragma once

#include <string>

#include "base/status.h"
#include "core/flight_recorder.h"

namespace tutti {

constexpr int kFlightRecorderFormat = 1;

std::string recorderToJson(const RecorderSnapshot& snapshot);

// tuttiInvalidArgument naming what is wrong when text is not such a document.
Status recorderFromJson(const std::string& text, RecorderSnapshot* out);

// The file's snapshot: tuttiSystemError when it cannot be read, else as recorderFromJson, the
// message naming the path.
Status readRecorderFile(const std::string& path, RecorderSnapshot* out);

}  // namespace tutti
