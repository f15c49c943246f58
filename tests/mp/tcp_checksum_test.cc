// TUTTI_CHECKSUM=1 (issue 12, item 6): collectives over tcp with checksummed frames are exact;
// ranks that disagree on the setting fail init with a message that says so (frames with and
// without checksums cannot be read by each other). Corruption itself is found by the connection
// tests (tests/transports/tcp), which flip a byte on the way.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <string>

#include "mp/exact_round.h"
#include "mp/harness.h"

namespace tutti::test {
namespace {

TEST(TcpChecksumTest, CollectivesAreExactWithChecksums) {
  const LaunchResult result = runRanks(3, [](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_TRANSPORT", "tcp", 1);
    setenv("TUTTI_CHECKSUM", "1", 1);
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 2;
    long wrong = 0;
    for (int round = 0; round < 2 && wrong == 0; ++round) wrong = exactRound(comm, rank, nranks);
    tuttiCommDestroy(comm);
    return wrong == 0 ? 0 : 3;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

TEST(TcpChecksumTest, RanksThatDisagreeFailInitAlike) {
  const LaunchResult result = runRanks(3, [](int rank, int nranks, const tuttiUniqueId& id) {
    setenv("TUTTI_TRANSPORT", "tcp", 1);
    setenv("TUTTI_CHECKSUM", rank == 1 ? "1" : "0", 1);
    tuttiConfig_t config = TUTTI_CONFIG_INITIALIZER;
    config.timeoutMs = 20000;
    tuttiComm_t comm = nullptr;
    const tuttiResult_t rc = tuttiCommInitRankConfig(&comm, nranks, id, rank, &config);
    const std::string message = tuttiGetLastError(nullptr);
    if (comm != nullptr) tuttiCommDestroy(comm);
    const bool ok = rc == tuttiInvalidArgument &&
                    message.find("rank 1 has TUTTI_CHECKSUM=1") != std::string::npos &&
                    message.find("alike on every rank") != std::string::npos;
    if (!ok)
      std::fprintf(stderr, "rank %d: %s: %s\n", rank, tuttiGetErrorString(rc), message.c_str());
    return ok ? 0 : 3;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

}  // namespace
}  // namespace tutti::test
