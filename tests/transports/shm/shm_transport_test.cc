// The shm transport's setup where /dev/shm is too small (a container's 64 MiB default, here a
// tmpfs of 1 MiB in a private mount namespace): the segment is found unbacked at setup, on every
// rank, with a message naming /dev/shm and the remedy, instead of a SIGBUS at the first
// collective that touches the missing pages.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "core/builtin_transports.h"
#include "testing/small_dev_shm.h"
#include "transports/fake_setup_channel.h"

namespace tutti {
namespace {

TEST(ShmTransportTest, TooSmallDevShmIsASetupErrorNamingTheRemedy) {
  constexpr int kRanks = 2;
  std::string why;
  int code = test::runWithSmallDevShm(
      "1m",
      [] {
        FakeSetupGroup group(kRanks);
        Params params;  // default slots: 2 MiB each way, more than the 1 MiB tmpfs holds
        params.timeoutMs = 10000;
        std::vector<Status> results(kRanks);
        std::vector<std::thread> threads;
        for (int r = 0; r < kRanks; ++r) {
          threads.emplace_back([&, r] {
            std::unique_ptr<SetupChannel> setup = group.channel(r);
            std::unique_ptr<Transport> shm;
            for (const TransportEntry& entry : builtinTransports().entries()) {
              if (std::string(entry.name) == "shm") (void)entry.create(params, &shm);
            }
            std::vector<std::unique_ptr<Connection>> connections;
            results[r] = shm->connect(*setup, {1 - r}, &connections);
          });
        }
        for (auto& thread : threads) thread.join();
        // Rank 0 creates the pair's segment and finds it cannot be backed; rank 1 hears of it.
        std::printf("rank 0: %s\nrank 1: %s\n", results[0].message().c_str(),
                    results[1].message().c_str());
        const std::string& message = results[0].message();
        bool named = message.find("/dev/shm") != std::string::npos &&
                     message.find("--shm-size") != std::string::npos &&
                     message.find("TUTTI_TRANSPORT=tcp") != std::string::npos;
        // Rank 1 is told which rank to look at.
        const bool pointed = results[1].message().find("rank 0") != std::string::npos;
        return !results[0].isOk() && !results[1].isOk() && named && pointed ? 0 : 1;
      },
      &why);
  if (code < 0) GTEST_SKIP() << why;
  EXPECT_EQ(code, 0);
}

}  // namespace
}  // namespace tutti
