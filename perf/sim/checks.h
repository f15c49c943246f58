// The relations between the plans and the model's terms (docs/simulation.md, "Plan checks"):
// for one call, the sampled ranks' plans against costTerms, per algorithm.
#pragma once

#include <map>
#include <utility>

#include "algo/select.h"
#include "perf/sim/call.h"
#include "perf/sim/findings.h"
#include "perf/sim/job.h"
#include "perf/sim/sample.h"

namespace tutti::sim {

// Tree parents found so far, by (rank, tree): the tree's shape does not depend on the count, so
// ancestors met at one size are not generated again at the next; sampled ranks' own parents are
// derived from their plans at every size and must agree.
using ParentCache = std::map<std::pair<int, int>, int>;

// Checks the plans of one call (collective, algorithm, size) of the sampled ranks against the
// model's terms, into findings; returns how many plans it generated.
long checkPlans(const Job& job, const Sample& sample, Collective collective, Algorithm algorithm,
                const CallShape& call, const CostTerms& terms, ParentCache* parents,
                Findings* findings);

}  // namespace tutti::sim
