// Strangers on every port during init: a flooder process connects silent, garbage,
// truncated-hello, wrong-secret, wrong-version and absurd-count strangers to every listening socket
// of the job (the bootstrap root, each rank's bootstrap ring listener, the tcp transport's
// listeners, the shm doorbells) while ranks initialise. Init succeeds in about the time it takes
// without them, and collectives give exact results.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "base/unique_id.h"
#include "mp/exact_round.h"
#include "mp/harness.h"
#include "testing/strangers.h"

namespace tutti::test {
namespace {

constexpr int kRanks = 4;
// The last rank starts late, so that the others wait in the bootstrap with their ring listeners
// open and the flooder finds them; its own init is the time measured.
constexpr int kLateStartMs = 1000;

struct InitRun {
  bool ok = false;
  std::string failure;
  double lastRankInitSeconds = 0;
  Flooder::Counts flood;
};

// Ranks in shared memory report how long the last rank's init took.
InitRun runInit(const char* transport, bool flood, const std::string& commId = "") {
  auto* seconds = static_cast<double*>(
      mmap(nullptr, sizeof(double), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  *seconds = -1;
  uint8_t secret[kSecretBytes];
  if (!commId.empty()) secretFromString(commId, secret);
  InitRun run;
  {
    std::unique_ptr<Flooder> flooder;
    // Forked before the ranks (and the root of a unique id), so that they inherit nothing of it.
    if (flood) flooder = std::make_unique<Flooder>(getpid(), commId.empty() ? nullptr : secret);
    LaunchResult result = runRanks(
        kRanks,
        [&](int rank, int nranks, const tuttiUniqueId& id) {
          setenv("TUTTI_TRANSPORT", transport, 1);
          if (rank == nranks - 1) {
            std::this_thread::sleep_for(std::chrono::milliseconds(kLateStartMs));
          }
          const auto start = std::chrono::steady_clock::now();
          tuttiComm_t comm = nullptr;
          if (commId.empty()) {
            comm = initComm(rank, nranks, id, 20000);
          } else {
            setenv("TUTTI_COMM_ID", commId.c_str(), 1);
            setenv("TUTTI_RANK", std::to_string(rank).c_str(), 1);
            setenv("TUTTI_WORLD_SIZE", std::to_string(nranks).c_str(), 1);
            setenv("TUTTI_TIMEOUT_MS", "20000", 1);
            if (tuttiCommInitFromEnv(&comm) != tuttiSuccess) {
              std::fprintf(stderr, "rank %d: init from env: %s\n", rank,
                           tuttiGetLastError(nullptr));
              comm = nullptr;
            }
          }
          if (comm == nullptr) return 2;
          if (rank == nranks - 1) {
            *seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          }
          long wrong = exactRound(comm, rank, nranks);
          tuttiCommDestroy(comm);
          return wrong == 0 ? 0 : 1;
        },
        120, /*makeId=*/commId.empty());
    if (flooder) run.flood = flooder->stop();
    run.ok = result.ok;
    run.failure = result.failure;
  }
  run.lastRankInitSeconds = *seconds;
  munmap(seconds, sizeof(double));
  return run;
}

// Init with and without a flood; the flood must reach the root and the ranks' own listeners.
// One retry absorbs a noisy machine (2 cores shared by several builds); a listener that waits on
// a silent stranger costs 5 s, far past the bound.
void expectFloodCostsLessThanASecond(const char* transport) {
  InitRun quiet;
  InitRun flooded;
  for (int attempt = 0; attempt < 2; ++attempt) {
    quiet = runInit(transport, false);
    ASSERT_TRUE(quiet.ok) << quiet.failure;
    flooded = runInit(transport, true);
    ASSERT_TRUE(flooded.ok) << flooded.failure;
    std::printf(
        "%s: last rank's init %.3f s quiet, %.3f s under a flood of %lld strangers to %lld "
        "listeners (%lld Unix)\n",
        transport, quiet.lastRankInitSeconds, flooded.lastRankInitSeconds,
        static_cast<long long>(flooded.flood.connections),
        static_cast<long long>(flooded.flood.listeners),
        static_cast<long long>(flooded.flood.unixListeners));
    if (flooded.lastRankInitSeconds - quiet.lastRankInitSeconds < 1.0) break;
  }
  // The root and the ring listeners of the ranks waiting for the late one. The transports'
  // listeners (tcp, shm doorbells) are open for moments only: the printout says whether the flood
  // found them (base/hello_acceptor_test.cc floods them for certain).
  EXPECT_GE(flooded.flood.listeners, kRanks);
  EXPECT_GT(flooded.flood.connections, 50);
  EXPECT_LT(flooded.lastRankInitSeconds - quiet.lastRankInitSeconds, 1.0);
}

TEST(HostileTest, FloodOfStrangersDuringTcpInit) { expectFloodCostsLessThanASecond("tcp"); }

TEST(HostileTest, FloodOfStrangersDuringShmInit) { expectFloodCostsLessThanASecond("shm"); }

// TUTTI_COMM_ID: the secret comes from the string, so the flooder knows it and sends well-formed
// hellos claiming 2^31-1 ranks to rank 0's root; they are errors for their connections only.
TEST(HostileTest, AbsurdRankCountsAtTheCommIdRoot) {
  // A port that was free a moment ago: bound and closed.
  Fd probe;
  SockAddr any;
  SockAddr bound;
  ASSERT_TRUE(parseHostPort("127.0.0.1:0", &any).isOk());
  ASSERT_TRUE(listenOn(any, &probe, &bound).isOk());
  probe.reset();
  InitRun run = runInit("tcp", true, bound.toString());
  EXPECT_TRUE(run.ok) << run.failure;
  EXPECT_GT(run.flood.connections, 0);
}

}  // namespace
}  // namespace tutti::test
