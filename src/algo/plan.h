// A plan: what one rank does for one collective call, as data. Plan generators (ring.cc, ...)
// are pure functions of (collective, nranks, rank, count); the executor (src/exec/) runs a plan
// without knowing which algorithm made it, and plan_verify.cc checks plans symbolically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tutti {

enum class Collective : uint8_t {
  kAllReduce,
  kAllGather,
  kReduceScatter,
  kBroadcast,
  kReduce,
  kAllToAll,
  kGather,
  kScatter,
  kSendRecv,  // a group's point-to-point sends and receives (algo/peer_exchange.h)
};
constexpr int kNumCollectives = 9;
// "all_reduce", "all_gather", "reduce_scatter", "broadcast", "reduce", "alltoall", "gather",
// "scatter", "sendrecv" (nccl-tests' binary names).
const char* collectiveName(Collective coll);
// Whether the call has a root rank (broadcast, reduce, gather, scatter).
bool isRooted(Collective coll);
// Whether the call reduces (takes an op; Avg divides once, at the end).
bool isReduction(Collective coll);

// Which buffer a region lies in. Offsets are in elements.
enum class BufferId : uint8_t { kSend, kRecv, kScratch };

struct Region {
  BufferId buffer = BufferId::kSend;
  size_t offset = 0;
};

// The step kinds (DESIGN.md). "src" is the local input, "dst" the local output; "recv" is the
// message from recvPeer, "send" goes to sendPeer.
enum class StepKind : uint8_t {
  kSend,            // send src
  kRecv,            // dst = recv
  kRecvReduce,      // dst = src op recv
  kRecvReduceSend,  // dst = src op recv; send dst
  kRecvCopySend,    // dst = recv; send dst
  kCopy,            // dst = src
};
const char* stepKindName(StepKind kind);
bool stepReceives(StepKind kind);
bool stepSends(StepKind kind);
bool stepReads(StepKind kind);   // reads src
bool stepWrites(StepKind kind);  // writes dst

struct Step {
  StepKind kind = StepKind::kCopy;
  int recvPeer = -1;
  int sendPeer = -1;
  Region src;
  Region dst;
  size_t count = 0;  // elements
  // The value written to dst is final: apply the op's last stage (Avg: divide by nranks).
  bool finalize = false;
};

struct Plan {
  Collective collective = Collective::kAllReduce;
  std::string algorithm;  // "ring"
  int nranks = 1;
  int rank = 0;
  int root = 0;             // the call's root (rooted collectives; 0 for the others)
  size_t count = 0;         // the call's count argument
  size_t scratchCount = 0;  // elements of scratch the plan uses
  std::vector<Step> steps;
  // Nonzero: names this plan's content for the life of the process (the communicator's plan
  // cache sets it), so that the executor may reuse what it derived from the plan last time.
  uint64_t id = 0;

  // Peers this plan exchanges messages with.
  std::vector<int> peers() const;
};

// Elements in each buffer of one rank for a call (NCCL's shapes). isRoot: whether the rank is
// the call's root; a rank that does not use a buffer (broadcast's and scatter's send buffer and
// reduce's and gather's recv buffer off the root) has 0 elements there. Unrooted collectives
// ignore isRoot.
size_t sendBufferCount(Collective coll, int nranks, size_t count, bool isRoot = true);
size_t recvBufferCount(Collective coll, int nranks, size_t count, bool isRoot = true);

// The size of a call as nccl-tests reports it: the larger of the send and recv buffers (the
// root's, for rooted collectives), in bytes. It is what the cost model and tuners are given.
size_t callBytes(Collective coll, int nranks, size_t count, size_t elemSize);

// Balanced split of `count` elements into `parts` contiguous chunks: the first count % parts
// chunks get one element more.
size_t chunkOffset(size_t count, int parts, int index);
size_t chunkCount(size_t count, int parts, int index);

std::string describeStep(const Step& step);

// Appends a step unless it moves zero elements: both ends of a message drop it alike.
void appendStep(Plan* plan, const Step& step);
// The plain steps, appended so: send src to peer; recv from peer into dst; copy src to dst.
void appendSend(Plan* plan, int peer, Region src, size_t count);
void appendRecv(Plan* plan, int peer, Region dst, size_t count);
void appendCopy(Plan* plan, Region src, Region dst, size_t count);

// Starts a generator's plan: sets the header fields and fills in the cases every algorithm
// shares (no steps for count 0; one copy, finalized for reductions, for a single rank). Returns
// true when the plan is complete already.
bool startPlan(Plan* plan, Collective collective, const char* algorithm, int nranks, int rank,
               size_t count, int root = 0);

}  // namespace tutti
