#include "exec/call_check.h"

#include "exec/datatype.h"

namespace tutti {

CallDescriptor describeCall(uint64_t sequence, Collective collective, size_t count,
                            tuttiDataType_t type, tuttiRedOp_t op, int root) {
  CallDescriptor call;
  call.magic = kCallMagic;
  call.sequence = sequence;
  call.count = count;
  call.root = isRooted(collective) ? root : -1;
  call.collective = static_cast<uint8_t>(collective);
  call.type = static_cast<uint8_t>(type);
  call.op = isReduction(collective) ? static_cast<uint8_t>(op) : 0xff;
  return call;
}

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
    return Status::ok();
  }
  return makeError(tuttiInvalidUsage,
                   "collective mismatch: rank {} called {} as call #{} while rank {} called {} "
                   "as call #{}; every rank must make the same collective calls in the same "
                   "order",
                   peer, callText(theirs), theirs.sequence, rank, callText(mine), mine.sequence);
}

}  // namespace tutti
