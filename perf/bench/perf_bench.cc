#include "perf/bench/perf_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "device/device_runtime.h"
#include "perf/bench/perf_membw.h"
#include "testing/exact_data.h"
#include "testing/nccl_tests.h"

namespace tutti::perf {
namespace {

using Clock = std::chrono::steady_clock;

using test::CallShape;

CallShape shapeOf(PerfCollective coll, size_t bytes, size_t typeSize, int nranks) {
  return test::callShapeOf(collectiveOf(coll), bytes, typeSize, nranks);
}

bool report(tuttiResult_t rc, tuttiComm_t comm, const char* what) {
  if (rc == tuttiSuccess) return true;
  std::fprintf(stderr, "tutti-perf: %s: %s: %s\n", what, tuttiGetErrorString(rc),
               tuttiGetLastError(comm));
  return false;
}

// A row's buffers: host vectors, or (--device) device memory of the communicator's device with a
// stream to queue the calls on.
class Buffers {
 public:
  Buffers(const CallShape& shape, size_t typeSize, int rank)
      : typeSize_(typeSize),
        rank_(rank),
        shape_(shape),
        send_(shape.sendCount * typeSize + 1),
        recv_(shape.recvCount * typeSize + 1) {}
  ~Buffers() {
    if (onDevice_) {
      if (window_ != nullptr) (void)report(tuttiCommWindowDeregister(comm_, window_), comm_, "-R");
      tuttiMemFree(deviceSend_);
      if (!oneAllocation_) tuttiMemFree(deviceRecv_);
      (void)device::activeRuntime()->streamDestroy(stream_);
    }
  }

  // Moves the row to device memory of the communicator's device; `registered`: both buffers in
  // one allocation registered as a symmetric window (collective: every rank moves its row).
  bool toDevice(tuttiComm_t comm, bool registered) {
    device::Runtime* runtime = device::activeRuntime();
    int dev = -1;
    if (runtime == nullptr || tuttiCommCuDevice(comm, &dev) != tuttiSuccess || dev < 0) {
      std::fprintf(stderr,
                   "tutti-perf: --device: no device runtime (no GPU or driver; TUTTI_DEVICE="
                   "emulated emulates one)\n");
      return false;
    }
    Status status = runtime->setDevice(dev);
    if (status.isOk()) status = runtime->streamCreate(&stream_);
    if (!status.isOk()) {
      std::fprintf(stderr, "tutti-perf: --device: %s\n", status.message().c_str());
      return false;
    }
    if (registered) {
      // The receive buffer at the same offset on every rank: rows have the same shape everywhere.
      const size_t recvOffset = (send_.size() + 255) / 256 * 256;
      if (!report(tuttiMemAlloc(&deviceSend_, recvOffset + recv_.size()), comm, "-R")) {
        return false;
      }
      onDevice_ = true;
      oneAllocation_ = true;  // deviceRecv_ lies inside deviceSend_'s allocation
      deviceRecv_ = static_cast<char*>(deviceSend_) + recvOffset;
      comm_ = comm;
      return report(tuttiCommWindowRegister(comm, deviceSend_, recvOffset + recv_.size(), &window_,
                                            TUTTI_WIN_COLL_SYMMETRIC),
                    comm, "-R");
    }
    if (!report(tuttiMemAlloc(&deviceSend_, send_.size()), comm, "--device") ||
        !report(tuttiMemAlloc(&deviceRecv_, recv_.size()), comm, "--device")) {
      return false;
    }
    onDevice_ = true;
    return true;
  }
  bool onDevice() const { return onDevice_; }
  void* stream() const { return stream_; }

  // The pointers of one call: in place as NCCL lays it out.
  void pointers(PerfCollective coll, bool inPlace, const void** send, void** recv) {
    const size_t mine = static_cast<size_t>(rank_) * shape_.callCount * typeSize_;
    char* sendBase = send_.data();
    char* recvBase = recv_.data();
    if (onDevice_) {
      sendBase = static_cast<char*>(deviceSend_);
      recvBase = static_cast<char*>(deviceRecv_);
    }
    *send = sendBase;
    *recv = recvBase;
    if (!inPlace) return;
    switch (coll) {
      case PerfCollective::kAllReduce:
      case PerfCollective::kBroadcast:
      case PerfCollective::kReduce:
      case PerfCollective::kAllToAll:
      case PerfCollective::kSendRecv:
        *send = recvBase;
        break;
      case PerfCollective::kAllGather:
      case PerfCollective::kGather:
        *send = recvBase + mine;
        break;
      case PerfCollective::kReduceScatter:
      case PerfCollective::kScatter:
        *recv = sendBase + mine;
        break;
    }
  }
  // The host copies; with --device, synced to and from the device buffers by these two.
  char* send() { return send_.data(); }
  char* recv() { return recv_.data(); }
  bool upload() {
    return copy(deviceSend_, send_.data(), send_.size()) &&
           copy(deviceRecv_, recv_.data(), recv_.size());
  }
  bool download() {
    return copy(send_.data(), deviceSend_, send_.size()) &&
           copy(recv_.data(), deviceRecv_, recv_.size());
  }
  // Waits for the calls queued on the stream (with --device).
  bool synchronize() {
    if (!onDevice_) return true;
    const Status status = device::activeRuntime()->streamSynchronize(stream_, kSyncTimeoutMs);
    if (!status.isOk()) std::fprintf(stderr, "tutti-perf: %s\n", status.message().c_str());
    return status.isOk();
  }
  // A host pointer into the host copies for a device pointer of the call (or itself).
  const char* hostView(const void* pointer) const {
    if (!onDevice_) return static_cast<const char*>(pointer);
    const char* p = static_cast<const char*>(pointer);
    const char* sendBase = static_cast<const char*>(deviceSend_);
    if (p >= sendBase && p < sendBase + send_.size()) return send_.data() + (p - sendBase);
    return recv_.data() + (p - static_cast<const char*>(deviceRecv_));
  }

 private:
  static constexpr int kSyncTimeoutMs = 600000;
  bool copy(void* dst, const void* src, size_t bytes) {
    device::Runtime* runtime = device::activeRuntime();
    Status status = runtime->copyAsync(dst, src, bytes, stream_);
    if (status.isOk()) status = runtime->streamSynchronize(stream_, kSyncTimeoutMs);
    if (!status.isOk()) std::fprintf(stderr, "tutti-perf: %s\n", status.message().c_str());
    return status.isOk();
  }

  size_t typeSize_;
  int rank_;
  CallShape shape_;
  std::vector<char> send_;
  std::vector<char> recv_;
  bool onDevice_ = false;
  void* deviceSend_ = nullptr;
  void* deviceRecv_ = nullptr;
  tuttiComm_t comm_ = nullptr;
  tuttiWindow_t window_ = nullptr;  // -R 2: the window holding both buffers
  bool oneAllocation_ = false;      // -R 2: both buffers in deviceSend_'s allocation
  void* stream_ = nullptr;
};

// nccl-tests' sendrecv: every rank sends to rank + 1 and receives from rank - 1, grouped.
tuttiResult_t sendRecvOnce(const void* send, void* recv, size_t count, tuttiDataType_t type,
                           tuttiComm_t comm) {
  int rank = 0;
  int nranks = 1;
  tuttiCommUserRank(comm, &rank);
  tuttiCommCount(comm, &nranks);
  tuttiGroupStart();
  const tuttiResult_t sent = tuttiSend(send, count, type, (rank + 1) % nranks, comm, nullptr);
  const tuttiResult_t received =
      tuttiRecv(recv, count, type, (rank + nranks - 1) % nranks, comm, nullptr);
  const tuttiResult_t ran = tuttiGroupEnd();
  return sent != tuttiSuccess ? sent : received != tuttiSuccess ? received : ran;
}

tuttiResult_t callOnce(PerfCollective coll, const void* send, void* recv, size_t count,
                       tuttiDataType_t type, tuttiRedOp_t op, tuttiComm_t comm,
                       void* stream = nullptr) {
  switch (coll) {
    case PerfCollective::kAllReduce:
      return tuttiAllReduce(send, recv, count, type, op, comm, stream);
    case PerfCollective::kAllGather:
      return tuttiAllGather(send, recv, count, type, comm, stream);
    case PerfCollective::kReduceScatter:
      return tuttiReduceScatter(send, recv, count, type, op, comm, stream);
    case PerfCollective::kBroadcast:
      return tuttiBroadcast(send, recv, count, type, kPerfRoot, comm, stream);
    case PerfCollective::kReduce:
      return tuttiReduce(send, recv, count, type, op, kPerfRoot, comm, stream);
    case PerfCollective::kAllToAll:
      return tuttiAlltoAll(send, recv, count, type, comm, stream);
    case PerfCollective::kGather:
      return tuttiGather(send, recv, count, type, kPerfRoot, comm, stream);
    case PerfCollective::kScatter:
      return tuttiScatter(send, recv, count, type, kPerfRoot, comm, stream);
    case PerfCollective::kSendRecv:
      return sendRecvOnce(send, recv, count, type, comm);
  }
  return tuttiInvalidArgument;
}

// The exact output of this rank into expected (recvCount elements); returns how many elements
// this rank checks (none off the root for reduce and gather, whose recvbuff is unused there).
// Rank r's input element k is contribution(r, k).
size_t expectedOutput(PerfCollective coll, const CallShape& shape, tuttiDataType_t type,
                      tuttiRedOp_t op, int rank, int nranks, char* expected) {
  const size_t size = test::typeSize(type);
  const size_t count = shape.callCount;
  const size_t mine = static_cast<size_t>(rank) * count;
  const bool root = rank == kPerfRoot;
  if ((coll == PerfCollective::kReduce || coll == PerfCollective::kGather) && !root) return 0;
  for (size_t i = 0; i < shape.recvCount; ++i) {
    char* out = expected + i * size;
    const int block = count == 0 ? 0 : static_cast<int>(i / count);
    const size_t inBlock = count == 0 ? 0 : i % count;
    switch (coll) {
      case PerfCollective::kAllReduce:
      case PerfCollective::kReduce:
        test::expectedReduction(out, type, op, nranks, i);
        break;
      case PerfCollective::kReduceScatter:
        test::expectedReduction(out, type, op, nranks, mine + i);
        break;
      case PerfCollective::kAllGather:
      case PerfCollective::kGather:
        test::fillContributions(out, type, op, nranks, block, inBlock, 1);
        break;
      case PerfCollective::kBroadcast:
        test::fillContributions(out, type, op, nranks, kPerfRoot, i, 1);
        break;
      case PerfCollective::kAllToAll:
        test::fillContributions(out, type, op, nranks, block, mine + inBlock, 1);
        break;
      case PerfCollective::kScatter:
        test::fillContributions(out, type, op, nranks, kPerfRoot, mine + i, 1);
        break;
      case PerfCollective::kSendRecv:
        test::fillContributions(out, type, op, nranks, (rank + nranks - 1) % nranks, i, 1);
        break;
    }
  }
  return shape.recvCount;
}

// Fills inputs with exact data, runs once, and counts this rank's wrong output elements.
bool checkOnce(tuttiComm_t comm, PerfCollective coll, const CallShape& shape, tuttiDataType_t type,
               tuttiRedOp_t op, int rank, int nranks, bool inPlace, Buffers* buffers, long* wrong) {
  const size_t size = test::typeSize(type);
  std::memset(buffers->recv(), 0xA5, shape.recvCount * size);  // a missed write shows
  const void* send = nullptr;
  void* recv = nullptr;
  buffers->pointers(coll, inPlace, &send, &recv);
  std::vector<char> expected(shape.recvCount * size + 1);
  test::fillContributions(const_cast<char*>(buffers->hostView(send)), type, op, nranks, rank, 0,
                          shape.sendCount);
  const size_t checked = expectedOutput(coll, shape, type, op, rank, nranks, expected.data());
  if (buffers->onDevice() && !buffers->upload()) return false;
  if (!report(callOnce(coll, send, recv, shape.callCount, type, op, comm, buffers->stream()), comm,
              "check")) {
    return false;
  }
  if (buffers->onDevice() && !(buffers->synchronize() && buffers->download())) return false;
  size_t first = 0;
  *wrong = static_cast<long>(
      test::countMismatches(buffers->hostView(recv), expected.data(), checked, type, &first));
  return true;
}

// Combines one value over ranks: 0 rank 0's, 1 mean, 2 min, 3 max.
bool combine(tuttiComm_t comm, int how, int rank, int nranks, double* value) {
  double mine = *value;
  tuttiRedOp_t op = how == 2 ? tuttiMin : how == 3 ? tuttiMax : tuttiSum;
  if (how == 0 && rank != 0) mine = 0;
  if (!report(tuttiAllReduce(&mine, &mine, 1, tuttiFloat64, op, comm, nullptr), comm, "timing")) {
    return false;
  }
  *value = how == 1 ? mine / nranks : mine;
  return true;
}

}  // namespace

Row describeRow(PerfCollective collective, tuttiDataType_t type, tuttiRedOp_t op, size_t bytes,
                int nranks) {
  const size_t size = test::typeSize(type);
  const CallShape shape = shapeOf(collective, bytes, size, nranks);
  Row row;
  row.type = type;
  row.op = op;
  row.count = shape.largerCount();
  row.bytes = row.count * size;
  return row;
}

bool runRow(tuttiComm_t comm, const PerfOptions& options, tuttiDataType_t type, tuttiRedOp_t op,
            size_t bytes, Row* row, Placements placements) {
  int rank = 0;
  int nranks = 1;
  tuttiCommUserRank(comm, &rank);
  tuttiCommCount(comm, &nranks);
  const size_t size = test::typeSize(type);
  const PerfCollective coll = options.collective;
  const CallShape shape = shapeOf(coll, bytes, size, nranks);
  Buffers buffers(shape, size, rank);
  if (options.device && !buffers.toDevice(comm, options.registerMode == 2)) return false;
  *row = describeRow(coll, type, op, bytes, nranks);

  for (bool inPlace : {false, true}) {
    if (inPlace && placements == Placements::kOutOfPlace) break;
    Measurement& m = inPlace ? row->inPlace : row->outOfPlace;
    if (options.check) {
      long wrong = 0;
      if (!checkOnce(comm, coll, shape, type, op, rank, nranks, inPlace, &buffers, &wrong)) {
        return false;
      }
      int64_t total = wrong;
      if (!report(tuttiAllReduce(&total, &total, 1, tuttiInt64, tuttiSum, comm, nullptr), comm,
                  "check")) {
        return false;
      }
      m.wrong = static_cast<long>(total);
    }
    const void* send = nullptr;
    void* recv = nullptr;
    buffers.pointers(coll, inPlace, &send, &recv);
    // Timed calls reuse the checked buffers; values may grow to infinity (never denormals,
    // the one slow case of host float arithmetic).
    for (int i = 0; i < options.warmupIters; ++i) {
      if (!report(callOnce(coll, send, recv, shape.callCount, type, op, comm, buffers.stream()),
                  comm, "warm-up")) {
        return false;
      }
    }
    if (!buffers.synchronize()) return false;
    int64_t barrier = 0;
    if (!report(tuttiAllReduce(&barrier, &barrier, 1, tuttiInt64, tuttiSum, comm, nullptr), comm,
                "barrier")) {
      return false;
    }
    // Each iteration is timed from the end of the one before: their sum is the mean's total.
    std::vector<double> iterUs(static_cast<size_t>(options.iters));
    const auto start = Clock::now();
    auto last = start;
    for (int i = 0; i < options.iters; ++i) {
      if (!report(callOnce(coll, send, recv, shape.callCount, type, op, comm, buffers.stream()),
                  comm, "timed") ||
          !buffers.synchronize()) {
        return false;
      }
      const auto now = Clock::now();
      iterUs[i] = std::chrono::duration<double, std::micro>(now - last).count();
      last = now;
    }
    double us = std::chrono::duration<double, std::micro>(last - start).count() / options.iters;
    if (!combine(comm, options.average, rank, nranks, &us)) return false;
    // An iteration takes as long as its slowest rank.
    if (!report(tuttiAllReduce(iterUs.data(), iterUs.data(), iterUs.size(), tuttiFloat64, tuttiMax,
                               comm, nullptr),
                comm, "timing")) {
      return false;
    }
    m.p50Us = nearestRankPercentile(iterUs, 50);
    m.p99Us = nearestRankPercentile(iterUs, 99);
    m.timeUs = us;
    m.algbw = us > 0 ? static_cast<double>(row->bytes) / (us * 1e-6) / 1e9 : 0;
    m.busbw = m.algbw * test::busBandwidthFactor(collectiveOf(coll), nranks);
  }
  return true;
}

bool measureBound(tuttiComm_t comm, const PerfOptions& options,
                  const std::vector<std::string>& hostOfRank, BoundInfo* bound) {
  int rank = 0;
  int nranks = 1;
  tuttiCommUserRank(comm, &rank);
  tuttiCommCount(comm, &nranks);
  *bound = BoundInfo();
  bound->enabled = true;
  bound->measured = options.memGBps <= 0;
  // Hosts in the order of their lowest rank; that rank measures for its host.
  std::vector<size_t> hostIndex(static_cast<size_t>(nranks));
  std::vector<int> hostLeader;
  for (int r = 0; r < nranks; ++r) {
    size_t h = 0;
    while (h < bound->hosts.size() && bound->hosts[h].host != hostOfRank[r]) ++h;
    if (h == bound->hosts.size()) {
      bound->hosts.push_back(HostMemory{hostOfRank[r], 0, 0, options.memGBps});
      hostLeader.push_back(r);
    }
    ++bound->hosts[h].ranks;
    hostIndex[r] = h;
  }
  if (bound->measured) {
    // Every rank is in (or past) this barrier before a leader starts copying; the others then
    // wait in the all-gather below, blocked in poll() after a short spin.
    int64_t barrier = 0;
    if (!report(tuttiAllReduce(&barrier, &barrier, 1, tuttiInt64, tuttiSum, comm, nullptr), comm,
                "barrier")) {
      return false;
    }
    HostMemory& mine = bound->hosts[hostIndex[rank]];
    double measured[2] = {0, 0};  // GB/s, threads
    if (hostLeader[hostIndex[rank]] == rank) {
      const int threads = std::min(mine.ranks, onlineCpus());
      measured[0] = measureMemcpyGBps(threads, kBoundCopyBytes, kBoundRepetitions);
      measured[1] = threads;
    }
    std::vector<double> all(2 * static_cast<size_t>(nranks));
    if (!report(tuttiAllGather(measured, all.data(), 2, tuttiFloat64, comm, nullptr), comm,
                "memory bandwidth")) {
      return false;
    }
    for (size_t h = 0; h < bound->hosts.size(); ++h) {
      bound->hosts[h].gbps = all[2 * hostLeader[h]];
      bound->hosts[h].threads = static_cast<int>(all[2 * hostLeader[h] + 1]);
      if (!(bound->hosts[h].gbps > 0)) {
        if (rank == 0) {
          std::fprintf(stderr,
                       "tutti-perf: --bound: cannot measure the memory bandwidth of %s (2 x %zu "
                       "MiB per thread); give it with --mem-gbps\n",
                       bound->hosts[h].host.c_str(), kBoundCopyBytes >> 20);
        }
        return false;
      }
    }
  }
  for (size_t h = 1; h < bound->hosts.size(); ++h) {
    const HostMemory& a = bound->hosts[h];
    const HostMemory& b = bound->hosts[bound->binding];
    if (a.ranks / a.gbps > b.ranks / b.gbps) bound->binding = h;
  }
  return true;
}

}  // namespace tutti::perf
