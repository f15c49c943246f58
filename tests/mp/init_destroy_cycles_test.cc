// 100 init/destroy cycles (issue 12, item 9) leave the process where it started: the same open
// fds, the same threads, and heap in use within a small bound. In this process with 1 rank, and
// in 3 forked ranks, each cycle with one exact all-reduce. A few cycles first warm up what a
// process sets up once (the logger, the parameter table, libraries loaded on first use).
// valgrind's count of lost bytes over the same cycles is tests/core/init_cycles.c.
#include <dirent.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "mp/harness.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TUTTI_TEST_SANITIZER_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TUTTI_TEST_SANITIZER_HEAP 1
#endif
#endif
#ifdef TUTTI_TEST_SANITIZER_HEAP
// The sanitizers' allocator replaces glibc's, whose mallinfo2 then counts nothing. Declared here:
// gcc 12 ships no sanitizer/allocator_interface.h, though libasan and libtsan export it.
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace tutti::test {
namespace {

constexpr int kWarmUpCycles = 3;
constexpr int kCycles = 100;
// Heap growth allowed over the 100 cycles: a leak of 100 bytes a cycle fails; allocator caches
// (the logger's buffers, glibc's per-thread arenas) stay under it.
constexpr int64_t kHeapGrowthBound = 8 * 1024;

// Entries of a /proc/self directory, less "." and "..".
int countEntries(const char* path) {
  DIR* dir = opendir(path);
  if (dir == nullptr) return -1;
  int count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count;
}

struct Resources {
  int fds = 0;  // counted while opendir holds one more, the same every time
  int threads = 0;
  int64_t heapBytes = 0;  // in use by the program, not cached by the allocator
};

// glibc's per-thread cache (tcache) keeps freed chunks counted as in use, tens of KiB that grow
// over the first hundreds of cycles: mallinfo2 measures leaks only with it off, as ctest runs
// this test (GLIBC_TUNABLES=glibc.malloc.tcache_count=0, tests/CMakeLists.txt). The sanitizers'
// allocators count exactly.
bool heapCountIsExact() {
#ifdef TUTTI_TEST_SANITIZER_HEAP
  return true;
#else
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables != nullptr && std::strstr(tunables, "glibc.malloc.tcache_count=0") != nullptr;
#endif
}

Resources measure() {
  Resources r;
  r.fds = countEntries("/proc/self/fd");
  r.threads = countEntries("/proc/self/task");
#ifdef TUTTI_TEST_SANITIZER_HEAP
  r.heapBytes = static_cast<int64_t>(__sanitizer_get_current_allocated_bytes());
#else
  struct mallinfo2 info = mallinfo2();
  r.heapBytes = static_cast<int64_t>(info.uordblks + info.hblkhd);
#endif
  return r;
}

// The bootstrap root's thread is detached and may still be closing its sockets when init has
// returned: wait (bounded) for the thread and fd counts to come back before comparing.
Resources measureSettled(const Resources& baseline) {
  Resources now = measure();
  for (int i = 0; i < 200 && (now.threads > baseline.threads || now.fds > baseline.fds); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    now = measure();
  }
  return now;
}

// Empty when `after` is where `before` was; otherwise what moved.
std::string compare(const Resources& before, const Resources& after) {
  std::string out;
  if (after.fds != before.fds) {
    out += "fds " + std::to_string(before.fds) + " -> " + std::to_string(after.fds) + "; ";
  }
  if (after.threads != before.threads) {
    out +=
        "threads " + std::to_string(before.threads) + " -> " + std::to_string(after.threads) + "; ";
  }
  if (heapCountIsExact() && after.heapBytes - before.heapBytes > kHeapGrowthBound) {
    out += "heap in use " + std::to_string(before.heapBytes) + " -> " +
           std::to_string(after.heapBytes) + " bytes; ";
  }
  return out;
}

// Passes each cycle's unique id from rank 0 to the others: one pipe per receiving rank, made
// before the fork.
struct IdPipes {
  std::vector<std::array<int, 2>> pipes;
  explicit IdPipes(int nranks) : pipes(nranks, {-1, -1}) {
    for (int r = 1; r < nranks; ++r) {
      if (pipe(pipes[r].data()) != 0) ADD_FAILURE() << "pipe";
    }
  }
  ~IdPipes() {
    for (auto& p : pipes) {
      for (int fd : p) {
        if (fd >= 0) close(fd);
      }
    }
  }
};

// One cycle: a fresh id, init, all-reduce of exact integers, destroy. 0 on success.
int cycle(int rank, int nranks, int round, const IdPipes& ids) {
  tuttiUniqueId id;
  if (rank == 0) {
    CHECK_RC(tuttiGetUniqueId(&id));
    for (int r = 1; r < nranks; ++r) {
      if (write(ids.pipes[r][1], &id, sizeof(id)) != static_cast<ssize_t>(sizeof(id))) return 11;
    }
  } else if (read(ids.pipes[rank][0], &id, sizeof(id)) != static_cast<ssize_t>(sizeof(id))) {
    return 12;
  }
  tuttiComm_t comm = initComm(rank, nranks, id, 30000);
  if (comm == nullptr) return 13;
  int32_t values[2] = {rank + 1, round};
  CHECK_RC(tuttiAllReduce(values, values, 2, tuttiInt32, tuttiSum, comm, nullptr));
  if (values[0] != nranks * (nranks + 1) / 2 || values[1] != round * nranks) {
    std::fprintf(stderr, "rank %d cycle %d: all-reduce gave {%d, %d}\n", rank, round, values[0],
                 values[1]);
    tuttiCommDestroy(comm);
    return 14;
  }
  CHECK_RC(tuttiCommDestroy(comm));
  return 0;
}

// Warm-up, then kCycles cycles between two measurements. 0 when nothing moved.
int cycles(int rank, int nranks, const IdPipes& ids) {
  for (int round = 0; round < kWarmUpCycles; ++round) {
    if (int rc = cycle(rank, nranks, round, ids)) return rc;
  }
  Resources before = measure();
  before = measureSettled(before);
  for (int round = 0; round < kCycles; ++round) {
    if (int rc = cycle(rank, nranks, kWarmUpCycles + round, ids)) return rc;
  }
  Resources after = measureSettled(before);
  std::string moved = compare(before, after);
  std::printf("rank %d of %d, %d cycles: fds %d -> %d, threads %d -> %d, heap in use %+lld bytes\n",
              rank, nranks, kCycles, before.fds, after.fds, before.threads, after.threads,
              static_cast<long long>(after.heapBytes - before.heapBytes));
  if (!heapCountIsExact()) {
    std::printf("heap growth not checked: glibc's tcache is on (ctest turns it off)\n");
  }
  if (!moved.empty()) {
    std::fprintf(stderr, "rank %d: after %d init/destroy cycles: %s\n", rank, kCycles,
                 moved.c_str());
    return 15;
  }
  return 0;
}

TEST(InitDestroyCyclesTest, OneRankInThisProcessLeavesFdsThreadsAndHeapWhereTheyWere) {
  IdPipes ids(1);
  EXPECT_EQ(cycles(0, 1, ids), 0) << "see the message above";
}

TEST(InitDestroyCyclesTest, ThreeForkedRanksLeaveFdsThreadsAndHeapWhereTheyWere) {
  const int nranks = 3;
  IdPipes ids(nranks);
  LaunchResult result = runRanks(
      nranks, [&](int rank, int n, const tuttiUniqueId&) { return cycles(rank, n, ids); }, 240,
      /*makeId=*/false);
  EXPECT_TRUE(result.ok) << result.failure;
}

}  // namespace
}  // namespace tutti::test
