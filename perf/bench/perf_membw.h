// The host's memory bandwidth for tutti-perf --bound: memcpy on several threads at once.
#pragma once

#include <cstddef>

namespace tutti::perf {

// --bound's measurement: best of kBoundRepetitions memcpy runs of kBoundCopyBytes per thread.
constexpr size_t kBoundCopyBytes = size_t{64} << 20;
constexpr int kBoundRepetitions = 5;

// Online CPUs of this host (at least 1).
int onlineCpus();

// Best of `repetitions` runs of `threads` threads each copying its own buffer of
// bytesPerThread bytes at the same time, in GB/s (1e9 bytes per second) of memory traffic: each
// byte copied counts 2 (read + written). 0 when the buffers cannot be allocated.
double measureMemcpyGBps(int threads, size_t bytesPerThread, int repetitions);

}  // namespace tutti::perf
