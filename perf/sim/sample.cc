#include "perf/sim/sample.h"

#include <algorithm>
#include <random>
#include <set>

#include "algo/tree.h"

namespace tutti::sim {

Sample sampleRanks(const Job& job) {
  Sample sample;
  std::set<int> hosts, ranks;
  if (job.nranks <= kSampleAllRanksUpTo) {
    for (int h = 0; h < job.hosts; ++h) hosts.insert(h);
  } else {
    // The first two hosts (host 0 holds the deepest rank of tree 0: position 1 of the in-order
    // tree, its chain's tail), the middle and the last, and two drawn with a fixed seed.
    std::mt19937 random(20240611);
    hosts = {0, std::min(1, job.hosts - 1), job.hosts / 2, job.hosts - 1};
    std::uniform_int_distribution<int> anyHost(0, job.hosts - 1);
    for (int i = 0; i < 2; ++i) hosts.insert(anyHost(random));
    std::uniform_int_distribution<int> anyRank(0, job.nranks - 1);
    for (int i = 0; i < 8; ++i) ranks.insert(anyRank(random));
  }
  for (int h : hosts) {
    for (int r = h * job.perHost; r < (h + 1) * job.perHost; ++r) ranks.insert(r);
  }
  // rd's fold pairs (n not a power of two): both ranks of a sampled pair.
  int p = 1;
  while (p * 2 <= job.nranks) p *= 2;
  for (int r : std::vector<int>(ranks.begin(), ranks.end())) {
    if (r < 2 * (job.nranks - p)) ranks.insert(r ^ 1);
  }
  // The roots of the two trees (their finalizing steps count the chunks).
  const DoubleBinaryTree trees = doubleBinaryTree(job.hosts);
  for (int t = 0; t < 2; ++t) ranks.insert(trees.root[t] * job.perHost);
  sample.hosts.assign(hosts.begin(), hosts.end());
  sample.ranks.assign(ranks.begin(), ranks.end());
  return sample;
}

}  // namespace tutti::sim
