#include "core/comm_shrink.h"

#include <algorithm>
#include <string>

#include "base/log.h"
#include "base/unique_id.h"
#include "core/bootstrap.h"
#include "core/comm.h"
#include "core/peer_watch.h"

namespace tutti {
namespace {

// The survivors' secret: only ranks that hold the parent's secret can compute it, and each
// shrink of the parent (and each set of survivors) has its own, so a late rank of an earlier
// shrink, or a rank that disagrees about who survives, is turned away by the root.
void meetingSecret(const uint8_t* parentSecret, uint32_t generation,
                   const std::vector<int>& survivors, uint8_t* out) {
  std::string text = "tutti-shrink/";
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < kSecretBytes; ++i) {
    text += kHex[parentSecret[i] >> 4];
    text += kHex[parentSecret[i] & 15];
  }
  text += "/" + std::to_string(generation) + "/";
  for (int rank : survivors) text += std::to_string(rank) + ",";
  secretFromString(text, out);
}

}  // namespace

Status shrinkSurvivors(int nranks, int rank, const int* exclude, int count,
                       std::vector<int>* survivors) {
  if (count < 0 || count >= nranks) {
    return makeError(tuttiInvalidArgument,
                     "excludeCount {} is outside [0, nranks = {}): at least one rank must stay",
                     count, nranks);
  }
  if (count > 0 && exclude == nullptr) {
    return makeError(tuttiInvalidArgument, "excludeRanks is NULL with excludeCount {}", count);
  }
  std::vector<bool> excluded(nranks, false);
  for (int i = 0; i < count; ++i) {
    const int r = exclude[i];
    if (r < 0 || r >= nranks) {
      return makeError(tuttiInvalidArgument,
                       "excludeRanks[{}] = {} is outside [0, nranks = {}): it must name a rank of "
                       "the communicator",
                       i, r, nranks);
    }
    if (excluded[r]) {
      return makeError(tuttiInvalidArgument, "excludeRanks[{}] = {} is listed twice", i, r);
    }
    if (r == rank) {
      return makeError(tuttiInvalidArgument,
                       "excludeRanks[{}] = {} is the calling rank: an excluded rank does not call "
                       "tuttiCommShrink (as with ncclCommShrink)",
                       i, r);
    }
    excluded[r] = true;
  }
  survivors->clear();
  for (int r = 0; r < nranks; ++r) {
    if (!excluded[r]) survivors->push_back(r);
  }
  return Status::ok();
}

Status shrinkComm(tuttiComm* parent, const std::vector<int>& survivors, tuttiComm** out) {
  const int newRank = static_cast<int>(std::find(survivors.begin(), survivors.end(), parent->rank) -
                                       survivors.begin());
  const int newCount = static_cast<int>(survivors.size());
  const int leader = survivors.front();
  const uint32_t generation = ++parent->shrinks;
  const int timeoutMs = parent->configuredParams.timeoutMs;
  const std::string context =
      fmt::format("tuttiCommShrink #{} on rank {} (rank {} of the {} survivors)", generation,
                  parent->rank, newRank, newCount);
  UniqueIdContents id;
  meetingSecret(parent->bootstrap->secret(), generation, survivors, id.secret);
  if (parent->rank == leader) {
    SockAddr bound;
    // The root gives up a little before the ranks do, so that they hear which ranks are
    // missing (its answer) rather than only that their own wait ran out.
    const int rootTimeoutMs = timeoutMs - std::min(500, timeoutMs / 4);
    TUTTI_RETURN_IF_ERROR(startBootstrapRoot(parent->bootstrap->localAddress(), id.secret,
                                             rootTimeoutMs, newCount, &bound, newRank)
                              .withContext(context));
    id.root = toWire(bound);
    if (parent->watch != nullptr) parent->watch->offerMeeting(generation, id.root);
  } else {
    // nranks > 1 here (the leader is another rank), so the parent has a watch.
    Status heard = parent->watch->waitMeeting(generation, timeoutMs, &id.root);
    if (!heard.isOk()) {
      return Status(heard.code(),
                    fmt::format("{}: rank {}, the lowest survivor, opens the survivors' meeting, "
                                "and its address did not reach this rank ({}): it is dead, or not "
                                "calling tuttiCommShrink, or cut off; exclude it if it failed",
                                context, leader, heard.message()));
    }
  }
  TUTTI_INFO(kLogInit, "{}: survivors meet at the root of rank {}", context, leader);
  Status made =
      createCommWithParams(id, newCount, newRank, parent->configuredParams, parent->name, out);
  if (!made.isOk()) {
    std::string numbering;
    for (int i = 0; i < newCount; ++i) {
      numbering += fmt::format("{}{} = old {}", i == 0 ? "" : ", ", i, survivors[i]);
    }
    return made.withContext(fmt::format("{} (new ranks: {})", context, numbering));
  }
  return Status::ok();
}

}  // namespace tutti
