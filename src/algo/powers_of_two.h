// Powers of two, as the logarithmic algorithms (recursive doubling, the host trees) count their
// rounds and levels.
#pragma once

namespace tutti {

// The largest power of two <= n; 1 for n < 2. Does not overflow for any int n.
inline int largestPowerOfTwoAtMost(int n) {
  int p = 1;
  while (p <= n / 2) p *= 2;
  return p;
}

// floor(log2 n); 0 for n < 2.
inline int floorLog2(int n) {
  int log = 0;
  while ((2 << log) <= n) ++log;
  return log;
}

inline bool isPowerOfTwo(int n) { return n > 0 && (n & (n - 1)) == 0; }

}  // namespace tutti
