#include "core/flight_diagnosis.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace tutti {
namespace {

const RecordedOperation* findCall(const RecorderSnapshot& snapshot, uint64_t id) {
  for (const RecordedOperation& op : snapshot.operations) {
    if (op.id == id) return &op;
  }
  return nullptr;
}

uint64_t lastCompleted(const RecorderSnapshot& snapshot) {
  uint64_t last = 0;
  for (const RecordedOperation& op : snapshot.operations) {
    if (op.state == OperationState::kCompleted) last = std::max(last, op.id);
  }
  return last;
}

// The smallest id the rank did not complete; 0 when it completed all it recorded.
uint64_t firstUnfinished(const RecorderSnapshot& snapshot) {
  uint64_t first = 0;
  for (const RecordedOperation& op : snapshot.operations) {
    if (op.state != OperationState::kCompleted && (first == 0 || op.id < first)) first = op.id;
  }
  return first;
}

std::string rankList(const std::vector<int>& ranks) {
  std::string text;
  for (int r : ranks) text += (text.empty() ? "" : ",") + std::to_string(r);
  return (ranks.size() == 1 ? "rank " : "ranks ") + text;
}

std::string callName(uint64_t id, const RecordedOperation* op) {
  if (op == nullptr) return fmt::format("call #{}", id);
  std::string text = fmt::format("call #{} {}(count {}", id, op->collective, op->count);
  if (op->root >= 0) text += fmt::format(", root {}", op->root);
  return text + ")";
}

// Where a rank stands in the stalled call: "failed", "running", ... or "never started".
std::string stateIn(const RecorderSnapshot& snapshot, uint64_t id) {
  const RecordedOperation* op = findCall(snapshot, id);
  if (op == nullptr) return "not started";
  return operationStateName(op->state);
}

std::string progressText(const RecordedOperation* op) {
  if (op == nullptr) return "-";
  std::string text;
  for (const RecordedPeer& p : op->peers) {
    text += fmt::format("{}{}: out {}/{} in {}/{}", text.empty() ? "" : "; ", p.peer, p.sent,
                        p.sendTotal, p.received, p.recvTotal);
  }
  return text.empty() ? "-" : text;
}

std::string makeTable(const std::map<int, const RecorderSnapshot*>& byRank, int nranks,
                      uint64_t stalled) {
  std::string table = fmt::format("{:>4}  {:>9}  {:>13}  {}\n", "rank", "completed",
                                  stalled > 0 ? fmt::format("call #{}", stalled) : "last call",
                                  "bytes by peer (out sent/total, in received/total); error");
  for (int r = 0; r < nranks; ++r) {
    auto found = byRank.find(r);
    if (found == byRank.end()) {
      table += fmt::format("{:>4}  {:>9}  {:>13}  {}\n", r, "-", "-", "no file");
      continue;
    }
    const RecorderSnapshot& s = *found->second;
    const uint64_t id = stalled > 0 ? stalled : lastCompleted(s);
    const RecordedOperation* op = findCall(s, id);
    std::string detail = progressText(op);
    if (op != nullptr && !op->error.empty()) detail += "; " + op->error;
    table += fmt::format("{:>4}  {:>9}  {:>13}  {}\n", r, fmt::format("#{}", lastCompleted(s)),
                         stateIn(s, id), detail);
  }
  return table;
}

// The root cause the failed `ranks` of call `id` were all told (core/comm_failure.h words an
// error "<cause>; <call> on rank R: <local symptom>", the cause "rank F (host, pid) failed: ..."):
// the lowest rank's cause when every rank's names the same failed rank before its first ':'
// (their details may differ: which rank saw it, after how many ms); "" otherwise.
std::string sharedCause(const std::map<int, const RecorderSnapshot*>& byRank,
                        const std::vector<int>& ranks, uint64_t id) {
  std::string cause;
  std::string culprit;
  for (int r : ranks) {
    const RecordedOperation* op = findCall(*byRank.at(r), id);
    if (op == nullptr) return "";
    const size_t clauseEnd = op->error.find("; ");
    if (clauseEnd == std::string::npos) return "";
    const std::string clause = op->error.substr(0, clauseEnd);
    const size_t colon = clause.find(':');
    if (colon == std::string::npos) return "";
    if (cause.empty()) {
      cause = clause;
      culprit = clause.substr(0, colon);
    } else if (clause.compare(0, colon, culprit) != 0 || colon != culprit.size()) {
      return "";
    }
  }
  return cause;
}

}  // namespace

Diagnosis diagnose(const std::vector<RecorderSnapshot>& snapshots, int nranks) {
  std::map<int, const RecorderSnapshot*> byRank;
  for (const RecorderSnapshot& s : snapshots) byRank[s.rank] = &s;
  std::vector<int> missing;
  for (int r = 0; r < nranks; ++r) {
    if (byRank.count(r) == 0) missing.push_back(r);
  }

  // The stalled call: the first one some rank did not complete.
  uint64_t stalled = 0;
  for (const auto& [rank, s] : byRank) {
    const uint64_t first = firstUnfinished(*s);
    if (first > 0 && (stalled == 0 || first < stalled)) stalled = first;
  }
  Diagnosis out;
  out.table = makeTable(byRank, nranks, stalled);
  const std::string noFile = missing.empty() ? "" : "; " + rankList(missing) + " wrote no file";
  if (stalled == 0) {
    uint64_t least = UINT64_MAX;
    uint64_t most = 0;
    for (const auto& [rank, s] : byRank) {
      least = std::min(least, lastCompleted(*s));
      most = std::max(most, lastCompleted(*s));
    }
    if (byRank.empty()) least = 0;
    out.line = least == most
                   ? fmt::format("no stalled call: every rank completed call #{}", most)
                   : fmt::format("no call failed or hangs; ranks completed calls up to #{} to #{}",
                                 least, most);
    out.line += noFile;
    return out;
  }

  out.stalled = true;
  const RecordedOperation* example = nullptr;
  std::vector<int> notStarted;
  std::vector<int> inCall;
  for (const auto& [rank, s] : byRank) {
    const RecordedOperation* op = findCall(*s, stalled);
    if (op == nullptr || op->state == OperationState::kQueued) {
      notStarted.push_back(rank);
    } else {
      if (example == nullptr) example = op;
      if (op->state != OperationState::kCompleted) inCall.push_back(rank);
    }
  }
  const std::string call = callName(stalled, example);
  if (!notStarted.empty()) {
    out.line = fmt::format("{}: {} never started it", call, rankList(notStarted));
    if (!inCall.empty()) {
      out.line += fmt::format("; {} {} on {}", rankList(inCall),
                              inCall.size() == 1 ? "waits" : "wait", rankList(notStarted));
    }
    out.line += noFile;
    return out;
  }

  // A rank that wrote no file (stopped, killed, its host gone) while the others failed in the
  // call: the cause they were all told says more than any link's byte counts.
  if (!missing.empty() && !inCall.empty()) {
    const std::string cause = sharedCause(byRank, inCall, stalled);
    if (!cause.empty()) {
      out.line = fmt::format("{}: {} wrote no file; {} failed: {}", call, rankList(missing),
                             rankList(inCall), cause);
      return out;
    }
  }

  // Every rank started it: the link that got least of what it had to carry.
  int from = -1;
  int to = -1;
  uint64_t got = 0;
  uint64_t total = 0;
  for (int r : inCall) {
    for (const RecordedPeer& p : findCall(*byRank[r], stalled)->peers) {
      if (p.received >= p.recvTotal) continue;
      // Least fraction first: got/total < received/recvTotal.
      if (from < 0 ||
          static_cast<double>(p.received) * total < static_cast<double>(got) * p.recvTotal) {
        from = p.peer;
        to = r;
        got = p.received;
        total = p.recvTotal;
      }
    }
  }
  if (from >= 0) {
    out.line = fmt::format("{}: rank {} -> rank {} link stalled at {} of {} bytes", call, from, to,
                           got, total);
    auto sender = byRank.find(from);
    const RecordedOperation* sent =
        sender == byRank.end() ? nullptr : findCall(*sender->second, stalled);
    if (sent != nullptr) {
      for (const RecordedPeer& p : sent->peers) {
        if (p.peer == to) out.line += fmt::format(" (rank {} sent {})", from, p.sent);
      }
    }
  } else {
    const RecordedOperation* failed = nullptr;
    for (int r : inCall) {
      const RecordedOperation* op = findCall(*byRank[r], stalled);
      if (!op->error.empty()) {
        failed = op;
        break;
      }
    }
    out.line = fmt::format("{}: every link carried its bytes; {} did not complete it{}", call,
                           rankList(inCall), failed ? ": " + failed->error : std::string());
  }
  out.line += noFile;
  return out;
}

std::string describeRecordedState(const RecorderSnapshot& snapshot, int64_t nowUs) {
  const RecordedOperation* running = nullptr;
  const RecordedOperation* ended = nullptr;
  size_t queued = 0;
  for (const RecordedOperation& op : snapshot.operations) {
    if (op.state == OperationState::kRunning) {
      running = &op;
    } else if (op.state == OperationState::kQueued) {
      ++queued;
    } else if (ended == nullptr || op.id > ended->id) {
      ended = &op;
    }
  }
  auto msSince = [nowUs](int64_t us) { return std::max<int64_t>(0, (nowUs - us) / 1000); };
  std::string text;
  if (running != nullptr) {
    text =
        fmt::format("in {} for {} ms", callName(running->id, running), msSince(running->startUs));
    std::string waiting;
    for (const RecordedPeer& p : running->peers) {
      if (p.received >= p.recvTotal) continue;
      waiting += fmt::format("{}rank {} ({} of {} bytes in)", waiting.empty() ? "" : ", ", p.peer,
                             p.received, p.recvTotal);
    }
    text += waiting.empty() ? ", every byte it awaits received" : ", waiting for " + waiting;
  } else if (ended != nullptr) {
    text = fmt::format("in no call: its last, {}, {} {} ms ago", callName(ended->id, ended),
                       ended->state == OperationState::kCompleted ? "completed" : "failed",
                       msSince(ended->endUs));
  } else {
    text = "in no call: none recorded on this communicator";
  }
  if (queued > 0) text += fmt::format(" ({} more queued on its progress thread)", queued);
  return text;
}

int awaitedRank(const RecorderSnapshot& snapshot) {
  // The running call describeRecordedState describes: the last one recorded.
  const RecordedOperation* running = nullptr;
  for (const RecordedOperation& op : snapshot.operations) {
    if (op.state == OperationState::kRunning) running = &op;
  }
  if (running == nullptr) return -1;
  int awaited = -1;
  double least = 1.0;
  for (const RecordedPeer& p : running->peers) {
    if (p.received >= p.recvTotal) continue;
    const double share = static_cast<double>(p.received) / static_cast<double>(p.recvTotal);
    if (awaited < 0 || share < least || (share == least && p.peer < awaited)) {
      awaited = p.peer;
      least = share;
    }
  }
  return awaited;
}

}  // namespace tutti
