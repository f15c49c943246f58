#include "algo/plan_verify.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <utility>

namespace tutti {
namespace {

// One symbolic element: sorted contributions (rank << 40 | index), finalize count, and a hash of
// the reduction tree that produced it (operands unordered, as the ops commute, but grouped: in
// floating point (a+b)+c and a+(b+c) differ in the last bits).
struct Sym {
  std::vector<uint64_t> parts;
  int finals = 0;
  bool poison = false;  // never written: uninitialized output memory
  uint64_t tree = 0;
};

uint64_t tag(int rank, size_t index) { return (static_cast<uint64_t>(rank) << 40) | index; }

uint64_t mix(uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

Sym leaf(uint64_t part) {
  Sym sym;
  sym.parts = {part};
  sym.tree = mix(part);
  return sym;
}

void markFinal(Sym* sym) {
  sym->finals += 1;
  sym->tree = mix(sym->tree ^ 0x46494e414cULL);  // "FINAL": finalized differs from not
}

Sym combine(const Sym& a, const Sym& b, bool finalize) {
  Sym out;
  out.parts.reserve(a.parts.size() + b.parts.size());
  std::merge(a.parts.begin(), a.parts.end(), b.parts.begin(), b.parts.end(),
             std::back_inserter(out.parts));
  out.finals = a.finals + b.finals;
  out.poison = a.poison || b.poison;
  out.tree = mix(mix(std::min(a.tree, b.tree)) ^ std::max(a.tree, b.tree));
  if (finalize) markFinal(&out);
  return out;
}

// A rank's memory: storage arrays plus where each BufferId starts in them (aliasing).
struct RankMemory {
  std::vector<std::vector<Sym>> arrays;
  struct View {
    int array;
    size_t base;
    size_t size;
  };
  View views[3];
};

}  // namespace

VerifyResult verifyPlans(const std::vector<Plan>& plans, bool inPlace) {
  VerifyResult result;
  auto fail = [&](std::string problem) {
    result.ok = false;
    result.problem = std::move(problem);
    return result;
  };
  const int n = static_cast<int>(plans.size());
  if (n == 0) return fail("no plans");
  const Collective coll = plans[0].collective;
  const size_t count = plans[0].count;
  const int root = plans[0].root;
  if (isRooted(coll) && (root < 0 || root >= n)) return fail(fmt::format("root {}", root));
  // A group's transfers promise what its calls say, not a collective's outputs: the
  // multi-process tests check them (tests/mp/peer_exchange_test.cc).
  if (coll == Collective::kSendRecv) return fail("sendrecv plans have no collective outputs");

  std::vector<RankMemory> memory(n);
  for (int r = 0; r < n; ++r) {
    const Plan& plan = plans[r];
    if (plan.nranks != n || plan.rank != r || plan.collective != coll || plan.count != count ||
        plan.root != root) {
      return fail(fmt::format("plan {} describes rank {} of {} ({}, count {}, root {})", r,
                              plan.rank, plan.nranks, collectiveName(plan.collective), plan.count,
                              plan.root));
    }
    RankMemory& mem = memory[r];
    const size_t sendCount = sendBufferCount(coll, n, count, r == root);
    const size_t recvCount = recvBufferCount(coll, n, count, r == root);
    Sym poison;
    poison.poison = true;
    std::vector<Sym> send(sendCount);
    for (size_t i = 0; i < sendCount; ++i) send[i] = leaf(tag(r, i));
    std::vector<Sym> recv(recvCount, poison);
    std::vector<Sym> scratch(plan.scratchCount, poison);
    const size_t rankOffset = static_cast<size_t>(r) * count;
    // NCCL's in-place layouts: recv inside send (offset), send inside recv, or neither.
    enum class Alias { kNone, kRecvInSend, kSendInRecv } alias = Alias::kNone;
    size_t aliasOffset = 0;
    if (inPlace && sendCount > 0 && recvCount > 0) {
      switch (coll) {
        case Collective::kAllReduce:
        case Collective::kBroadcast:
        case Collective::kReduce:
          alias = Alias::kRecvInSend;
          break;
        case Collective::kReduceScatter:
        case Collective::kScatter:
          alias = Alias::kRecvInSend;
          aliasOffset = rankOffset;
          break;
        case Collective::kAllGather:
        case Collective::kGather:
          alias = Alias::kSendInRecv;
          aliasOffset = rankOffset;
          break;
        case Collective::kAllToAll:
        case Collective::kSendRecv:
          break;  // the core copies the input aside (direct.h); refused above
      }
    }
    switch (alias) {
      case Alias::kNone:
        mem.arrays = {send, recv, scratch};
        mem.views[0] = {0, 0, sendCount};
        mem.views[1] = {1, 0, recvCount};
        break;
      case Alias::kRecvInSend:
        mem.arrays = {send, {}, scratch};
        mem.views[0] = {0, 0, sendCount};
        mem.views[1] = {0, aliasOffset, recvCount};
        break;
      case Alias::kSendInRecv:
        // recv is the storage; the rank's input lies in it.
        for (size_t i = 0; i < sendCount; ++i) recv[aliasOffset + i] = send[i];
        mem.arrays = {recv, {}, scratch};
        mem.views[0] = {0, aliasOffset, sendCount};
        mem.views[1] = {0, 0, recvCount};
        break;
    }
    mem.views[2] = {2, 0, plan.scratchCount};
  }

  auto at = [&](int r, const Region& region, size_t count, std::vector<Sym>** array,
                size_t* start) -> bool {
    const RankMemory::View& view = memory[r].views[static_cast<int>(region.buffer)];
    if (region.offset + count > view.size) return false;
    *array = &memory[r].arrays[view.array];
    *start = view.base + region.offset;
    return true;
  };

  std::map<std::pair<int, int>, std::deque<std::vector<Sym>>> channels;
  std::vector<size_t> pc(n, 0);
  size_t remaining = 0;
  for (const Plan& plan : plans) remaining += plan.steps.size();
  while (remaining > 0) {
    bool moved = false;
    for (int r = 0; r < n; ++r) {
      while (pc[r] < plans[r].steps.size()) {
        const Step& step = plans[r].steps[pc[r]];
        std::string where = fmt::format("rank {} step {} ({})", r, pc[r], describeStep(step));
        std::vector<Sym> incoming;
        if (stepReceives(step.kind)) {
          if (step.recvPeer < 0 || step.recvPeer >= n || step.recvPeer == r) {
            return fail(where + ": bad peer");
          }
          auto& queue = channels[{step.recvPeer, r}];
          if (queue.empty()) break;  // blocked until the peer sends
          incoming = std::move(queue.front());
          queue.pop_front();
          if (incoming.size() != step.count) {
            return fail(fmt::format("{}: message of {} elements, expected {}", where,
                                    incoming.size(), step.count));
          }
        }
        std::vector<Sym>* srcArray = nullptr;
        std::vector<Sym>* dstArray = nullptr;
        size_t srcStart = 0;
        size_t dstStart = 0;
        if (stepReads(step.kind) && !at(r, step.src, step.count, &srcArray, &srcStart)) {
          return fail(where + ": src out of bounds");
        }
        if (stepWrites(step.kind) && !at(r, step.dst, step.count, &dstArray, &dstStart)) {
          return fail(where + ": dst out of bounds");
        }
        std::vector<Sym> value(step.count);
        for (size_t i = 0; i < step.count; ++i) {
          switch (step.kind) {
            case StepKind::kSend:
              value[i] = (*srcArray)[srcStart + i];
              break;
            case StepKind::kRecv:
            case StepKind::kRecvCopySend:
              value[i] = incoming[i];
              if (step.finalize) markFinal(&value[i]);
              break;
            case StepKind::kRecvReduce:
            case StepKind::kRecvReduceSend: {
              const Sym& local = (*srcArray)[srcStart + i];
              // Avg would divide a partial result and then add to it.
              if (local.finals > 0 || incoming[i].finals > 0) {
                return fail(
                    fmt::format("{}: element {} reduces a value already finalized", where, i));
              }
              value[i] = combine(local, incoming[i], step.finalize);
              break;
            }
            case StepKind::kCopy:
              value[i] = (*srcArray)[srcStart + i];
              if (step.finalize) markFinal(&value[i]);
              break;
          }
        }
        if (stepWrites(step.kind)) {
          for (size_t i = 0; i < step.count; ++i) (*dstArray)[dstStart + i] = value[i];
        }
        if (stepSends(step.kind)) {
          if (step.sendPeer < 0 || step.sendPeer >= n || step.sendPeer == r) {
            return fail(where + ": bad peer");
          }
          channels[{r, step.sendPeer}].push_back(std::move(value));
        }
        ++pc[r];
        --remaining;
        moved = true;
      }
    }
    if (!moved) {
      for (int r = 0; r < n; ++r) {
        if (pc[r] < plans[r].steps.size()) {
          return fail(fmt::format("deadlock: rank {} waits at step {} ({})", r, pc[r],
                                  describeStep(plans[r].steps[pc[r]])));
        }
      }
    }
  }
  for (const auto& [key, queue] : channels) {
    if (!queue.empty()) {
      return fail(fmt::format("{} message(s) from rank {} to rank {} never received", queue.size(),
                              key.first, key.second));
    }
  }

  const int wantFinals = isReduction(coll) ? 1 : 0;
  for (int q = 0; q < n; ++q) {
    std::vector<Sym>* out = nullptr;
    size_t start = 0;
    const size_t recvCount = recvBufferCount(coll, n, count, q == root);
    at(q, Region{BufferId::kRecv, 0}, recvCount, &out, &start);
    for (size_t i = 0; i < recvCount; ++i) {
      const Sym& got = (*out)[start + i];
      std::vector<uint64_t> want;
      const int block = count == 0 ? 0 : static_cast<int>(i / count);
      const size_t inBlock = count == 0 ? 0 : i % count;
      switch (coll) {
        case Collective::kAllGather:
        case Collective::kGather:
          want = {tag(block, inBlock)};
          break;
        case Collective::kBroadcast:
          want = {tag(root, i)};
          break;
        case Collective::kScatter:
          want = {tag(root, static_cast<size_t>(q) * count + i)};
          break;
        case Collective::kAllToAll:
          want = {tag(block, static_cast<size_t>(q) * count + inBlock)};
          break;
        case Collective::kAllReduce:
        case Collective::kReduce:
          for (int r = 0; r < n; ++r) want.push_back(tag(r, i));
          break;
        case Collective::kReduceScatter:
          for (int r = 0; r < n; ++r) want.push_back(tag(r, static_cast<size_t>(q) * count + i));
          break;
        case Collective::kSendRecv:
          break;  // refused above
      }
      if (got.poison || got.parts != want || got.finals != wantFinals) {
        return fail(
            fmt::format("rank {} output element {}: {} contributions{}, finalized {} "
                        "times; expected {} contributions finalized {} times",
                        q, i, got.parts.size(), got.poison ? " (uninitialized)" : "", got.finals,
                        want.size(), wantFinals));
      }
      // All-reduce ranks must agree bit for bit: same grouping of the reduction everywhere.
      if (coll == Collective::kAllReduce && q > 0) {
        std::vector<Sym>* first = nullptr;
        size_t firstStart = 0;
        at(0, Region{BufferId::kRecv, 0}, recvCount, &first, &firstStart);
        if ((*first)[firstStart + i].tree != got.tree) {
          return fail(fmt::format(
              "rank {} output element {} is reduced in another order than rank 0's: results "
              "would differ in the last bits",
              q, i));
        }
      }
    }
    // Inputs stay as they were, except where an in-place output overwrote them (a non-root
    // rank's in-place reduce keeps its input: its recv buffer is not an output).
    const RankMemory::View& sendView = memory[q].views[0];
    const RankMemory::View& recvView = memory[q].views[1];
    const std::vector<Sym>& storage = memory[q].arrays[sendView.array];
    for (size_t i = 0; i < sendView.size; ++i) {
      const size_t position = sendView.base + i;
      const bool output = recvView.array == sendView.array && position >= recvView.base &&
                          position < recvView.base + recvView.size;
      if (output) continue;
      const Sym& got = storage[position];
      if (got.poison || got.finals != 0 || got.parts != std::vector<uint64_t>{tag(q, i)}) {
        return fail(fmt::format("rank {} send buffer element {} was modified", q, i));
      }
    }
  }
  return result;
}

}  // namespace tutti
