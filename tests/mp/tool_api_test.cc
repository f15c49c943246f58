// The internal API tools use on a live communicator (comm_info.h): setAlgoSpec switches the
// algorithm between calls within the peers connected at init, and explainChoice says what the
// model would choose.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/comm_info.h"
#include "mp/harness.h"

namespace tutti::test {
namespace {

// An all-reduce of rank + 1 + i over `count` int32 elements, checked exactly.
bool sumIsExact(tuttiComm_t comm, int rank, int nranks, size_t count) {
  std::vector<int32_t> send(count), recv(count, -1);
  for (size_t i = 0; i < count; ++i) send[i] = static_cast<int32_t>(rank + 1 + i);
  if (tuttiAllReduce(send.data(), recv.data(), count, tuttiInt32, tuttiSum, comm, nullptr) !=
      tuttiSuccess) {
    return false;
  }
  for (size_t i = 0; i < count; ++i) {
    if (recv[i] != static_cast<int32_t>(nranks * (nranks + 1) / 2 + nranks * i)) return false;
  }
  return true;
}

TEST(ToolApiTest, SwitchingAlgorithmsKeepsResultsExact) {
  LaunchResult result = runRanks(5, [&](int rank, int nranks, const tuttiUniqueId& id) {
    unsetenv("TUTTI_ALGO");
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 1;
    for (const char* spec : {"ring", "rd", "tree", "", "allreduce:0-1K:rd,1K-:tree"}) {
      if (!setAlgoSpec(comm, spec).isOk()) return 2;
      Choice choice;
      if (!explainChoice(comm, Collective::kAllReduce, 1000, tuttiInt32, &choice).isOk()) return 3;
      const std::string expected = std::string(spec) == "allreduce:0-1K:rd,1K-:tree" ? "tree"
                                   : *spec == '\0' ? algorithmName(choice.modelAlgorithm)
                                                   : spec;
      if (algorithmName(choice.algorithm) != expected || choice.pinned != (*spec != '\0')) {
        std::fprintf(stderr, "spec '%s': chose %s\n", spec, algorithmName(choice.algorithm));
        return 4;
      }
      for (size_t count : {size_t{1}, size_t{13}, size_t{1000}, size_t{70001}}) {
        if (!sumIsExact(comm, rank, nranks, count)) return 5;
      }
    }
    Status bad = setAlgoSpec(comm, "warp");
    tuttiCommDestroy(comm);
    return bad.code() == tuttiInvalidArgument ? 0 : 6;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

// Every communicator connects its full mesh (all-to-all's direct exchange needs every pair;
// docs/architecture.md), so a spec set after init never needs a peer init left out: rd after
// TUTTI_ALGO=ring runs, exactly (the refusal setAlgoSpec keeps for a narrower mesh is unused).
TEST(ToolApiTest, SpecsSetAfterInitFindTheirPeersConnected) {
  LaunchResult result = runRanks(5, [&](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_ALGO", "ring", 1);
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 1;
    AlgoSpec rdOnly, ringOnly;
    if (!AlgoSpec::parse("rd", &rdOnly).isOk() || !AlgoSpec::parse("ring", &ringOnly).isOk()) {
      return 3;
    }
    const std::vector<int> want = neededPeers(rdOnly, nranks, rank);
    const std::vector<int> have = neededPeers(ringOnly, nranks, rank);
    if (!std::includes(have.begin(), have.end(), want.begin(), want.end())) return 4;
    const bool ok = setAlgoSpec(comm, "rd").isOk() && sumIsExact(comm, rank, nranks, 101) &&
                    setAlgoSpec(comm, "ring").isOk() && sumIsExact(comm, rank, nranks, 101);
    tuttiCommDestroy(comm);
    return ok ? 0 : 2;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

}  // namespace
}  // namespace tutti::test
