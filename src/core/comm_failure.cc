#include "core/comm_failure.h"

#include <algorithm>
#include <vector>

#include "base/log.h"
#include "core/comm.h"
#include "core/flight_diagnosis.h"
#include "core/peer_watch.h"

namespace tutti {
namespace {

// How long a call that saw a connection close waits for the verdict saying who failed. The
// neighbour that closed announced before closing, or died, and then its watch links closed at
// once: the verdict comes in milliseconds; the bound only matters when neither happened (a
// transport failing while both processes and the bootstrap live).
constexpr int kVerdictGraceMs = 1000;

std::string describeRank(const tuttiComm& comm, int rank) {
  if (rank < 0 || rank >= static_cast<int>(comm.rankHosts.size())) return "rank ?";
  return fmt::format("rank {} (host {}, pid {})", rank, comm.rankHosts[rank], comm.rankPids[rank]);
}

std::string describeVerdict(const tuttiComm& comm, const Verdict& verdict) {
  if (verdict.revoked) {
    return fmt::format("{} revoked the communicator (tuttiCommRevoke)",
                       describeRank(comm, verdict.reporter));
  }
  if (verdict.failedRank < 0) {
    return fmt::format("{} reported: {}", describeRank(comm, verdict.reporter), verdict.what);
  }
  return fmt::format("{} failed: {} (seen by rank {})", describeRank(comm, verdict.failedRank),
                     verdict.what, verdict.reporter);
}

// The first verdict: the communicator is in error from now on, on every thread.
void adoptVerdict(tuttiComm* comm, const Verdict& verdict) {
  const std::string cause = describeVerdict(*comm, verdict);
  setStickyError(comm, Status(verdict.code, cause));
  if (verdict.revoked) comm->revoked.store(true);
  TUTTI_WARN(kLogBootstrap, "{}", cause);
  // A call in progress stops within one poll slice (50 ms); peers see the connections close.
  comm->aborted.store(true);
  closeConnections(comm);
}

}  // namespace

std::string describeOtherFailures(const tuttiComm& comm) {
  if (comm.watch == nullptr) return "";
  const std::vector<int> failed = comm.watch->failedRanks();
  Verdict verdict;
  const int first = comm.watch->verdict(&verdict) ? verdict.failedRank : -1;
  const bool beyondVerdict =
      std::any_of(failed.begin(), failed.end(), [first](int rank) { return rank != first; });
  if (!beyondVerdict) return "";
  std::string text = "; failed ranks known now (tuttiCommGetFailedRanks):";
  for (size_t i = 0; i < failed.size(); ++i) {
    text += fmt::format("{} {}", i == 0 ? "" : ",", describeRank(comm, failed[i]));
  }
  return text;
}

Status startWatch(tuttiComm* comm) {
  if (comm->nranks < 2) return Status::ok();
  TUTTI_RETURN_IF_ERROR(PeerWatch::create(
      *comm->bootstrap, comm->params.heartbeatTimeoutMs, comm->params.timeoutMs,
      [comm](const Verdict& verdict) { adoptVerdict(comm, verdict); }, &comm->watch));
  // Another rank's call timed out waiting for this one: say where it is, from its own record.
  // The recorder outlives the watch (tuttiComm's members), whose thread calls this.
  FlightRecorder* recorder = comm->recorder.get();
  const int rank = comm->rank;
  comm->watch->answerQueriesWith([recorder, rank]() -> PeerWatch::Whereabouts {
    if (recorder == nullptr || !recorder->enabled()) {
      return {
          "alive, but cannot say which call it is in: its flight recorder is off "
          "(TUTTI_FLIGHT_RECORDER=0)",
          -1};
    }
    const RecorderSnapshot snapshot = recorder->snapshot(rank, "query");
    return {describeRecordedState(snapshot, wallClockUs()), awaitedRank(snapshot)};
  });
  return Status::ok();
}

Status explainFailure(tuttiComm* comm, const Status& status, const char* op, uint64_t call) {
  const std::string here =
      fmt::format("{} call #{} on rank {}: {}", op, call, comm->rank, status.message());
  // A bad argument is this rank's alone; a mismatch is worded already (exec/call_check.h), and
  // told to every rank before this one closes, so that a rank that cannot read the descriptors
  // any more reports the mismatch, not this rank's closing.
  if (comm->watch == nullptr || status.code() == tuttiInvalidArgument) return status;
  if (status.code() == tuttiInvalidUsage) {
    comm->watch->announce(Verdict{-1, comm->rank, tuttiInvalidUsage, status.message()});
    return status;
  }
  Verdict verdict;
  bool known = comm->watch->verdict(&verdict);
  if (!known && status.code() == tuttiRemoteError) {
    const int gone = comm->watch->departed();
    if (gone >= 0) {
      verdict = comm->watch->announce(
          Verdict{gone, comm->rank, tuttiRemoteError,
                  "it destroyed its communicator (tuttiCommDestroy) while a call still needed it"});
      known = true;
    } else {
      known = comm->watch->waitVerdict(kVerdictGraceMs, &verdict);
    }
  }
  if (!known) {
    // This rank's own failure (a timeout names the rank it waited for): every rank hears it.
    verdict = comm->watch->announce(Verdict{-1, comm->rank, status.code(), here});
  }
  if (verdict.failedRank < 0 && verdict.reporter == comm->rank && !verdict.revoked) {
    return Status(verdict.code, verdict.what);
  }
  return Status(verdict.code,
                describeVerdict(*comm, verdict) + describeOtherFailures(*comm) + "; " + here);
}

Status failOutOfMemory(tuttiComm* comm, const char* op) noexcept {
  Status status(tuttiSystemError, "out of memory");
  try {
    status = explainFailure(
        comm,
        makeError(tuttiSystemError,
                  "out of memory (std::bad_alloc): the process's memory, or its limit (ulimit -v, "
                  "the cgroup's memory.max), is exhausted; destroy the communicator, free memory "
                  "and create a new one"),
        op, comm->operationsIssued);
  } catch (const std::bad_alloc&) {
    // The short status above, and no announcement: closing the connections tells the peers.
  }
  try {
    setStickyError(comm, status);  // the code is stored before the message is copied
  } catch (const std::bad_alloc&) {
  }
  try {
    comm->recorder->finish(status);
  } catch (const std::bad_alloc&) {
  }
  closeConnections(comm);
  return status;
}

void announceAbort(tuttiComm* comm) {
  // A communicator in error has told its peers already (or, for a mismatch, they find it
  // themselves): aborting it afterwards is no news.
  if (comm->watch == nullptr || comm->asyncError.load() != tuttiSuccess) return;
  comm->watch->announce(Verdict{comm->rank, comm->rank, tuttiRemoteError,
                                "it aborted its communicator (tuttiCommAbort)"});
}

void revokeComm(tuttiComm* comm) {
  comm->aborted.store(true);  // a call in progress stops within one poll slice
  Verdict revoke{-1, comm->rank, tuttiInvalidUsage, "revoked", /*revoked=*/true};
  // The first verdict is every rank's; after a failure the peers are stopped already, and the
  // revoke is this rank's alone.
  if (comm->watch != nullptr) {
    comm->watch->announce(revoke);
  } else {
    adoptVerdict(comm, revoke);
  }
  setStickyError(comm, Status(tuttiInvalidUsage, "this rank revoked the communicator"));
  comm->revoked.store(true);
  closeConnections(comm);
  if (comm->p2p != nullptr) comm->p2p->abort();           // barriers on streams stop waiting
  { std::lock_guard<std::mutex> wait(comm->callMutex); }  // the unblocked call returns first
}

}  // namespace tutti
