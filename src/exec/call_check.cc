#include "exec/call_check.h"

#include <optional>

#include "algo/algorithm.h"
#include "exec/datatype.h"

namespace tutti {

CallDescriptor describeCall(uint64_t sequence, Collective collective, size_t count,
                            tuttiDataType_t type, tuttiRedOp_t op, int root, uint8_t algorithm) {
  CallDescriptor call;
  call.magic = kCallMagic;
  call.sequence = sequence;
  call.count = count;
  call.root = isRooted(collective) ? root : -1;
  call.collective = static_cast<uint8_t>(collective);
  call.type = static_cast<uint8_t>(type);
  call.op = isReduction(collective) ? static_cast<uint8_t>(op) : 0xff;
  call.algorithm = algorithm;
  return call;
}

bool descriptorsFollowData(const CallDescriptor& call) {
  switch (static_cast<Collective>(call.collective)) {
    case Collective::kAllReduce:
    case Collective::kAllGather:
    case Collective::kReduceScatter:
    case Collective::kAllToAll:
      return call.count > 0;
    default:
      return false;
  }
}

uint8_t descriptorAlgorithm(const std::string& planAlgorithm) {
  std::optional<Algorithm> algorithm = parseAlgorithm(planAlgorithm);
  return algorithm ? static_cast<uint8_t>(1 + static_cast<int>(*algorithm)) : 0;
}

namespace {

std::string algorithmText(uint8_t algorithm) {
  if (algorithm == 0 || algorithm > kNumAlgorithms) return fmt::format("#{}", algorithm);
  return algorithmName(static_cast<Algorithm>(algorithm - 1));
}

}  // namespace

std::string callText(const CallDescriptor& call) {
  std::string text =
      fmt::format("{}(count {}, {}", collectiveName(static_cast<Collective>(call.collective)),
                  call.count, dataTypeName(static_cast<tuttiDataType_t>(call.type)));
  if (call.op != 0xff) text += fmt::format(", {}", redOpName(static_cast<tuttiRedOp_t>(call.op)));
  if (call.root >= 0) text += fmt::format(", root {}", call.root);
  return text + ")";
}

Status compareCalls(const CallDescriptor& mine, int rank, const CallDescriptor& theirs, int peer) {
  if (theirs.magic != kCallMagic) {
    return makeError(tuttiInvalidUsage,
                     "collective mismatch: rank {} sent data where the descriptor of its call was "
                     "expected while rank {} called {} as call #{} (TUTTI_CHECK_MISMATCH must be "
                     "alike on every rank)",
                     peer, rank, callText(mine), mine.sequence);
  }
  if (theirs.sequence == mine.sequence && theirs.count == mine.count && theirs.root == mine.root &&
      theirs.collective == mine.collective && theirs.type == mine.type && theirs.op == mine.op) {
    if (theirs.algorithm == mine.algorithm || theirs.algorithm == 0 || mine.algorithm == 0) {
      return Status::ok();
    }
    return makeError(tuttiInvalidUsage,
                     "collective mismatch: rank {} planned call #{}, {}, with algorithm {} while "
                     "rank {} planned it with algorithm {}; TUTTI_ALGO and the tuner must choose "
                     "alike on every rank",
                     peer, mine.sequence, callText(mine), algorithmText(theirs.algorithm), rank,
                     algorithmText(mine.algorithm));
  }
  return makeError(tuttiInvalidUsage,
                   "collective mismatch: rank {} called {} as call #{} while rank {} called {} "
                   "as call #{}; every rank must make the same collective calls in the same "
                   "order",
                   peer, callText(theirs), theirs.sequence, rank, callText(mine), mine.sequence);
}

std::string describeAwaitedRank(int peer, const CallDescriptor& mine,
                                const CallDescriptor* published, long heardMsAgo) {
  const std::string who =
      heardMsAgo >= 0 ? fmt::format("rank {} is alive (heard from {} ms ago) and", peer, heardMsAgo)
                      : fmt::format("rank {}", peer);
  if (published == nullptr) {
    return fmt::format(
        "{} has not been seen waiting in any call of this communicator: it has "
        "not reached call #{} (it computes, or waits elsewhere)",
        who, mine.sequence);
  }
  if (published->sequence == mine.sequence) {
    return fmt::format("{} waits in call #{} too ({}): what stalls lies further along", who,
                       mine.sequence, callText(*published));
  }
  if (published->sequence < mine.sequence) {
    return fmt::format(
        "{} was last seen waiting in call #{} ({}), an earlier call: it has not "
        "been seen in call #{}",
        who, published->sequence, callText(*published), mine.sequence);
  }
  return fmt::format("{} waits in call #{} ({}), a later call", who, published->sequence,
                     callText(*published));
}

}  // namespace tutti
