#include "core/flight_dump.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <mutex>
#include <new>
#include <thread>

#include "base/log.h"
#include "core/comm.h"
#include "core/flight_json.h"

namespace tutti {

std::string flightRecorderPath(const std::string& pattern, int rank) {
  const std::string r = std::to_string(rank);
  std::string path;
  bool placed = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size() && pattern[i + 1] == 'r') {
      path += r;
      placed = true;
      ++i;
    } else {
      path += pattern[i];
    }
  }
  return placed ? path : path + ".rank" + r;
}

namespace {

// "call #57 all_reduce(count 1048576, float, sum) ring failed after 12.3 ms: peer 2 sent
// 4096/65536 received 0/65536; ...: <error>"
std::string describeOperation(const RecordedOperation& op, int64_t nowUs) {
  std::string text =
      fmt::format("call #{} {}(count {}, {}", op.id, op.collective, op.count, op.type);
  if (!op.op.empty()) text += ", " + op.op;
  if (op.root >= 0) text += fmt::format(", root {}", op.root);
  text += ")";
  if (!op.algorithm.empty()) text += " " + op.algorithm;
  text += std::string(" ") + operationStateName(op.state);
  if (op.startUs > 0) {
    const int64_t end = op.endUs > 0 ? op.endUs : nowUs;
    text += fmt::format(" {} {:.3f} ms", op.endUs > 0 ? "after" : "for",
                        static_cast<double>(end - op.startUs) / 1000.0);
  }
  for (size_t i = 0; i < op.peers.size(); ++i) {
    const RecordedPeer& p = op.peers[i];
    text += fmt::format("{} peer {} sent {}/{} received {}/{}", i == 0 ? ":" : ";", p.peer, p.sent,
                        p.sendTotal, p.received, p.recvTotal);
  }
  if (!op.error.empty()) text += ": " + op.error;
  return text;
}

Status writeFile(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  FILE* file = std::fopen(temporary.c_str(), "w");
  if (file == nullptr) return systemError("flight recorder: cannot write " + temporary, errno);
  const bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed || std::rename(temporary.c_str(), path.c_str()) != 0) {
    Status error = systemError("flight recorder: cannot write " + path, errno);
    std::remove(temporary.c_str());
    return error;
  }
  return Status::ok();
}

}  // namespace

Status writeFlightRecorder(const RecorderSnapshot& snapshot, bool failure,
                           const std::string& filePattern) {
  const LogLevel level = failure ? LogLevel::kWarn : LogLevel::kInfo;
  if (logEnabled(level, kLogColl)) {
    std::string text =
        fmt::format("flight recorder of rank {} ({}, {} operations, oldest first):", snapshot.rank,
                    snapshot.reason, snapshot.operations.size());
    for (const RecordedOperation& op : snapshot.operations) {
      text += "\n  " + describeOperation(op, snapshot.takenUs);
    }
    logWrite(level, kLogColl, text);
  }
  if (filePattern.empty()) return Status::ok();
  return writeFile(flightRecorderPath(filePattern, snapshot.rank), recorderToJson(snapshot));
}

Status dumpFlightRecorder(tuttiComm* comm, const char* reason, bool failure) {
  if (!comm->recorder->enabled()) return Status::ok();
  return writeFlightRecorder(comm->recorder->snapshot(comm->rank, reason), failure,
                             comm->params.flightRecorderFile);
}

namespace {

int signalPipe[2] = {-1, -1};

// Async-signal-safe: one write(2) to a non-blocking pipe (a full pipe already has a dump
// pending), errno kept for the interrupted code.
void onSignal(int) {
  const int saved = errno;
  const char byte = 1;
  ssize_t ignored = write(signalPipe[1], &byte, 1);
  (void)ignored;
  errno = saved;
}

// Dumps every live communicator per byte read; runs for the life of the process.
void watchSignals() {
  char bytes[64];
  for (;;) {
    const ssize_t n = read(signalPipe[0], bytes, sizeof(bytes));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    try {
      for (tuttiComm_t handle : liveHandles()) {
        // Snapshot under the registry lock (the communicator cannot go meanwhile); format and
        // write after it.
        RecorderSnapshot snapshot;
        std::string file;
        bool live = withLiveComm(handle, [&](tuttiComm* comm) {
          if (!comm->recorder->enabled()) return;
          snapshot = comm->recorder->snapshot(comm->rank, "signal");
          file = comm->params.flightRecorderFile;
        });
        if (!live) continue;
        Status status = writeFlightRecorder(snapshot, false, file);
        if (!status.isOk()) TUTTI_WARN(kLogColl, "{}", status.message());
      }
    } catch (const std::bad_alloc&) {
      // No memory for this dump: the thread waits for the next signal rather than end the
      // process.
    }
  }
}

}  // namespace

Status watchFlightRecorderSignal() {
  static std::mutex mutex;
  static bool installed = false;
  std::lock_guard<std::mutex> lock(mutex);
  if (installed) return Status::ok();
  if (pipe2(signalPipe, O_CLOEXEC) != 0) return systemError("flight recorder: pipe", errno);
  fcntl(signalPipe[1], F_SETFL, O_NONBLOCK);
  try {
    std::thread(watchSignals).detach();
  } catch (const std::system_error& e) {
    return makeError(tuttiSystemError, "flight recorder: cannot start the SIGUSR1 thread: {}",
                     e.what());
  }
  struct sigaction action {};
  action.sa_handler = onSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  if (sigaction(SIGUSR1, &action, nullptr) != 0)
    return systemError("flight recorder: SIGUSR1", errno);
  installed = true;
  TUTTI_INFO(kLogInit, "flight recorder: SIGUSR1 dumps every communicator");
  return Status::ok();
}

}  // namespace tutti
