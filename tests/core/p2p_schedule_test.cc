// The p2p algorithms' schedules verified symbolically (core/p2p_schedule.h): each rank's stream
// work is recorded by a runtime that runs nothing, then replayed over symbolic memory, barrier
// interval by barrier interval. Checked for every algorithm, 1 to 9 ranks, counts 0 to 60 and
// windows from 1 to many chunks, in place and out of place, through the windows and over peers'
// registered buffers:
//   - every rank queues the same number of barriers, at least two, and only the first checks
//     the call's descriptor;
//   - no window element (nor, registered, a send or receive buffer's) is written in a barrier
//     interval in which another rank reads or writes it (so the result does not depend on how
//     the ranks' streams interleave), and no rank touches a peer's buffers before the call's
//     first barrier or after its last;
//   - every reduction combines one element index of disjoint sets of ranks (nothing counted
//     twice, nothing mixed), and every output element ends as exactly what the collective
//     defines: all ranks' element i (all-reduce), rank p's element i (all-gather block p), all
//     ranks' element rank x count + i (reduce-scatter).
#include "core/p2p_schedule.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace tutti {
namespace {

constexpr size_t kElem = 4;  // tuttiInt32

// Symbolic addresses: region (owner << 8 | kind) << 40 | byte offset. kinds: send, recv, window.
enum Kind : uint64_t { kSend = 1, kRecv = 2, kWindow = 3 };
uint64_t base(int owner, Kind kind) { return ((static_cast<uint64_t>(owner) << 8) | kind) << 40; }
int ownerOf(uint64_t address) { return static_cast<int>(address >> 48); }
Kind kindOf(uint64_t address) { return static_cast<Kind>((address >> 40) & 0xff); }

struct Op {
  enum Type { kCopy, kReduce, kBarrier } type;
  uint64_t dst = 0;
  std::vector<uint64_t> srcs;
  size_t elements = 0;
  bool checksCall = false;  // a barrier that publishes and compares the call's descriptor
};

// Records what one rank queues; every other entry point is unused by the schedules.
class RecordingRuntime final : public device::Runtime {
 public:
  std::vector<Op> ops;

  const char* name() const override { return "recording"; }
  int deviceCount() override { return 1; }
  Status currentDevice(int* device, bool*) override { return *device = 0, Status::ok(); }
  Status setDevice(int) override { return unused(); }
  Status classify(const void*, device::PointerInfo*) override { return unused(); }
  Status allocDevice(void**, size_t) override { return unused(); }
  Status freeDevice(void*) override { return unused(); }
  Status allocPinned(void**, size_t) override { return unused(); }
  Status freePinned(void*) override { return unused(); }
  Status streamCreate(device::Stream*) override { return unused(); }
  Status streamDestroy(device::Stream) override { return unused(); }
  Status streamSynchronize(device::Stream, int) override { return unused(); }
  bool isStream(device::Stream) override { return true; }
  Status exportMemory(const void*, device::ExportedMemory*) override { return unused(); }
  Status importMemory(const device::ExportedMemory&, void**) override { return unused(); }
  Status closeImported(void*) override { return unused(); }
  Status launchHostFunction(device::Stream, device::HostFunction, void*) override {
    return unused();
  }
  Status waitFlag(device::Stream, const uint64_t*, uint64_t) override { return unused(); }
  Status launchReduce(const device::ReduceLaunch&, device::Stream) override { return unused(); }

  Status copyAsync(void* dst, const void* src, size_t bytes, device::Stream) override {
    EXPECT_EQ(bytes % kElem, 0u);
    ops.push_back(Op{Op::kCopy, address(dst), {address(src)}, bytes / kElem});
    return Status::ok();
  }
  Status launchReduceMany(const device::ReduceManyLaunch& launch, device::Stream) override {
    Op op{Op::kReduce, address(launch.dst), {}, launch.count};
    for (int j = 0; j < launch.inputCount; ++j) op.srcs.push_back(address(launch.inputs[j]));
    ops.push_back(op);
    return Status::ok();
  }
  Status launchBarrier(const device::BarrierLaunch& launch, device::Stream) override {
    ops.push_back(Op{Op::kBarrier, 0, {}, 0, launch.publish != nullptr});
    return Status::ok();
  }

 private:
  static uint64_t address(const void* p) { return reinterpret_cast<uint64_t>(p); }
  static Status unused() { return makeError(tuttiInternalError, "not used by the schedules"); }
};

// An element's symbolic value: the set of ranks whose contributions it sums (a bit mask) and the
// element index they all come from. mask 0: never written.
struct Value {
  uint64_t mask = 0;
  size_t index = 0;
};

struct Case {
  Collective collective;
  P2pAlgorithm algorithm;
  int nranks;
  size_t count;
  size_t windowBytes;
  bool inPlace;
  bool registered = false;  // peers' send and receive buffers read directly (P2pPeerBuffers)
  std::string name() const {
    return std::string(collectiveName(collective)) + "/" + p2pAlgorithmName(algorithm) + " " +
           std::to_string(nranks) + " ranks, count " + std::to_string(count) + ", window " +
           std::to_string(windowBytes) + (inPlace ? ", in place" : "") +
           (registered ? ", registered" : "");
  }
};

// Rank `rank`'s send and receive buffers in the case's layout: NCCL's in-place layouts, in the
// rank's receive buffer (send in it for the collectives whose send buffer is one block of the
// receive buffer).
void buffersOf(const Case& c, int rank, char** send, char** recv) {
  *send = reinterpret_cast<char*>(base(rank, kSend));
  *recv = reinterpret_cast<char*>(base(rank, kRecv));
  if (!c.inPlace) return;
  if (c.collective == Collective::kAllGather) *send = *recv + rank * c.count * kElem;
  if (c.collective == Collective::kAllReduce) *send = *recv;
  if (c.collective == Collective::kReduceScatter) {
    *send = *recv;
    *recv = *send + rank * c.count * kElem;
  }
}

// Every rank's recorded schedule for the case.
std::vector<std::vector<Op>> record(const Case& c) {
  std::vector<std::vector<Op>> schedules;
  const size_t n = static_cast<size_t>(c.nranks);
  for (int rank = 0; rank < c.nranks; ++rank) {
    P2pLayout layout;
    layout.rank = rank;
    layout.dataBytes = c.windowBytes;
    for (int r = 0; r < c.nranks; ++r) {
      layout.windows.push_back(reinterpret_cast<char*>(base(r, kWindow)));
    }
    uint64_t error = 0;
    layout.error = &error;
    layout.timeoutMs = 1000;
    CollectiveArgs args;
    args.collective = c.collective;
    args.count = c.count;
    args.type = tuttiInt32;
    args.op = tuttiSum;
    char* send = nullptr;
    char* recv = nullptr;
    buffersOf(c, rank, &send, &recv);
    args.send = send;
    args.recv = recv;
    // Registered: every rank's buffers, as mapped into this rank (the symbolic addresses are
    // the same in every process).
    P2pPeerBuffers peers;
    for (int r = 0; c.registered && r < c.nranks; ++r) {
      char* peerSend = nullptr;
      char* peerRecv = nullptr;
      buffersOf(c, r, &peerSend, &peerRecv);
      peers.send.push_back(peerSend);
      peers.recv.push_back(peerRecv);
    }
    RecordingRuntime runtime;
    uint64_t barriers = 0;
    P2pCallCheck check;
    check.call = describeCall(1, c.collective, c.count, tuttiInt32, tuttiSum, -1);
    EXPECT_TRUE(queueP2pCollective(&runtime, layout, &barriers, c.algorithm, args, &check,
                                   c.registered ? &peers : nullptr, nullptr)
                    .isOk());
    size_t queued = 0;
    for (const Op& op : runtime.ops) queued += op.type == Op::kBarrier ? 1 : 0;
    EXPECT_EQ(barriers, queued) << c.name();
    schedules.push_back(runtime.ops);
  }
  (void)n;
  return schedules;
}

// Replays the schedules and returns the first problem, or "".
std::string verify(const Case& c, const std::vector<std::vector<Op>>& schedules) {
  const size_t n = static_cast<size_t>(c.nranks);
  // Memory: (address of an element) -> value. A rank's own send and recv are private; windows
  // are shared. Send buffers start as each rank's contributions.
  std::map<uint64_t, Value> memory;
  const size_t sendCount = c.collective == Collective::kReduceScatter ? n * c.count : c.count;
  for (size_t r = 0; r < n; ++r) {
    for (size_t i = 0; i < sendCount; ++i) {
      uint64_t address = base(static_cast<int>(r), c.inPlace ? kRecv : kSend) + i * kElem;
      if (c.inPlace && c.collective == Collective::kAllGather) address += r * c.count * kElem;
      memory[address] = Value{uint64_t{1} << r, i};
    }
  }
  // Barrier intervals: every rank's ops up to its k-th barrier form interval k.
  std::vector<std::vector<std::vector<const Op*>>> intervals(n);
  size_t barrierCount = 0;
  for (size_t r = 0; r < n; ++r) {
    intervals[r].emplace_back();
    size_t barriers = 0;
    for (const Op& op : schedules[r]) {
      if (op.type == Op::kBarrier) {
        // The call check on the first barrier only; a second barrier keeps every peer's
        // descriptor in place until this rank has compared it (device/p2p_launch.h).
        if (op.checksCall != (barriers == 0)) {
          return "rank " + std::to_string(r) + "'s barrier " + std::to_string(barriers) +
                 (op.checksCall ? " checks the call" : " is the first and does not check the call");
        }
        ++barriers;
        intervals[r].emplace_back();
      } else {
        intervals[r].back().push_back(&op);
      }
    }
    if (barriers < 2) {
      return "rank " + std::to_string(r) + " queues " + std::to_string(barriers) +
             " barriers: a peer's next call could overwrite its descriptor before it is compared";
    }
    if (r == 0) barrierCount = barriers;
    if (barriers != barrierCount) {
      return "rank " + std::to_string(r) + " queues " + std::to_string(barriers) +
             " barriers, rank 0 " + std::to_string(barrierCount);
    }
  }
  // Shared memory: the windows, and with registered buffers every rank's send and receive
  // buffers too, which a peer may touch only between the call's first and last barriers (before
  // and after, the rank's own stream work may write them).
  auto shared = [&](uint64_t address) { return c.registered || kindOf(address) == kWindow; };
  for (size_t k = 0; k <= barrierCount; ++k) {
    // Races on shared memory within the interval.
    std::map<uint64_t, std::set<size_t>> readers, writers;
    for (size_t r = 0; r < n; ++r) {
      for (const Op* op : intervals[r][k]) {
        for (size_t e = 0; e < op->elements; ++e) {
          if (shared(op->dst)) writers[op->dst + e * kElem].insert(r);
          for (uint64_t src : op->srcs) {
            if (shared(src)) readers[src + e * kElem].insert(r);
          }
        }
        std::vector<uint64_t> touched = op->srcs;
        touched.push_back(op->dst);
        for (uint64_t address : touched) {
          if (kindOf(address) == kWindow || ownerOf(address) == static_cast<int>(r)) continue;
          if (!c.registered) {
            return "rank " + std::to_string(r) + " touches another rank's private buffer";
          }
          if (k == 0 || k == barrierCount) {
            return "rank " + std::to_string(r) + " touches another rank's buffer in interval " +
                   std::to_string(k) + ", outside the call's barriers";
          }
          if (kindOf(op->dst) != kWindow && ownerOf(op->dst) != static_cast<int>(r)) {
            return "rank " + std::to_string(r) + " writes another rank's buffer";
          }
        }
      }
    }
    for (const auto& [address, who] : writers) {
      std::set<size_t> touching = who;
      if (readers.count(address)) touching.insert(readers[address].begin(), readers[address].end());
      if (touching.size() > 1) {
        return "interval " + std::to_string(k) + ": window " + std::to_string(ownerOf(address)) +
               " byte " + std::to_string(address & ((uint64_t{1} << 40) - 1)) +
               " written and touched by " + std::to_string(touching.size()) + " ranks";
      }
    }
    // Apply, rank by rank (race-free, so the order does not matter).
    for (size_t r = 0; r < n; ++r) {
      for (const Op* op : intervals[r][k]) {
        std::vector<Value> results(op->elements);
        for (size_t e = 0; e < op->elements; ++e) {
          Value value;
          for (size_t j = 0; j < op->srcs.size(); ++j) {
            const Value in = memory[op->srcs[j] + e * kElem];
            if (in.mask == 0) return "rank " + std::to_string(r) + " reads an unwritten element";
            if (j > 0 && (in.index != value.index || (in.mask & value.mask) != 0)) {
              return "rank " + std::to_string(r) + " reduces mismatched or overlapping inputs";
            }
            value.mask |= in.mask;
            value.index = in.index;
          }
          results[e] = value;
        }
        for (size_t e = 0; e < op->elements; ++e) memory[op->dst + e * kElem] = results[e];
      }
    }
  }
  // The outputs.
  const uint64_t all = n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
  for (size_t r = 0; r < n; ++r) {
    const uint64_t recv =
        base(static_cast<int>(r), kRecv) +
        (c.inPlace && c.collective == Collective::kReduceScatter ? r * c.count * kElem : 0);
    const size_t blocks = c.collective == Collective::kAllGather ? n : 1;
    for (size_t b = 0; b < blocks; ++b) {
      for (size_t i = 0; i < c.count; ++i) {
        const Value got = memory[recv + (b * c.count + i) * kElem];
        Value want{all, i};
        if (c.collective == Collective::kAllGather) want = Value{uint64_t{1} << b, i};
        if (c.collective == Collective::kReduceScatter) want = Value{all, r * c.count + i};
        if (got.mask != want.mask || got.index != want.index) {
          return "rank " + std::to_string(r) + " output element " +
                 std::to_string(b * c.count + i) + " holds mask " + std::to_string(got.mask) +
                 " index " + std::to_string(got.index);
        }
      }
    }
  }
  return "";
}

TEST(P2pScheduleTest, EveryAlgorithmIsExactAndRaceFree) {
  size_t cases = 0;
  for (int nranks = 1; nranks <= 9; ++nranks) {
    for (size_t count : {size_t{1}, size_t{2}, size_t{7}, size_t{16}, size_t{37}, size_t{60}}) {
      // 16 bytes: 4 elements a chunk (one-shot, all-gather), 2 (two-shot); reduce-scatter needs
      // room for one element of every rank's block.
      for (size_t windowBytes : {size_t{16}, size_t{40}, size_t{4096}}) {
        for (int form = 0; form < 4; ++form) {
          const bool inPlace = (form & 1) != 0;
          const bool registered = (form & 2) != 0;
          for (auto [collective, algorithm] :
               {std::pair{Collective::kAllReduce, P2pAlgorithm::kOneShot},
                std::pair{Collective::kAllReduce, P2pAlgorithm::kTwoShot},
                std::pair{Collective::kAllGather, P2pAlgorithm::kOneShot},
                std::pair{Collective::kReduceScatter, P2pAlgorithm::kOneShot}}) {
            const size_t perChunk = collective == Collective::kReduceScatter
                                        ? nranks * kElem
                                        : (algorithm == P2pAlgorithm::kTwoShot ? 2 : 1) * kElem;
            if (windowBytes < perChunk) continue;
            const Case c{collective, algorithm, nranks, count, windowBytes, inPlace, registered};
            EXPECT_EQ(verify(c, record(c)), "") << c.name();
            ++cases;
          }
        }
      }
    }
  }
  EXPECT_GT(cases, 2000u);
}

// The verifier finds what it is for: without its first barrier, a one-shot all-reduce reads a
// peer's window in the interval the peer writes it; reducing a window twice counts a rank twice.
TEST(P2pScheduleTest, VerifierCatchesARaceAndADoubleCount) {
  // Two chunks (16-byte windows), so that a barrier less still leaves the call two.
  const Case c{Collective::kAllReduce, P2pAlgorithm::kOneShot, 2, 8, 16, false};
  std::vector<std::vector<Op>> schedules = record(c);
  ASSERT_EQ(verify(c, schedules), "");
  std::vector<std::vector<Op>> raced = schedules;
  for (std::vector<Op>& ops : raced) {
    ASSERT_EQ(ops[1].type, Op::kBarrier);  // per chunk: copy in, barrier, reduce, barrier
    ops.erase(ops.begin() + 1);
    ASSERT_EQ(ops[2].type, Op::kBarrier);
    ops[2].checksCall = true;  // the call check moves to the first barrier left
  }
  EXPECT_NE(verify(c, raced).find("touched by 2 ranks"), std::string::npos) << verify(c, raced);
  std::vector<std::vector<Op>> twice = schedules;
  ASSERT_EQ(twice[0][2].type, Op::kReduce);
  twice[0][2].srcs[1] = twice[0][2].srcs[0];
  EXPECT_NE(verify(c, twice).find("overlapping"), std::string::npos) << verify(c, twice);
}

// With registered buffers: reducing an in-place one-shot straight into the receive buffer (which
// is the send buffer peers read) is a race; and without its last barrier a rank's stream could
// go on to overwrite its send buffer while peers still read it.
TEST(P2pScheduleTest, VerifierCatchesRegisteredBufferHazards) {
  const Case inPlace{Collective::kAllReduce, P2pAlgorithm::kOneShot, 3, 5, 4096, true, true};
  std::vector<std::vector<Op>> schedules = record(inPlace);
  ASSERT_EQ(verify(inPlace, schedules), "");
  std::vector<std::vector<Op>> direct = schedules;
  for (size_t r = 0; r < direct.size(); ++r) {
    std::vector<Op>& ops = direct[r];  // barrier, reduce into the window, barrier, copy out
    ASSERT_EQ(ops.size(), 4u);
    ASSERT_EQ(ops[1].type, Op::kReduce);
    ASSERT_EQ(ops[3].type, Op::kCopy);
    ops[1].dst = ops[3].dst;
    ops.pop_back();
  }
  EXPECT_NE(verify(inPlace, direct).find("touched by"), std::string::npos)
      << verify(inPlace, direct);

  const Case gather{Collective::kAllGather, P2pAlgorithm::kOneShot, 2, 3, 4096, false, true};
  std::vector<std::vector<Op>> early = record(gather);
  ASSERT_EQ(verify(gather, early), "");
  for (std::vector<Op>& ops : early) {  // barrier, copy, copy, barrier: the copies after both
    ASSERT_EQ(ops.back().type, Op::kBarrier);
    ops.pop_back();
    ops.insert(ops.begin() + 1, Op{Op::kBarrier});
  }
  EXPECT_NE(verify(gather, early).find("outside the call's barriers"), std::string::npos)
      << verify(gather, early);
}

}  // namespace
}  // namespace tutti
