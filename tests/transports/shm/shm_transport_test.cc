// The shm transport's setup: where /dev/shm is too small (a container's 64 MiB default, here a
// tmpfs of 1 MiB in a private mount namespace) the segment is found unbacked at setup, on every
// rank, with a message naming /dev/shm and the remedy, instead of a SIGBUS at the first
// collective that touches the missing pages; and the slots' pages that small messages reach are
// in place before the first message, so that no call takes their page faults.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "core/builtin_transports.h"
#include "testing/small_dev_shm.h"
#include "transports/fake_setup_channel.h"
#include "transports/progress_engine.h"
#include "transports/test_memory.h"

namespace tutti {
namespace {

// The shm transport from the registry, or nullptr.
std::unique_ptr<Transport> createShm(const Params& params) {
  std::unique_ptr<Transport> shm;
  for (const TransportEntry& entry : builtinTransports().entries()) {
    if (std::string(entry.name) == "shm" && !entry.create(params, &shm).isOk()) shm.reset();
  }
  return shm;
}

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
            std::unique_ptr<Transport> shm = createShm(params);
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

// Minor page faults taken by the calling thread so far.
long threadMinorFaults() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_minflt;
}

// Two ranks as threads (each maps the pair's segment itself, so each has page tables of its
// own). Rank 0 sends one message of nearly a slot through each of the 8 slots, rank 1 reads each
// where it lies: neither may fault on the slots' pages. Without setup's touching, each would take
// one fault per page, 8 x 15 here.
TEST(ShmTransportTest, SmallMessagesTakeNoPageFaultsInTheSlots) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizers' shadow memory of the slots faults in on the first instrumented access.
  GTEST_SKIP() << "page faults are not Tutti's own under a sanitizer (shadow memory)";
#endif
  constexpr int kRanks = 2;
  constexpr int kSlots = 8;
  constexpr size_t kBytes = 60000;  // 15 pages of a 64 KiB slot
  FakeSetupGroup group(kRanks);
  Params params;
  params.settings["TUTTI_SHM_SLOTS"] = std::to_string(kSlots);
  params.settings["TUTTI_SHM_SLOT_BYTES"] = "65536";
  params.timeoutMs = 20000;
  std::vector<long> faults(kRanks, -1);
  std::vector<std::thread> threads;
  for (int r = 0; r < kRanks; ++r) {
    threads.emplace_back([&, r] {
      std::unique_ptr<SetupChannel> setup = group.channel(r);
      std::unique_ptr<Transport> shm = createShm(params);
      ASSERT_NE(shm, nullptr);
      std::vector<std::unique_ptr<Connection>> connections;
      Status status = shm->connect(*setup, {1 - r}, &connections);
      ASSERT_TRUE(status.isOk()) << status.message();
      Connection* peer = connections.at(0).get();
      ProgressEngine engine(WaitPolicy{100, 0, 20000}, nullptr);
      engine.drive({peer});
      std::vector<TransferRequest> requests(kSlots);
      // Everything this thread touches besides the slots is in place before counting.
      std::vector<char> data(kBytes, static_cast<char>(r + 1));
      long sum = 0;
      if (r == 0) {
        const long before = threadMinorFaults();
        for (int m = 0; m < kSlots; ++m) {
          ASSERT_TRUE(
              peer->postSend(hostSlice(peer->memoryDomain(), data.data(), kBytes), &requests[m])
                  .isOk());
        }
        faults[r] = threadMinorFaults() - before;
        for (auto& request : requests) EXPECT_TRUE(request.done) << "a slot each, all free";
      }
      ASSERT_TRUE(setup->barrier().isOk());  // every message is in its slot
      if (r == 1) {
        for (auto& request : requests) ASSERT_TRUE(peer->postRecvStaged(kBytes, &request).isOk());
        const long before = threadMinorFaults();
        for (int m = 0; m < kSlots; ++m) {
          bool progressed = false;
          while (!requests[m].done) ASSERT_TRUE(engine.poll(&progressed).isOk());
          for (size_t i = 0; i < kBytes; ++i) sum += requests[m].staged[i];
          ASSERT_TRUE(peer->releaseRecv(&requests[m]).isOk());
        }
        faults[r] = threadMinorFaults() - before;
        EXPECT_EQ(sum, static_cast<long>(kSlots * kBytes)) << "rank 0's bytes, all 1";
      }
      ASSERT_TRUE(setup->barrier().isOk());
    });
  }
  for (auto& thread : threads) thread.join();
  std::printf("minor page faults: sender %ld, receiver %ld\n", faults[0], faults[1]);
  EXPECT_LE(faults[0], 2) << "the sender's writes into the slots faulted";
  EXPECT_LE(faults[1], 2) << "the receiver's reads of the slots faulted";
}

}  // namespace
}  // namespace tutti
