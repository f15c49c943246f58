#include "core/p2p_collective.h"

#include <algorithm>

#include "algo/p2p_choice.h"
#include "base/log.h"
#include "core/device_collective.h"
#include "core/p2p_window.h"
#include "device/device_runtime.h"
#include "exec/datatype.h"

namespace tutti {
namespace {

using device::Runtime;

// One call's stream work over the windows.
class P2pRun {
 public:
  P2pRun(Runtime* runtime, P2pWindow* window, void* stream, const CollectiveArgs& args, int nranks)
      : runtime_(runtime),
        window_(window),
        stream_(stream),
        args_(args),
        n_(nranks),
        rank_(window->rank()),
        elem_(dataTypeSize(args.type)) {}

  Status run(P2pAlgorithm algorithm) {
    switch (args_.collective) {
      case Collective::kAllReduce:
        return algorithm == P2pAlgorithm::kTwoShot ? twoShotAllReduce() : oneShotAllReduce();
      case Collective::kAllGather:
        return allGather();
      case Collective::kReduceScatter:
        return reduceScatter();
      default:
        return makeError(tuttiInternalError, "p2p: {} has no p2p algorithm",
                         collectiveName(args_.collective));
    }
  }

 private:
  const char* send(size_t element) const {
    return static_cast<const char*>(args_.send) + element * elem_;
  }
  char* recv(size_t element) const { return static_cast<char*>(args_.recv) + element * elem_; }

  Status copy(void* dst, const void* src, size_t elements) {
    return runtime_->copyAsync(dst, src, elements * elem_, stream_);
  }

  Status barrier() {
    device::BarrierLaunch launch;
    for (int r = 0; r < n_; ++r) launch.announce[r] = window_->flags(r) + rank_;
    launch.slots = window_->flags(rank_);
    launch.ranks = n_;
    launch.value = window_->nextBarrier();
    launch.error = window_->errorWord();
    launch.timeoutMs = window_->timeoutMs();
    return runtime_->launchBarrier(launch, stream_);
  }

  // dst = the reduction of `count` elements at offsetBytes into every window's data, in rank order.
  Status reduce(void* dst, size_t offsetBytes, size_t count) {
    if (count == 0) return Status::ok();
    device::ReduceManyLaunch launch;
    launch.dst = dst;
    for (int r = 0; r < n_; ++r) launch.inputs[r] = window_->data(r) + offsetBytes;
    launch.inputCount = n_;
    launch.count = count;
    launch.type = args_.type;
    launch.op = args_.op;
    launch.avgDivisor = args_.op == tuttiAvg ? n_ : 0;
    return runtime_->launchReduceMany(launch, stream_);
  }

  Status oneShotAllReduce() {
    const size_t capacity = window_->dataBytes() / elem_;
    for (size_t first = 0; first < args_.count; first += capacity) {
      const size_t k = std::min(capacity, args_.count - first);
      TUTTI_RETURN_IF_ERROR(copy(window_->data(rank_), send(first), k));
      TUTTI_RETURN_IF_ERROR(barrier());
      TUTTI_RETURN_IF_ERROR(reduce(recv(first), 0, k));
      TUTTI_RETURN_IF_ERROR(barrier());
    }
    return Status::ok();
  }

  Status twoShotAllReduce() {
    // The window's data: an input half, then an output half of the same size.
    const size_t capacity = window_->dataBytes() / (2 * elem_);
    const size_t outputBytes = capacity * elem_;
    const size_t n = static_cast<size_t>(n_);
    for (size_t first = 0; first < args_.count; first += capacity) {
      const size_t k = std::min(capacity, args_.count - first);
      const size_t slice = (k + n - 1) / n;
      auto sliceOf = [&](size_t r, size_t* start) {
        *start = std::min(k, r * slice);
        return std::min(slice, k - *start);
      };
      TUTTI_RETURN_IF_ERROR(copy(window_->data(rank_), send(first), k));
      TUTTI_RETURN_IF_ERROR(barrier());
      size_t start = 0;
      const size_t mine = sliceOf(static_cast<size_t>(rank_), &start);
      TUTTI_RETURN_IF_ERROR(
          reduce(window_->data(rank_) + outputBytes + start * elem_, start * elem_, mine));
      TUTTI_RETURN_IF_ERROR(barrier());
      for (size_t p = 0; p < n; ++p) {
        const size_t length = sliceOf(p, &start);
        if (length == 0) continue;
        TUTTI_RETURN_IF_ERROR(copy(recv(first + start),
                                   window_->data(static_cast<int>(p)) + outputBytes + start * elem_,
                                   length));
      }
    }
    // Peers read this rank's output half until here; the next call may write it.
    return barrier();
  }

  Status allGather() {
    const size_t capacity = window_->dataBytes() / elem_;
    for (size_t first = 0; first < args_.count; first += capacity) {
      const size_t k = std::min(capacity, args_.count - first);
      TUTTI_RETURN_IF_ERROR(copy(window_->data(rank_), send(first), k));
      TUTTI_RETURN_IF_ERROR(barrier());
      for (int p = 0; p < n_; ++p) {
        TUTTI_RETURN_IF_ERROR(
            copy(recv(static_cast<size_t>(p) * args_.count + first), window_->data(p), k));
      }
      TUTTI_RETURN_IF_ERROR(barrier());
    }
    return Status::ok();
  }

  Status reduceScatter() {
    const size_t n = static_cast<size_t>(n_);
    const size_t capacity = window_->dataBytes() / (n * elem_);
    for (size_t first = 0; first < args_.count; first += capacity) {
      const size_t k = std::min(capacity, args_.count - first);
      // Each block's chunk packed into the window, block q at q * k.
      for (size_t q = 0; q < n; ++q) {
        TUTTI_RETURN_IF_ERROR(
            copy(window_->data(rank_) + q * k * elem_, send(q * args_.count + first), k));
      }
      TUTTI_RETURN_IF_ERROR(barrier());
      TUTTI_RETURN_IF_ERROR(reduce(recv(first), static_cast<size_t>(rank_) * k * elem_, k));
      TUTTI_RETURN_IF_ERROR(barrier());
    }
    return Status::ok();
  }

  Runtime* runtime_;
  P2pWindow* window_;
  void* stream_;
  const CollectiveArgs& args_;
  const int n_;
  const int rank_;
  const size_t elem_;
};

void makeSticky(tuttiComm* comm, const Status& status) {
  int expected = tuttiSuccess;
  comm->asyncError.compare_exchange_strong(expected, status.code());
  TUTTI_WARN(kLogColl, "{}", status.message());
}

}  // namespace

Status noteP2pTimeout(tuttiComm* comm) {
  if (comm->p2p == nullptr) return Status::ok();
  const uint64_t barrier = __atomic_load_n(comm->p2p->errorWord(), __ATOMIC_ACQUIRE);
  if (barrier == 0) return Status::ok();
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
  // Counted until the stream has run the call: destroying the communicator waits for that.
  void* done = comm->p2p->callStarted();
  Status status = P2pRun(runtime, comm->p2p.get(), stream, args, comm->nranks).run(*algorithm);
  const Status queued = runtime->launchHostFunction(stream, P2pWindow::callDone, done);
  if (!queued.isOk()) P2pWindow::callDone(done);
  if (status.isOk()) status = queued;
  if (!status.isOk()) makeSticky(comm, status.withContext("p2p"));
  return status;
}

}  // namespace tutti
