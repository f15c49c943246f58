#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "algo/algo_spec.h"
#include "algo/algo_spec_testing.h"
#include "algo/algorithm.h"

namespace tutti {
namespace {

TEST(NeededPeersTest, SymmetricAndCoverEveryPlanThatMayRun) {
  for (const char* text : {"", "ring", "rd", "tree"}) {
    AlgoSpec spec = parsed(text);
    for (int n = 1; n <= 33; ++n) {
      std::vector<std::vector<int>> peers(n);
      for (int r = 0; r < n; ++r) peers[r] = neededPeers(spec, n, r);
      for (int r = 0; r < n; ++r) {
        for (int p : peers[r]) {
          ASSERT_NE(p, r);
          ASSERT_TRUE(std::count(peers[p].begin(), peers[p].end(), r)) << n << " " << r << " " << p;
        }
        for (Algorithm a : {Algorithm::kRing, Algorithm::kRecursiveDoubling, Algorithm::kTree}) {
          if (!spec.mayUse(a)) continue;
          for (Collective c :
               {Collective::kAllReduce, Collective::kAllGather, Collective::kReduceScatter}) {
            for (int p : makePlan(a, c, n, r, 2 * n + 1).peers()) {
              ASSERT_TRUE(std::count(peers[r].begin(), peers[r].end(), p))
                  << text << " n " << n << " rank " << r << " needs " << p;
            }
          }
        }
      }
    }
  }
  // With hosts: tree peers follow the layout (every rank its own host: tree neighbours).
  std::vector<int> ownHosts(8);
  for (int r = 0; r < 8; ++r) ownHosts[r] = r;
  for (int r = 0; r < 8; ++r) {
    std::vector<int> peers = neededPeers(parsed("tree"), 8, r, ownHosts);
    for (int p : makePlan(Algorithm::kTree, Collective::kAllReduce, 8, r, 100, ownHosts).peers()) {
      EXPECT_TRUE(std::count(peers.begin(), peers.end(), p)) << r << " needs " << p;
    }
  }
  // Pinned to ring: just the two neighbours.
  EXPECT_EQ(neededPeers(parsed("ring"), 8, 0), (std::vector<int>{1, 7}));
}

}  // namespace
}  // namespace tutti
