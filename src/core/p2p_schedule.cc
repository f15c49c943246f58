#include "core/p2p_schedule.h"

#include <algorithm>
#include <cstring>

#include "exec/datatype.h"

namespace tutti {
namespace {

using device::Runtime;

// One call's stream work over the windows.
class P2pRun {
 public:
  P2pRun(Runtime* runtime, const P2pLayout& layout, uint64_t* barriers, void* stream,
         const CollectiveArgs& args, const P2pCallCheck* check, const P2pPeerBuffers* peers)
      : runtime_(runtime),
        window_(layout),
        barriers_(barriers),
        stream_(stream),
        args_(args),
        check_(check),
        peers_(peers),
        n_(layout.ranks()),
        rank_(layout.rank),
        elem_(dataTypeSize(args.type)) {}

  Status run(P2pAlgorithm algorithm) {
    if (peers_ != nullptr) return runRegistered(algorithm);
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
    for (int r = 0; r < n_; ++r) launch.announce[r] = window_.flags(r) + rank_;
    launch.slots = window_.flags(rank_);
    launch.ranks = n_;
    launch.value = ++*barriers_;
    launch.error = window_.error;
    launch.timeoutMs = window_.timeoutMs;
    if (check_ != nullptr) {  // the call's first barrier checks it (device/p2p_launch.h)
      static_assert(sizeof(P2pCallCheck) == sizeof(launch.call), "the check's words");
      std::memcpy(launch.call, check_, sizeof(launch.call));
      launch.publish = window_.call(rank_);
      for (int r = 0; r < n_; ++r) launch.members[r] = window_.call(r);
      launch.mismatch = window_.mismatch;
      check_ = nullptr;
    }
    return runtime_->launchBarrier(launch, stream_);
  }

  // dst = the reduction of `count` elements at offsetBytes into every window's data, in rank order.
  Status reduce(void* dst, size_t offsetBytes, size_t count) {
    std::vector<const char*> inputs(static_cast<size_t>(n_));
    for (int r = 0; r < n_; ++r) inputs[static_cast<size_t>(r)] = window_.data(r);
    return reduceFrom(dst, inputs, offsetBytes, count);
  }

  // dst = the reduction of `count` elements at offsetBytes into every rank's input, in rank order.
  Status reduceFrom(void* dst, const std::vector<const char*>& inputs, size_t offsetBytes,
                    size_t count) {
    if (count == 0) return Status::ok();
    device::ReduceManyLaunch launch;
    launch.dst = dst;
    for (int r = 0; r < n_; ++r) launch.inputs[r] = inputs[static_cast<size_t>(r)] + offsetBytes;
    launch.inputCount = n_;
    launch.count = count;
    launch.type = args_.type;
    launch.op = args_.op;
    launch.avgDivisor = args_.op == tuttiAvg ? n_ : 0;
    return runtime_->launchReduceMany(launch, stream_);
  }

  // step(first, k) for each chunk of at most `capacity` elements of every block.
  template <typename Step>
  Status forEachChunk(size_t capacity, Step&& step) {
    if (capacity == 0) {
      return makeError(tuttiInternalError, "p2p: a window of {} bytes holds no chunk of {}",
                       window_.dataBytes, collectiveName(args_.collective));
    }
    for (size_t first = 0; first < args_.count; first += capacity) {
      TUTTI_RETURN_IF_ERROR(step(first, std::min(capacity, args_.count - first)));
    }
    return Status::ok();
  }

  // The chunk's send data into this rank's window, then a barrier: every window holds it.
  Status publish(size_t first, size_t k) {
    TUTTI_RETURN_IF_ERROR(copy(window_.data(rank_), send(first), k));
    return barrier();
  }

  Status oneShotAllReduce() {
    return forEachChunk(window_.dataBytes / elem_, [&](size_t first, size_t k) {
      TUTTI_RETURN_IF_ERROR(publish(first, k));
      TUTTI_RETURN_IF_ERROR(reduce(recv(first), 0, k));
      return barrier();
    });
  }

  Status twoShotAllReduce() {
    // The window's data: an input half, then an output half of the same size.
    const size_t capacity = window_.dataBytes / (2 * elem_);
    const size_t outputBytes = capacity * elem_;
    const size_t n = static_cast<size_t>(n_);
    TUTTI_RETURN_IF_ERROR(forEachChunk(capacity, [&](size_t first, size_t k) {
      const size_t slice = (k + n - 1) / n;
      auto sliceOf = [&](size_t r, size_t* start) {
        *start = std::min(k, r * slice);
        return std::min(slice, k - *start);
      };
      TUTTI_RETURN_IF_ERROR(publish(first, k));
      size_t start = 0;
      const size_t mine = sliceOf(static_cast<size_t>(rank_), &start);
      TUTTI_RETURN_IF_ERROR(
          reduce(window_.data(rank_) + outputBytes + start * elem_, start * elem_, mine));
      TUTTI_RETURN_IF_ERROR(barrier());
      for (size_t p = 0; p < n; ++p) {
        const size_t length = sliceOf(p, &start);
        if (length == 0) continue;
        TUTTI_RETURN_IF_ERROR(copy(recv(first + start),
                                   window_.data(static_cast<int>(p)) + outputBytes + start * elem_,
                                   length));
      }
      return Status::ok();
    }));
    // Peers read this rank's output half until here; the next call may write it.
    return barrier();
  }

  Status allGather() {
    return forEachChunk(window_.dataBytes / elem_, [&](size_t first, size_t k) {
      TUTTI_RETURN_IF_ERROR(publish(first, k));
      for (int p = 0; p < n_; ++p) {
        TUTTI_RETURN_IF_ERROR(
            copy(recv(static_cast<size_t>(p) * args_.count + first), window_.data(p), k));
      }
      return barrier();
    });
  }

  Status reduceScatter() {
    const size_t n = static_cast<size_t>(n_);
    return forEachChunk(window_.dataBytes / (n * elem_), [&](size_t first, size_t k) {
      // Each block's chunk packed into the window, block q at q * k.
      for (size_t q = 0; q < n; ++q) {
        TUTTI_RETURN_IF_ERROR(
            copy(window_.data(rank_) + q * k * elem_, send(q * args_.count + first), k));
      }
      TUTTI_RETURN_IF_ERROR(barrier());
      TUTTI_RETURN_IF_ERROR(reduce(recv(first), static_cast<size_t>(rank_) * k * elem_, k));
      return barrier();
    });
  }

  // Over peers' registered buffers: a first barrier (every rank's send data is in place), the
  // reads straight from the peers' buffers, and a last barrier (no peer reads this rank's
  // buffers any more, so work queued after the call may write them). Every rank writes only its
  // own receive buffer, and only elements no peer reads in the same barrier interval.
  Status runRegistered(P2pAlgorithm algorithm) {
    const std::vector<const char*>& sends = peers_->send;
    TUTTI_RETURN_IF_ERROR(barrier());
    switch (args_.collective) {
      case Collective::kAllReduce:
        if (algorithm == P2pAlgorithm::kTwoShot) return registeredTwoShot();
        return registeredOneShot();
      case Collective::kAllGather:
        for (int p = 0; p < n_; ++p) {
          char* block = recv(static_cast<size_t>(p) * args_.count);
          if (block == sends[static_cast<size_t>(p)]) continue;  // in place: its own block
          TUTTI_RETURN_IF_ERROR(copy(block, sends[static_cast<size_t>(p)], args_.count));
        }
        return barrier();
      case Collective::kReduceScatter:
        // Block r of every rank's send buffer; in place, recv is this rank's block r, which
        // only this rank reads.
        TUTTI_RETURN_IF_ERROR(reduceFrom(
            recv(0), sends, static_cast<size_t>(rank_) * args_.count * elem_, args_.count));
        return barrier();
      default:
        return makeError(tuttiInternalError, "p2p: {} has no p2p algorithm",
                         collectiveName(args_.collective));
    }
  }

  // Every rank reduces every rank's send buffer, chunk by chunk, into its receive buffer. In
  // place, a peer may still read this rank's send chunk while this rank reduces it: the chunk
  // goes to this rank's window first and into the receive buffer after the chunk's barrier.
  // Both forms queue the same barriers, so ranks may differ in which they take.
  Status registeredOneShot() {
    const size_t bytes = args_.count * elem_;
    const char* send0 = static_cast<const char*>(args_.send);
    const char* recv0 = static_cast<const char*>(args_.recv);
    const bool overlaps = send0 < recv0 + bytes && recv0 < send0 + bytes;
    return forEachChunk(window_.dataBytes / elem_, [&](size_t first, size_t k) {
      if (!overlaps) {
        TUTTI_RETURN_IF_ERROR(reduceFrom(recv(first), peers_->send, first * elem_, k));
        return barrier();
      }
      TUTTI_RETURN_IF_ERROR(reduceFrom(window_.data(rank_), peers_->send, first * elem_, k));
      TUTTI_RETURN_IF_ERROR(barrier());
      return copy(recv(first), window_.data(rank_), k);
    });
  }

  // Rank r reduces slice r of every send buffer into slice r of its receive buffer; after a
  // barrier, every rank copies slice p from rank p's receive buffer. In place, slice r of this
  // rank's buffer is read only by this rank in the first interval, and in the second this rank
  // writes only the slices it does not own.
  Status registeredTwoShot() {
    const size_t n = static_cast<size_t>(n_);
    const size_t slice = (args_.count + n - 1) / n;
    auto sliceOf = [&](size_t r, size_t* start) {
      *start = std::min(args_.count, r * slice);
      return std::min(slice, args_.count - *start);
    };
    size_t start = 0;
    const size_t mine = sliceOf(static_cast<size_t>(rank_), &start);
    TUTTI_RETURN_IF_ERROR(reduceFrom(recv(start), peers_->send, start * elem_, mine));
    TUTTI_RETURN_IF_ERROR(barrier());
    for (size_t p = 0; p < n; ++p) {
      const size_t length = sliceOf(p, &start);
      if (length == 0 || static_cast<int>(p) == rank_) continue;
      TUTTI_RETURN_IF_ERROR(copy(recv(start), peers_->recv[p] + start * elem_, length));
    }
    return barrier();
  }

  Runtime* runtime_;
  const P2pLayout& window_;
  uint64_t* barriers_;
  void* stream_;
  const CollectiveArgs& args_;
  const P2pCallCheck* check_;  // until the first barrier has taken it
  const P2pPeerBuffers* peers_;
  const int n_;
  const int rank_;
  const size_t elem_;
};

}  // namespace

bool p2pReadsPeersRecv(Collective collective, P2pAlgorithm algorithm) {
  return collective == Collective::kAllReduce && algorithm == P2pAlgorithm::kTwoShot;
}

Status queueP2pCollective(device::Runtime* runtime, const P2pLayout& layout, uint64_t* barriers,
                          P2pAlgorithm algorithm, const CollectiveArgs& args,
                          const P2pCallCheck* check, const P2pPeerBuffers* peers, void* stream) {
  if (peers != nullptr && (peers->send.size() != layout.windows.size() ||
                           (p2pReadsPeersRecv(args.collective, algorithm) &&
                            peers->recv.size() != layout.windows.size()))) {
    return makeError(tuttiInternalError, "p2p: registered buffers of {} ranks for {} windows",
                     peers->send.size(), layout.windows.size());
  }
  return P2pRun(runtime, layout, barriers, stream, args, check, peers).run(algorithm);
}

}  // namespace tutti
