// Shrinking a communicator (tuttiCommShrink, after NCCL 2.27's ncclCommShrink): the ranks not
// excluded build a new communicator of their own, numbered in order of their old ranks, with no
// unique id from the user. They meet through what they already share: the lowest surviving rank
// opens a fresh bootstrap root and floods its address over the parent's bootstrap watch (links
// at distances 1, 2, 4, ... both ways, so a few deaths leave the survivors connected); the secret
// is derived from the parent's and the shrink's number, so strangers and other jobs cannot join.
// Then a normal init, with the parent's parameters, over nranks = survivors.
#pragma once

#include <vector>

#include "base/status.h"

struct tuttiComm;

namespace tutti {

// The surviving ranks of a communicator of nranks ranks without exclude[0..count), in order,
// checked as the C API's arguments (tuttiInvalidArgument, the message naming the argument):
// count in [0, nranks), exclude non-NULL when count > 0, every entry in [0, nranks) and none
// twice, and rank (the caller) not among them.
Status shrinkSurvivors(int nranks, int rank, const int* exclude, int count,
                       std::vector<int>* survivors);

// Collective over the survivors of parent (arguments checked by shrinkSurvivors): *out gets
// the new communicator, registered as live. Every wait is bounded by the parent's
// TUTTI_TIMEOUT_MS: tuttiTimeout when the lowest survivor's address or a survivor does not come,
// tuttiRemoteError when no watch link of this rank is open any more. The parent is left as it
// was (failed, revoked or healthy); the caller holds its callMutex.
Status shrinkComm(tuttiComm* parent, const std::vector<int>& survivors, tuttiComm** out);

}  // namespace tutti
