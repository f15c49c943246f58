// Running collectives: the algorithm and plan for a call (cached), one collective on a thread's
// executor and progress engine, and asynchronous operations on the progress thread.
#include <algorithm>
#include <atomic>
#include <cstring>

#include "algo/peer_exchange.h"
#include "algo/select.h"
#include "base/log.h"
#include "core/comm.h"
#include "core/comm_failure.h"
#include "core/flight_dump.h"
#include "exec/call_check.h"
#include "exec/datatype.h"

namespace tutti {
namespace {

// The algorithm for a call of `count` elements (its size as nccl-tests counts it: callBytes),
// logged at INFO the first time per size class.
Choice chooseAndLog(tuttiComm* comm, Collective collective, size_t count, size_t elemSize) {
  const size_t bytes = callBytes(collective, comm->nranks, count, elemSize);
  Choice choice =
      chooseAlgorithm(comm->algoSpec, collective, comm->nranks, bytes, comm->clusterCost,
                      comm->tuner.get(), hostShapeOf(comm->hostOfRank));
  int sizeClass = 0;
  while (sizeClass < 63 && (size_t{2} << sizeClass) <= bytes) ++sizeClass;
  if (comm->loggedChoices.insert({static_cast<int>(collective), sizeClass}).second) {
    std::string candidates;
    for (int a = 0; a < kNumAlgorithms; ++a) {
      if (choice.predictedUs[a] < 0) continue;
      candidates += fmt::format(" {} {:.1f} us", algorithmName(static_cast<Algorithm>(a)),
                                choice.predictedUs[a]);
    }
    std::string source = choice.pinned ? "TUTTI_ALGO" : "cost model";
    if (choice.tuned) {
      source = choice.algorithm != choice.modelAlgorithm
                   ? fmt::format("tuner '{}' changed the model's {}", comm->tuner->name(),
                                 algorithmName(choice.modelAlgorithm))
                   : fmt::format("cost model, tuner '{}' agreed", comm->tuner->name());
      candidates += "; tuner:";
      for (int a = 0; a < kNumAlgorithms; ++a) {
        if (choice.predictedUs[a] < 0) continue;
        candidates +=
            fmt::format(" {} {}", algorithmName(static_cast<Algorithm>(a)),
                        choice.tunedUs[a] < 0 ? std::string("ignored")
                                              : fmt::format("{:.1f} us", choice.tunedUs[a]));
      }
    }
    TUTTI_INFO(kLogColl, "{} {} bytes: {} ({}; predicted:{})", collectiveName(collective), bytes,
               algorithmName(choice.algorithm), source, candidates);
  }
  return choice;
}

}  // namespace

void closeConnections(tuttiComm* comm) {
  for (auto& connection : comm->ownedConnections) connection->shutdown();
}

void setStickyError(tuttiComm* comm, const Status& status) {
  std::lock_guard<std::mutex> lock(comm->errorMutex);
  int expected = tuttiSuccess;
  if (comm->asyncError.compare_exchange_strong(expected, status.code())) {
    comm->stickyMessage = status.message();
  }
}

Status stickyStatus(tuttiComm* comm, const char* what) {
  const int sticky = comm->asyncError.load();
  if (sticky == tuttiSuccess) return Status::ok();
  // Ranks that failed after the verdict, or at once with it (the sticky message names the first).
  const std::string others = describeOtherFailures(*comm);
  std::lock_guard<std::mutex> lock(comm->errorMutex);
  // NCCL's choice for calls on a revoked communicator (its ncclCommRevoke design notes).
  if (comm->revoked.load()) {
    return Status(tuttiInvalidUsage,
                  fmt::format("{}: communicator is revoked ({}); only tuttiCommShrink and "
                              "tuttiCommDestroy may use it",
                              what, comm->stickyMessage));
  }
  return Status(static_cast<tuttiResult_t>(sticky),
                fmt::format("{}: communicator is in error since an earlier failure ({}){}; "
                            "destroy or abort it",
                            what, comm->stickyMessage, others));
}

namespace {

// Ends the flight recorder's operation. A failed run makes the communicator's error sticky and
// closes its connections, so that its peers fail at once too; the status returned, and the one
// recorded, names the root cause (core/comm_failure.h) rather than the local symptom (a
// connection the watch's verdict shut).
Status finishOperation(tuttiComm* comm, const Status& failed, const char* op, uint64_t call) {
  if (failed.isOk()) {
    comm->recorder->finish(failed);
    return failed;
  }
  Status status = explainFailure(comm, failed, op, call);
  comm->recorder->finish(status);
  setStickyError(comm, status);
  closeConnections(comm);
  TUTTI_WARN(kLogColl, "{}", status.message());
  Status dumped = dumpFlightRecorder(comm, "failure", true);
  if (!dumped.isOk()) TUTTI_WARN(kLogColl, "{}", dumped.message());
  return status;
}

// One collective on one thread's executor and engine.
Status runOn(tuttiComm* comm, const CollectiveArgs& args, Executor& executor,
             ProgressEngine& engine) {
  const Collective collective = args.collective;
  const size_t count = args.count;
  const tuttiDataType_t type = args.type;
  const tuttiRedOp_t op = args.op;
  ++comm->operationsIssued;
  // Nothing to move and no descriptor to exchange: NCCL's no-op. (With the check on, a count-0
  // call still meets its peers, so that count 0 against a count is a mismatch.)
  if (count == 0 && !comm->params.checkMismatch) return Status::ok();
  setLogRank(comm->rank);
  const size_t elemSize = dataTypeSize(type);
  tuttiComm::CachedPlan* cached = nullptr;
  for (tuttiComm::CachedPlan& entry : comm->planCache) {
    // Everything a plan depends on: the collective, count, element size and root (the rank
    // count, rank and layout are the communicator's).
    if (entry.collective == collective && entry.count == count && entry.elemSize == elemSize &&
        entry.root == args.root) {
      cached = &entry;
      break;
    }
  }
  if (cached == nullptr) {
    constexpr size_t kPlanCacheEntries = 16;
    Choice choice = chooseAndLog(comm, collective, count, elemSize);
    tuttiComm::CachedPlan entry{collective,
                                count,
                                elemSize,
                                args.root,
                                choice,
                                makePlan(choice.algorithm, collective, comm->nranks, comm->rank,
                                         count, comm->hostOfRank, args.root),
                                0,
                                {}};
    // Ids are unique in the process, so no executor mistakes a replacement for the plan it ran.
    static std::atomic<uint64_t> lastPlanId{0};
    entry.plan.id = ++lastPlanId;
    entry.descriptorAlgorithm = descriptorAlgorithm(entry.plan.algorithm);
    entry.peers = entry.plan.peers();
    if (comm->planCache.size() < kPlanCacheEntries) {
      comm->planCache.push_back(std::move(entry));
      cached = &comm->planCache.back();
    } else {
      cached = &comm->planCache[comm->planCacheNext];
      *cached = std::move(entry);
      comm->planCacheNext = (comm->planCacheNext + 1) % kPlanCacheEntries;
    }
  }
  const Plan& plan = cached->plan;
  TUTTI_TRACE(kLogColl, "{} count {} type {} op {}: {} plan, {} steps", collectiveName(collective),
              count, static_cast<int>(type), static_cast<int>(op), plan.algorithm,
              plan.steps.size());
  CallBuffers buffers{args.send, args.recv, MemoryKind::kHost, -1};
  // In place, an all-to-all's receives would wait on its own sends of the same blocks, which
  // can wait on each other around the ranks (algo/direct.h): it runs from a copy of the input.
  std::vector<char> inputCopy;
  if (collective == Collective::kAllToAll && args.send == args.recv && count > 0) {
    const char* input = static_cast<const char*>(args.send);
    inputCopy.assign(input, input + callBytes(collective, comm->nranks, count, elemSize));
    buffers.send = inputCopy.data();
  }
  // The call's descriptor goes to every peer with its first message (exec/call_check.h).
  const CallDescriptor call = describeCall(comm->operationsIssued, collective, count, type, op,
                                           args.root, cached->descriptorAlgorithm);
  PeerProgress* progress =
      comm->recorder->start(comm->operationsIssued, args, plan.algorithm, cached->peers);
  Status status = executor.run(plan, buffers, type, op, comm->connections, engine,
                               comm->params.checkMismatch ? &call : nullptr, progress);
  return finishOperation(comm, status, collectiveName(collective), comm->operationsIssued);
}

}  // namespace

Status runCollective(tuttiComm* comm, const CollectiveArgs& args) {
  ++comm->sequenceIssued;
  return guardMemory(comm, collectiveName(args.collective),
                     [&] { return runOn(comm, args, *comm->executor, *comm->engine); });
}

namespace {

// The calls as the plan addresses them: each send's bytes packed after the previous send's, each
// receive's after the previous receive's; *sendBytes and *recvBytes get the packed sizes.
std::vector<PeerTransfer> packTransfers(const std::vector<PeerCall>& calls, size_t* sendBytes,
                                        size_t* recvBytes) {
  std::vector<PeerTransfer> transfers;
  *sendBytes = 0;
  *recvBytes = 0;
  for (const PeerCall& call : calls) {
    size_t& packed = call.send ? *sendBytes : *recvBytes;
    transfers.push_back(PeerTransfer{call.send, call.peer, packed, call.bytes});
    packed += call.bytes;
  }
  return transfers;
}

}  // namespace

Status checkPeerCalls(const tuttiComm* comm, const std::vector<PeerCall>& calls) {
  size_t sendBytes = 0;
  size_t recvBytes = 0;
  std::string problem;
  if (!peerExchangePlan(comm->nranks, comm->rank, packTransfers(calls, &sendBytes, &recvBytes),
                        &problem)) {
    return makeError(tuttiInvalidUsage, "tuttiGroupEnd: {}", problem);
  }
  return Status::ok();
}

namespace {

// A group's point-to-point calls on one thread's executor and engine (runPeerCalls).
Status runPeerCallsOn(tuttiComm* comm, const std::vector<PeerCall>& calls, Executor& executor,
                      ProgressEngine& engine) {
  ++comm->operationsIssued;
  setLogRank(comm->rank);
  size_t sendBytes = 0;
  size_t recvBytes = 0;
  const std::vector<PeerTransfer> transfers = packTransfers(calls, &sendBytes, &recvBytes);
  std::string problem;
  std::optional<Plan> plan = peerExchangePlan(comm->nranks, comm->rank, transfers, &problem);
  if (!plan) return makeError(tuttiInvalidUsage, "tuttiGroupEnd: {}", problem);
  // Recorded as a byte exchange: count is the bytes sent.
  CollectiveArgs recorded;
  recorded.collective = Collective::kSendRecv;
  recorded.count = sendBytes;
  recorded.type = tuttiUint8;
  PeerProgress* progress =
      comm->recorder->start(comm->operationsIssued, recorded, plan->algorithm, plan->peers());
  std::vector<char> sendPack(sendBytes);
  std::vector<char> recvPack(recvBytes);
  for (size_t i = 0; i < calls.size(); ++i) {
    if (calls[i].send && calls[i].bytes > 0) {
      std::memcpy(sendPack.data() + transfers[i].offset, calls[i].buffer, calls[i].bytes);
    }
  }
  TUTTI_TRACE(kLogColl, "sendrecv: {} calls, {} bytes out, {} bytes in, {} steps", calls.size(),
              sendBytes, recvBytes, plan->steps.size());
  // Bytes: copies move every bit pattern as it is, whatever the calls' types.
  CallBuffers buffers{sendPack.data(), recvPack.data(), MemoryKind::kHost, -1};
  Status status = executor.run(*plan, buffers, tuttiUint8, tuttiSum, comm->connections, engine,
                               nullptr, progress);
  status = finishOperation(comm, status, "sendrecv", comm->operationsIssued);
  if (!status.isOk()) return status;
  for (size_t i = 0; i < calls.size(); ++i) {
    if (!calls[i].send && calls[i].bytes > 0) {
      std::memcpy(const_cast<void*>(calls[i].buffer), recvPack.data() + transfers[i].offset,
                  calls[i].bytes);
    }
  }
  return Status::ok();
}

}  // namespace

Status runPeerCalls(tuttiComm* comm, const std::vector<PeerCall>& calls) {
  return guardMemory(comm, "sendrecv",
                     [&] { return runPeerCallsOn(comm, calls, *comm->executor, *comm->engine); });
}

size_t pendingOperations(const tuttiComm* comm) {
  return comm->progressThread ? comm->progressThread->pending() : 0;
}

Status issueCollective(tuttiComm* comm, const CollectiveArgs& args, std::shared_ptr<Operation>* out,
                       std::shared_ptr<const Operation> after) {
  if (!comm->progressThread) {
    comm->asyncEngine = std::make_unique<ProgressEngine>(
        WaitPolicy{comm->params.spinUs, comm->params.yieldUs, comm->params.timeoutMs},
        &comm->aborted);
    comm->asyncExecutor = std::make_unique<Executor>(comm->params, &comm->hostMover);
    comm->asyncExecutor->setWitness(comm->watch.get());
    comm->progressThread = std::make_unique<ProgressThread>([comm](const CollectiveArgs& queued) {
      std::lock_guard<std::mutex> lock(comm->callMutex);
      // An error of an earlier operation is sticky, as it is for blocking calls.
      TUTTI_RETURN_IF_ERROR(stickyStatus(comm, collectiveName(queued.collective)));
      return guardMemory(comm, collectiveName(queued.collective), [&] {
        if (queued.collective == Collective::kSendRecv) {
          return runPeerCallsOn(comm, *queued.peerCalls, *comm->asyncExecutor, *comm->asyncEngine);
        }
        return runOn(comm, queued, *comm->asyncExecutor, *comm->asyncEngine);
      });
    });
  }
  *out = std::make_shared<Operation>(args, ++comm->sequenceIssued, std::move(after));
  comm->recorder->queue(comm->operationsIssued,
                        args.peerCalls ? CollectiveArgs{Collective::kSendRecv} : args);
  comm->progressThread->enqueue(*out);
  return Status::ok();
}

}  // namespace tutti
