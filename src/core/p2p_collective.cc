#include "core/p2p_collective.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "algo/p2p_choice.h"
#include "base/log.h"
#include "core/device_collective.h"
#include "core/p2p_registration.h"
#include "core/p2p_schedule.h"
#include "core/p2p_window.h"
#include "device/device_runtime.h"
#include "exec/call_check.h"
#include "exec/datatype.h"

namespace tutti {
namespace {

using device::Runtime;

void makeSticky(tuttiComm* comm, const Status& status) {
  setStickyError(comm, status);  // later calls say why (stickyStatus)
  TUTTI_WARN(kLogColl, "{}", status.message());
}

// "no registered window", "registered window #2 at offset 64".
std::string windowUse(uint64_t windowPlusOne, uint64_t offset) {
  if (windowPlusOne == 0) return "no registered window";
  return fmt::format("registered window #{} at offset {}", windowPlusOne - 1, offset);
}

// What a call's first barrier wrote when a member's check differed (device/p2p_launch.h).
Status mismatchError(tuttiComm* comm) {
  const uint64_t* report = comm->p2p->layout().mismatch;
  P2pCallCheck theirs;
  P2pCallCheck mine;
  std::memcpy(static_cast<void*>(&theirs), report + 1, sizeof(theirs));
  std::memcpy(static_cast<void*>(&mine), report + 1 + device::kP2pCallWords, sizeof(mine));
  const int member = static_cast<int>(report[0]) - 1;
  const Status status = compareCalls(mine.call, comm->rank, theirs.call, member);
  if (!status.isOk()) return status.withContext("p2p");
  if (theirs.windows != mine.windows || theirs.sendOffset != mine.sendOffset ||
      theirs.recvOffset != mine.recvOffset) {
    const uint64_t mask = 0xffffffffu;
    const bool recv = (theirs.windows >> 32) != 0 || (mine.windows >> 32) != 0;
    return makeError(
        tuttiInvalidUsage,
        "p2p: {} call #{}: rank {} passed its send buffer in {}{} while rank {} passed it in "
        "{}{}: TUTTI_WIN_COLL_SYMMETRIC windows need every rank's buffers at the same offset",
        collectiveName(static_cast<Collective>(mine.call.collective)), mine.call.sequence, member,
        windowUse(theirs.windows & mask, theirs.sendOffset),
        recv ? ", its receive buffer in " + windowUse(theirs.windows >> 32, theirs.recvOffset) : "",
        comm->rank, windowUse(mine.windows & mask, mine.sendOffset),
        recv ? ", its receive buffer in " + windowUse(mine.windows >> 32, mine.recvOffset) : "");
  }
  return makeError(tuttiInternalError, "p2p: rank {} reported a call mismatch with alike calls",
                   member);
}

}  // namespace

Status noteP2pTimeout(tuttiComm* comm) {
  if (comm->p2p == nullptr) return Status::ok();
  const uint64_t barrier = __atomic_load_n(comm->p2p->errorWord(), __ATOMIC_ACQUIRE);
  if (barrier == 0 || barrier == device::kP2pAborted) return Status::ok();
  if (barrier == device::kP2pMismatch) {
    const Status status = mismatchError(comm);
    if (comm->asyncError.load() == tuttiSuccess) makeSticky(comm, status);
    return status;
  }
  const Status status = makeError(
      tuttiTimeout,
      "p2p: rank {} waited more than {} ms (TUTTI_TIMEOUT_MS) for a peer at barrier {} of a device "
      "call on mapped peer memory (a peer stopped, or made another call): the results of that "
      "call and later ones are undefined",
      comm->rank, comm->p2p->timeoutMs(), barrier);
  if (comm->asyncError.load() == tuttiSuccess) makeSticky(comm, status);
  return status;
}

Status prepareP2p(tuttiComm* comm) {
  comm->p2pState = -1;
  if (device::activeRuntime() == nullptr || comm->nhosts != 1 ||
      comm->nranks > device::kMaxP2pRanks || !comm->algoSpec.mayUseP2p()) {
    return Status::ok();
  }
  bool usable = false;
  TUTTI_RETURN_IF_ERROR(setupP2pWindow(comm, &comm->p2p, &usable));
  comm->p2pState = usable ? 1 : -1;
  if (!usable || std::string(device::activeRuntime()->name()) != "cuda") return Status::ok();
  // GPUs: the links between the ranks' GPUs price the algorithms (the emulated device's
  // devices are not the topology's GPUs).
  std::vector<int32_t> devices(static_cast<size_t>(comm->nranks), comm->device);
  TUTTI_RETURN_IF_ERROR(comm->bootstrap->allGather(devices.data(), sizeof(int32_t)));
  std::string basis;
  const bool priced = p2pCostFromTopology(
      comm->topology, std::vector<int>(devices.begin(), devices.end()), &comm->p2pCost, &basis);
  TUTTI_INFO(kLogInit | kLogColl, "p2p: costs {} ({} GB/s, barrier {} us){}",
             priced ? "from the topology" : "by default", comm->p2pCost.gbps,
             comm->p2pCost.barrierUs, basis.empty() ? "" : ": " + basis);
  return Status::ok();
}

Status issueP2pCollective(tuttiComm* comm, const CollectiveArgs& args, void* stream, bool* issued) {
  *issued = false;
  const Collective collective = args.collective;
  Runtime* runtime = device::activeRuntime();
  if (comm->p2pState != 1 || runtime == nullptr) return Status::ok();
  const size_t bytes =
      args.count * dataTypeSize(args.type) *
      (collective == Collective::kAllReduce ? 1 : static_cast<size_t>(comm->nranks));
  const std::optional<P2pAlgorithm> algorithm =
      chooseP2pAlgorithm(comm->algoSpec, collective, comm->nranks, bytes, comm->p2pCost);
  if (!algorithm) return Status::ok();
  *issued = true;
  TUTTI_RETURN_IF_ERROR(noteP2pTimeout(comm));
  TUTTI_TRACE(kLogColl, "p2p: {} of {} bytes by {}", collectiveName(collective), bytes,
              p2pAlgorithmName(*algorithm));
  DeviceScope scope(runtime, comm->device);
  if (collective == Collective::kAllReduce) comm->p2p->countAllReduce(*algorithm);
  // Counted until the stream has run the call: destroying the communicator waits for that.
  void* done = comm->p2p->callStarted();
  // Numbered on this path only: a staged call's number is taken when it runs, not when issued.
  P2pCallCheck check;
  check.call =
      describeCall(comm->p2p->nextCall(), collective, args.count, args.type, args.op, args.root);
  P2pPeerBuffers peers;
  const bool registered = findRegisteredBuffers(comm, args, *algorithm, &peers, &check);
  if (registered) comm->p2p->countRegisteredCall();
  Status status = queueP2pCollective(
      runtime, comm->p2p->layout(), comm->p2p->barrierCounter(), *algorithm, args,
      comm->params.checkMismatch ? &check : nullptr, registered ? &peers : nullptr, stream);
  const Status queued = runtime->launchHostFunction(stream, P2pWindow::callDone, done);
  if (!queued.isOk()) P2pWindow::callDone(done);
  if (status.isOk()) status = queued;
  if (!status.isOk()) makeSticky(comm, status.withContext("p2p"));
  return status;
}

}  // namespace tutti
