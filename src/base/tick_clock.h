// Timestamps for paths that date every operation but read the dates rarely (the flight recorder
// dates each call's start and end; the dates are read only when it is dumped). A reading is the
// CPU's time-stamp counter where it ticks at a constant rate in every power state (x86-64 with
// the invariant TSC of CPUID leaf 0x80000007, EDX bit 8: Intel SDM vol. 3B, "Invariant TSC"),
// else CLOCK_MONOTONIC in nanoseconds. Measured on this project's 2-core VM (kvm-clock): 11 ns a
// reading against 24 ns for clock_gettime, which was most of the recorder's cost per call.
//
// Readings turn into wall-clock time (CLOCK_REALTIME) through WallFromTicks: the counter's rate
// is taken from CLOCK_MONOTONIC between the process's first reading and the conversion, so that
// a date is exact to well under a microsecond plus the two clocks' reading jitter, and a step of
// the wall clock (NTP) moves every date alike. Thread-safe.
#pragma once

#include <cstdint>

namespace tutti {

class TickClock {
 public:
  // A reading; never 0, so that 0 can mean "not reached".
  static uint64_t now();
};

// Converts readings taken before its construction to wall-clock microseconds since the epoch
// (CLOCK_REALTIME), from one sample of the clocks taken when constructed.
class WallFromTicks {
 public:
  WallFromTicks();
  // 0 stays 0 ("not reached").
  int64_t us(uint64_t ticks) const;

 private:
  uint64_t ticks_;  // TickClock::now() at construction
  int64_t monoNs_;  // CLOCK_MONOTONIC at construction
  int64_t realNs_;  // CLOCK_REALTIME at construction
  double nsPerTick_;
};

}  // namespace tutti
