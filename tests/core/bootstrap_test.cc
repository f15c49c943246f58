// Bootstrap among threads of one process: meeting at the root, the ring allgather, and the
// errors of a wrong secret and of a rank that never arrives.
#include "core/bootstrap.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace tutti {
namespace {

UniqueIdContents startRoot(int timeoutMs) {
  UniqueIdContents id;
  EXPECT_TRUE(randomBytes(id.secret, kSecretBytes).isOk());
  SockAddr addr;
  EXPECT_TRUE(parseHostPort("127.0.0.1:0", &addr).isOk());
  SockAddr bound;
  EXPECT_TRUE(startBootstrapRoot(addr, id.secret, timeoutMs, &bound).isOk());
  id.root = toWire(bound);
  return id;
}

TEST(BootstrapTest, RanksMeetAndAllGather) {
  for (int nranks : {1, 2, 3, 5}) {
    UniqueIdContents id = startRoot(10000);
    Params params;
    params.timeoutMs = 10000;
    std::vector<std::vector<int>> gathered(nranks);
    std::vector<std::thread> threads;
    std::vector<Status> results(nranks);
    for (int rank = 0; rank < nranks; ++rank) {
      threads.emplace_back([&, rank] {
        std::unique_ptr<Bootstrap> boot;
        results[rank] = Bootstrap::create(id, rank, nranks, params, nullptr, &boot);
        if (!results[rank].isOk()) return;
        gathered[rank].assign(nranks, -1);
        gathered[rank][rank] = rank * 10;
        results[rank] = boot->allGather(gathered[rank].data(), sizeof(int));
        if (results[rank].isOk()) results[rank] = boot->barrier();
      });
    }
    for (auto& thread : threads) thread.join();
    for (int rank = 0; rank < nranks; ++rank) {
      ASSERT_TRUE(results[rank].isOk()) << results[rank].message();
      for (int r = 0; r < nranks; ++r) EXPECT_EQ(gathered[rank][r], r * 10);
    }
  }
}

TEST(BootstrapTest, WrongSecretIsRejected) {
  UniqueIdContents id = startRoot(3000);
  UniqueIdContents forged = id;
  forged.secret[0] ^= 1;
  Params params;
  params.timeoutMs = 3000;
  std::unique_ptr<Bootstrap> boot;
  Status status = Bootstrap::create(forged, 0, 1, params, nullptr, &boot);
  EXPECT_EQ(status.code(), tuttiRemoteError);
  EXPECT_NE(status.message().find("secret"), std::string::npos) << status.message();
}

TEST(BootstrapTest, MissingRankTimesOutWithItsNumber) {
  UniqueIdContents id = startRoot(1000);
  Params params;
  params.timeoutMs = 5000;
  std::unique_ptr<Bootstrap> boot;
  auto start = std::chrono::steady_clock::now();
  Status status = Bootstrap::create(id, 0, 2, params, nullptr, &boot);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(status.code(), tuttiTimeout);
  EXPECT_NE(status.message().find("missing ranks: 1"), std::string::npos) << status.message();
  EXPECT_LT(elapsed, std::chrono::seconds(4));
}

}  // namespace
}  // namespace tutti
