// Writing a communicator's flight recorder (core/flight_recorder.h) out: to the log, and as JSON
// (core/flight_json.h) to TUTTI_FLIGHT_RECORDER_FILE when it is set. Done when an operation
// fails (at WARN), on tuttiCommDumpState (at INFO), and on SIGUSR1 when
// TUTTI_FLIGHT_RECORDER_SIGNAL=1 (at INFO, every live communicator of the process).
#pragma once

#include <string>

#include "base/status.h"
#include "core/flight_recorder.h"

struct tuttiComm;

namespace tutti {

// TUTTI_FLIGHT_RECORDER_FILE's path for a rank: every "%r" replaced by the rank; a pattern
// without "%r" gets ".rank<N>" appended, so that ranks sharing a file system never share a file.
std::string flightRecorderPath(const std::string& pattern, int rank);

// Logs the snapshot (WARN when failure, else INFO) and writes its file when a path is given
// (written beside it and renamed over it, so a reader never sees half a file). tuttiSystemError
// naming the path when it cannot be written.
Status writeFlightRecorder(const RecorderSnapshot& snapshot, bool failure,
                           const std::string& filePattern);

// The communicator's recorder, written as above. The caller keeps comm alive; safe beside a
// call running on another thread (the recorder is read under its own lock).
Status dumpFlightRecorder(tuttiComm* comm, const char* reason, bool failure);

// Installs, once per process, a SIGUSR1 handler and a thread that dumps every live communicator
// when the signal comes. The handler only writes a byte to a pipe (async-signal-safe); the
// thread formats and writes. tuttiSystemError when the pipe, thread or handler cannot be made.
Status watchFlightRecorderSignal();

}  // namespace tutti
