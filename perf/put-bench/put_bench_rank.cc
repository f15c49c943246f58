#include "perf/put-bench/put_bench_rank.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>

#include "base/deadline.h"
#include "base/status.h"
#include "core/comm.h"
#include "transports/transport.h"

namespace tutti::perf {
namespace {

using Clock = std::chrono::steady_clock;

// Polls before a waiting rank yields its core: two ranks share two cores here, and a rank that
// spins on without yielding starves the peer it waits for.
constexpr int kSpinsBeforeYield = 64;
// The signal the benchmark's puts raise (any of Connection::kSignals would do).
constexpr int kSignal = 0;

// The byte at `index` of what `rank` sends in round `round`: differs per rank, size and round,
// so that a stale or misplaced byte is caught.
uint8_t patternByte(int rank, size_t bytes, int round, size_t index) {
  return static_cast<uint8_t>(index * 131 + bytes * 7 + static_cast<size_t>(round) * 17 +
                              static_cast<size_t>(rank) * 101);
}

void fillPattern(char* data, int rank, size_t bytes, int round) {
  for (size_t i = 0; i < bytes; ++i)
    data[i] = static_cast<char>(patternByte(rank, bytes, round, i));
}

long countWrong(const char* data, int rank, size_t bytes, int round) {
  long wrong = 0;
  for (size_t i = 0; i < bytes; ++i) {
    wrong += static_cast<uint8_t>(data[i]) != patternByte(rank, bytes, round, i);
  }
  return wrong;
}

double memcpyGBps(size_t bytes) {
  std::vector<char> from(bytes, 1), to(bytes, 0);
  const int reps = static_cast<int>(std::max<size_t>(4, (size_t{64} << 20) / bytes));
  double best = 0;
  for (int run = 0; run < 3; ++run) {
    const auto start = Clock::now();
    for (int rep = 0; rep < reps; ++rep) {
      std::memcpy(to.data(), from.data(), bytes);
      from[rep % bytes] = to[(rep + 1) % bytes];  // keeps the copies from being folded away
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::max(best, static_cast<double>(bytes) * reps / seconds / 1e9);
  }
  return best;
}

// One rank's side of the connection to the other rank, with the buffers every test uses.
class PutBenchPeer {
 public:
  PutBenchPeer(int rank, Connection* connection, const PutBenchOptions& options)
      : rank_(rank), peer_(1 - rank), connection_(connection), options_(options) {}

  Status setUp() {
    const size_t bytes = options_.maxBytes;
    source_.assign(bytes, 0);
    window_.assign(bytes * static_cast<size_t>(options_.window), 0);
    control_.assign(sizeof(RemoteMemory) * 2, 0);
    MemoryDomain& domain = connection_->memoryDomain();
    TUTTI_RETURN_IF_ERROR(domain.registerMemory(hostMemory(source_), &sourceRegistration_));
    TUTTI_RETURN_IF_ERROR(domain.registerMemory(hostMemory(window_), &windowRegistration_));
    TUTTI_RETURN_IF_ERROR(domain.registerMemory(hostMemory(control_), &controlRegistration_));
    if (!connection_->supportsPut()) return Status::ok();
    // Each rank exports its window and sends the export over the connection itself.
    auto* mine = reinterpret_cast<RemoteMemory*>(control_.data());
    TUTTI_RETURN_IF_ERROR(connection_->exportMemory(*windowRegistration_, mine));
    TUTTI_RETURN_IF_ERROR(exchange(0, sizeof(RemoteMemory), sizeof(RemoteMemory)));
    std::memcpy(&peerWindow_, control_.data() + sizeof(RemoteMemory), sizeof(RemoteMemory));
    return Status::ok();
  }

  bool supportsPut() const { return connection_->supportsPut(); }

  // Ping-pong of two-sided messages: rank 0 sends, rank 1 sends back once it received.
  Status sendRecvLatency(size_t bytes, int rounds, double* us, long* wrong) {
    const auto start = Clock::now();
    for (int round = 0; round < rounds; ++round) {
      if (rank_ == 0) {
        fillPattern(source_.data(), rank_, bytes, round);
        TUTTI_RETURN_IF_ERROR(send(sourceSlice(bytes)));
        TUTTI_RETURN_IF_ERROR(recv(windowSlice(0, bytes)));
      } else {
        TUTTI_RETURN_IF_ERROR(recv(windowSlice(0, bytes)));
        fillPattern(source_.data(), rank_, bytes, round);
        TUTTI_RETURN_IF_ERROR(send(sourceSlice(bytes)));
      }
      if (round == rounds - 1) *wrong += countWrong(window_.data(), peer_, bytes, round);
    }
    *us = elapsedUs(start) / (2.0 * rounds);
    return Status::ok();
  }

  // Ping-pong of puts: rank 0 puts into rank 1's window; rank 1, once the signal says the data is
  // there, puts into rank 0's.
  Status putLatency(size_t bytes, int rounds, double* us, long* wrong) {
    const auto start = Clock::now();
    for (int round = 0; round < rounds; ++round) {
      if (rank_ == 0) {
        fillPattern(source_.data(), rank_, bytes, round);
        TUTTI_RETURN_IF_ERROR(put(bytes, 0));
        TUTTI_RETURN_IF_ERROR(awaitSignals(1));
        if (round == rounds - 1) *wrong += countWrong(window_.data(), peer_, bytes, round);
      } else {
        TUTTI_RETURN_IF_ERROR(awaitSignals(1));
        // Checked before answering: the answer lets rank 0 go on to put into this window again.
        if (round == rounds - 1) *wrong += countWrong(window_.data(), peer_, bytes, round);
        fillPattern(source_.data(), rank_, bytes, round);
        TUTTI_RETURN_IF_ERROR(put(bytes, 0));
      }
    }
    *us = elapsedUs(start) / (2.0 * rounds);
    return Status::ok();
  }

  // Rank 0 streams `rounds` messages of `bytes`, `window` in flight, into separate slots of rank
  // 1's window; rank 1 answers the last with an 8-byte message, which ends the time.
  Status sendRecvBandwidth(size_t bytes, int rounds, double* gbps, long* wrong) {
    const int inFlight = options_.window;
    std::vector<TransferRequest> requests(static_cast<size_t>(inFlight));
    if (rank_ == 0) fillPattern(source_.data(), rank_, bytes, rounds);
    const auto start = Clock::now();
    for (int posted = 0; posted < rounds; posted += inFlight) {
      const int batch = std::min(inFlight, rounds - posted);
      for (int slot = 0; slot < batch; ++slot) {
        TransferRequest* request = &requests[static_cast<size_t>(slot)];
        *request = TransferRequest();
        TUTTI_RETURN_IF_ERROR(rank_ == 0
                                  ? connection_->postSend(sourceSlice(bytes), request)
                                  : connection_->postRecv(windowSlice(slot, bytes), request));
      }
      TUTTI_RETURN_IF_ERROR(waitUntil("the window of messages", [&] {
        return std::all_of(requests.begin(), requests.begin() + batch,
                           [](const TransferRequest& r) { return r.done; });
      }));
    }
    // Checked before the acknowledgement, which lets rank 0 go on to write the slots again.
    if (rank_ == 1) *wrong += countWrongSlots(bytes, rounds);
    TUTTI_RETURN_IF_ERROR(acknowledge());
    *gbps = static_cast<double>(bytes) * rounds / (elapsedUs(start) * 1e3);
    return Status::ok();
  }

  // The same with puts: rank 0 puts `rounds` times, `window` in flight; rank 1 waits for as many
  // signals and answers with an 8-byte message.
  Status putBandwidth(size_t bytes, int rounds, double* gbps, long* wrong) {
    const int inFlight = options_.window;
    std::vector<TransferRequest> requests(static_cast<size_t>(inFlight));
    if (rank_ == 0) fillPattern(source_.data(), rank_, bytes, rounds);
    const auto start = Clock::now();
    if (rank_ == 0) {
      for (int posted = 0; posted < rounds; posted += inFlight) {
        const int batch = std::min(inFlight, rounds - posted);
        for (int slot = 0; slot < batch; ++slot) {
          TransferRequest* request = &requests[static_cast<size_t>(slot)];
          *request = TransferRequest();
          TUTTI_RETURN_IF_ERROR(connection_->putWithSignal(sourceSlice(bytes), peerWindow_,
                                                           static_cast<size_t>(slot) * bytes,
                                                           kSignal, request));
        }
        TUTTI_RETURN_IF_ERROR(waitUntil("the window of puts", [&] {
          return std::all_of(requests.begin(), requests.begin() + batch,
                             [](const TransferRequest& r) { return r.done; });
        }));
      }
    } else {
      TUTTI_RETURN_IF_ERROR(awaitSignals(static_cast<uint64_t>(rounds)));
    }
    // Checked before the acknowledgement, which lets rank 0 go on to write the slots again.
    if (rank_ == 1) *wrong += countWrongSlots(bytes, rounds);
    TUTTI_RETURN_IF_ERROR(acknowledge());
    *gbps = static_cast<double>(bytes) * rounds / (elapsedUs(start) * 1e3);
    return Status::ok();
  }

  // Both ranks: rank 1 sends `value` to rank 0, which returns it (rank 1's wrong bytes, say).
  Status gatherValue(long* value) {
    auto* word = reinterpret_cast<long*>(control_.data());
    if (rank_ == 1) *word = *value;
    TransferRequest request;
    const Slice slice{controlRegistration_, 0, sizeof(long)};
    TUTTI_RETURN_IF_ERROR(rank_ == 1 ? connection_->postSend(slice, &request)
                                     : connection_->postRecv(slice, &request));
    TUTTI_RETURN_IF_ERROR(waitUntil("rank 1's count", [&] { return request.done; }));
    if (rank_ == 0) *value = *word;
    return Status::ok();
  }

 private:
  static Memory hostMemory(std::vector<char>& buffer) {
    Memory memory;
    memory.ptr = buffer.data();
    memory.bytes = buffer.size();
    return memory;
  }
  static double elapsedUs(Clock::time_point start) {
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  }
  // Rank 0's bytes of round `round` in every window slot a bandwidth test filled.
  long countWrongSlots(size_t bytes, int rounds) const {
    long wrong = 0;
    const int slots = std::min(options_.window, rounds);
    for (int slot = 0; slot < slots; ++slot) {
      wrong += countWrong(window_.data() + static_cast<size_t>(slot) * bytes, 0, bytes, rounds);
    }
    return wrong;
  }
  Slice sourceSlice(size_t bytes) const { return Slice{sourceRegistration_, 0, bytes}; }
  Slice windowSlice(int slot, size_t bytes) const {
    return Slice{windowRegistration_, static_cast<size_t>(slot) * bytes, bytes};
  }

  // Progresses the connection until done() or the deadline; yields after a short spin.
  Status waitUntil(const char* what, const std::function<bool()>& done) {
    const Deadline deadline = Deadline::afterMs(options_.timeoutMs);
    int idle = 0;
    while (!done()) {
      bool progressed = false;
      TUTTI_RETURN_IF_ERROR(connection_->progress(&progressed));
      if (progressed) {
        idle = 0;
      } else if (++idle > kSpinsBeforeYield) {
        if (deadline.expired()) {
          return makeError(tuttiTimeout, "rank {} waited {} ms for {} from rank {}", rank_,
                           options_.timeoutMs, what, peer_);
        }
        sched_yield();
      }
    }
    return Status::ok();
  }

  Status send(const Slice& slice) {
    TransferRequest request;
    TUTTI_RETURN_IF_ERROR(connection_->postSend(slice, &request));
    return waitUntil("a send", [&] { return request.done; });
  }
  Status recv(const Slice& slice) {
    TransferRequest request;
    TUTTI_RETURN_IF_ERROR(connection_->postRecv(slice, &request));
    return waitUntil("a message", [&] { return request.done; });
  }
  Status put(size_t bytes, size_t offset) {
    TransferRequest request;
    TUTTI_RETURN_IF_ERROR(
        connection_->putWithSignal(sourceSlice(bytes), peerWindow_, offset, kSignal, &request));
    return waitUntil("a put", [&] { return request.done; });
  }
  // Waits until the peer's puts raised the signal `count` more times than seen so far.
  Status awaitSignals(uint64_t count) {
    signalsSeen_ += count;
    return waitUntil("a put's signal",
                     [&] { return connection_->readSignal(kSignal) >= signalsSeen_; });
  }
  // Rank 1 tells rank 0 it has everything.
  Status acknowledge() {
    const Slice slice{controlRegistration_, 0, 8};
    return rank_ == 1 ? send(slice) : recv(slice);
  }
  // Sends sendBytes from the control buffer at `offset` and receives recvBytes after them.
  Status exchange(size_t offset, size_t sendBytes, size_t recvBytes) {
    TransferRequest sent, received;
    TUTTI_RETURN_IF_ERROR(connection_->postRecv(
        Slice{controlRegistration_, offset + sendBytes, recvBytes}, &received));
    TUTTI_RETURN_IF_ERROR(
        connection_->postSend(Slice{controlRegistration_, offset, sendBytes}, &sent));
    return waitUntil("the peer's window", [&] { return sent.done && received.done; });
  }

  const int rank_;
  const int peer_;
  Connection* const connection_;
  const PutBenchOptions& options_;
  std::vector<char> source_, window_, control_;
  const Registration* sourceRegistration_ = nullptr;
  const Registration* windowRegistration_ = nullptr;
  const Registration* controlRegistration_ = nullptr;
  RemoteMemory peerWindow_;
  uint64_t signalsSeen_ = 0;
};

Status runSize(PutBenchPeer& peer, int rank, size_t bytes, const PutBenchOptions& options,
               PutBenchRow* row) {
  const int rounds = itersFor(options, bytes);
  double ignored = 0;
  long wrong = 0;
  row->bytes = bytes;
  // Each test runs its warm-up rounds first, untimed.
  TUTTI_RETURN_IF_ERROR(peer.sendRecvLatency(bytes, options.warmup, &ignored, &wrong));
  TUTTI_RETURN_IF_ERROR(peer.sendRecvLatency(bytes, rounds, &row->sendRecvLatencyUs, &wrong));
  TUTTI_RETURN_IF_ERROR(peer.sendRecvBandwidth(bytes, options.warmup, &ignored, &wrong));
  TUTTI_RETURN_IF_ERROR(peer.sendRecvBandwidth(bytes, rounds, &row->sendRecvGBps, &wrong));
  if (peer.supportsPut()) {
    TUTTI_RETURN_IF_ERROR(peer.putLatency(bytes, options.warmup, &ignored, &wrong));
    TUTTI_RETURN_IF_ERROR(peer.putLatency(bytes, rounds, &row->putLatencyUs, &wrong));
    TUTTI_RETURN_IF_ERROR(peer.putBandwidth(bytes, options.warmup, &ignored, &wrong));
    TUTTI_RETURN_IF_ERROR(peer.putBandwidth(bytes, rounds, &row->putGBps, &wrong));
  }
  // Rank 0's row counts both ranks' wrong bytes.
  long peerWrong = wrong;
  TUTTI_RETURN_IF_ERROR(peer.gatherValue(&peerWrong));
  row->wrong = rank == 0 ? wrong + peerWrong : wrong;
  if (rank == 0) row->memcpyGBps = memcpyGBps(bytes);
  return Status::ok();
}

}  // namespace

int itersFor(const PutBenchOptions& options, size_t bytes) {
  constexpr size_t kScaleFrom = size_t{1} << 20;
  if (bytes <= kScaleFrom) return options.iters;
  return std::max(4, static_cast<int>(options.iters / (bytes / kScaleFrom)));
}

int runPutBenchRank(int rank, const tuttiUniqueId& id, const PutBenchOptions& options,
                    PutBenchResult* result) {
  tuttiComm_t comm = nullptr;
  if (tuttiCommInitRank(&comm, 2, id, rank) != tuttiSuccess) {
    std::fprintf(stderr, "tutti-put-bench: rank %d: init: %s\n", rank, tuttiGetLastError(nullptr));
    return 2;
  }
  int exitCode = 0;
  // The handle names the communicator in the registry of live ones (core/comm.h).
  tuttiComm* live = liveComm(comm);
  Connection* connection = live->connections.at(static_cast<size_t>(1 - rank));
  PutBenchPeer peer(rank, connection, options);
  Status status = peer.setUp();
  if (rank == 0) {
    std::snprintf(result->transport, sizeof(result->transport), "%s", live->transportNames.c_str());
    result->supportsPut = peer.supportsPut();
  }
  for (size_t bytes = options.minBytes; status.isOk() && bytes <= options.maxBytes;
       bytes *= static_cast<size_t>(options.factor)) {
    PutBenchRow row;
    status = runSize(peer, rank, bytes, options, &row);
    if (!status.isOk()) break;
    if (row.wrong != 0) exitCode = 1;
    if (rank == 0 && result->rows < PutBenchResult::kMaxRows) result->row[result->rows++] = row;
  }
  if (!status.isOk()) {
    std::fprintf(stderr, "tutti-put-bench: rank %d: %s\n", rank, status.message().c_str());
    exitCode = 2;
  }
  tuttiCommDestroy(comm);
  return exitCode;
}

}  // namespace tutti::perf
