#include "perf/bench/perf_membw.h"

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <new>
#include <thread>
#include <vector>

namespace tutti::perf {

int onlineCpus() {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  return cpus > 0 ? static_cast<int>(cpus) : 1;
}

double measureMemcpyGBps(int threads, size_t bytesPerThread, int repetitions) {
  if (threads < 1 || bytesPerThread == 0 || repetitions < 1) return 0;
  struct Pair {
    std::unique_ptr<char[]> src;
    std::unique_ptr<char[]> dst;
  };
  std::vector<Pair> pairs(static_cast<size_t>(threads));
  try {
    for (Pair& pair : pairs) {
      pair.src.reset(new char[bytesPerThread]);
      pair.dst.reset(new char[bytesPerThread]);
    }
  } catch (const std::bad_alloc&) {
    return 0;
  }
  // Round 0 writes every page from the thread that copies it (first touch places the pages near
  // that thread) and is not timed; rounds 1.. are.
  double best = 0;
  volatile char sink = 0;
  for (int round = 0; round <= repetitions; ++round) {
    std::vector<std::thread> workers;
    workers.reserve(pairs.size());
    auto start = std::chrono::steady_clock::now();
    for (Pair& pair : pairs) {
      workers.emplace_back([&pair, bytesPerThread, round] {
        if (round == 0) {
          std::memset(pair.src.get(), 0x5A, bytesPerThread);
          std::memset(pair.dst.get(), 0, bytesPerThread);
        } else {
          std::memcpy(pair.dst.get(), pair.src.get(), bytesPerThread);
        }
      });
    }
    for (std::thread& worker : workers) worker.join();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (Pair& pair : pairs) sink = sink + pair.dst[bytesPerThread - 1];  // keeps the copies
    if (round == 0 || !(seconds > 0)) continue;
    double gbps = 2.0 * static_cast<double>(bytesPerThread) * threads / seconds / 1e9;
    if (gbps > best) best = gbps;
  }
  return best;
}

}  // namespace tutti::perf
