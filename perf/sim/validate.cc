#include "perf/sim/validate.h"

#include <fmt/format.h>

#include "algo/plan_verify.h"
#include "testing/plan_stats.h"

namespace tutti::sim {

std::vector<int> hostMajor(int hosts, int perHost) {
  std::vector<int> hostOfRank;
  for (int h = 0; h < hosts; ++h) hostOfRank.insert(hostOfRank.end(), perHost, h);
  return hostOfRank;
}

// Every rank's plan of one call, verified symbolically out of place and in place; the problem
// or empty.
std::string verifyAll(Algorithm algorithm, Collective collective,
                      const std::vector<int>& hostOfRank, size_t count) {
  const int n = static_cast<int>(hostOfRank.size());
  std::vector<Plan> plans;
  for (int r = 0; r < n; ++r)
    plans.push_back(makePlan(algorithm, collective, n, r, count, hostOfRank));
  for (bool inPlace : {false, true}) {
    VerifyResult result = verifyPlans(plans, inPlace);
    if (!result.ok)
      return fmt::format("{}: {}", inPlace ? "in place" : "out of place", result.problem);
  }
  return "";
}

std::string matchPeers(const Job& job, const Sample& sample, Algorithm algorithm,
                       Collective collective, size_t count, long* pairs) {
  PlanSet plans(job, algorithm, collective, count);
  const auto messages = test::messagesWith;
  for (int r : sample.ranks) {
    const std::vector<int> peers = plans.plan(r).peers();
    for (int q : peers) {
      const Plan& mine = plans.plan(r);
      const Plan& theirs = plans.plan(q);
      ++*pairs;
      if (messages(mine, q, true) != messages(theirs, r, false)) {
        return fmt::format(
            "rank {} sends {} messages to rank {}, which receives {} from it "
            "(or their sizes differ)",
            r, messages(mine, q, true).size(), q, messages(theirs, r, false).size());
      }
      if (messages(mine, q, false) != messages(theirs, r, true)) {
        return fmt::format(
            "rank {} receives {} messages from rank {}, which sends {} to it (or "
            "their sizes differ)",
            r, messages(mine, q, false).size(), q, messages(theirs, r, true).size());
      }
    }
  }
  return "";
}

}  // namespace tutti::sim
