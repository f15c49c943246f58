#include "base/tick_clock.h"

#include <time.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

namespace tutti {
namespace {

int64_t clockNs(clockid_t clock) {
  timespec now{};
  clock_gettime(clock, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

bool invariantTsc() {
#if defined(__x86_64__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0x80000000u, nullptr) < 0x80000007u) return false;
  __cpuid(0x80000007u, eax, ebx, ecx, edx);
  return (edx & (1u << 8)) != 0;
#else
  return false;
#endif
}

// The process's first reading of both clocks: the counter's rate is measured from here.
struct Origin {
  bool cycles;
  uint64_t ticks;
  int64_t monoNs;
};

uint64_t read(bool cycles) {
#if defined(__x86_64__)
  if (cycles) return __rdtsc();
#endif
  (void)cycles;
  return static_cast<uint64_t>(clockNs(CLOCK_MONOTONIC));
}

const Origin& origin() {
  static const Origin kOrigin = [] {
    Origin o{invariantTsc(), 0, 0};
    o.monoNs = clockNs(CLOCK_MONOTONIC);
    o.ticks = read(o.cycles);
    return o;
  }();
  return kOrigin;
}

}  // namespace

uint64_t TickClock::now() {
  const uint64_t ticks = read(origin().cycles);
  return ticks == 0 ? 1 : ticks;
}

WallFromTicks::WallFromTicks() {
  const Origin& o = origin();
  monoNs_ = clockNs(CLOCK_MONOTONIC);
  ticks_ = read(o.cycles);
  realNs_ = clockNs(CLOCK_REALTIME);
  if (!o.cycles) {
    nsPerTick_ = 1.0;
  } else if (ticks_ > o.ticks && monoNs_ > o.monoNs) {
    nsPerTick_ = static_cast<double>(monoNs_ - o.monoNs) / static_cast<double>(ticks_ - o.ticks);
  } else {
    nsPerTick_ = 0.0;  // no time since the origin: every reading is "now"
  }
}

int64_t WallFromTicks::us(uint64_t ticks) const {
  if (ticks == 0) return 0;
  // Signed: counters of different cores may disagree by a few ticks.
  const double ago = static_cast<double>(static_cast<int64_t>(ticks_ - ticks)) * nsPerTick_;
  return (realNs_ - static_cast<int64_t>(ago)) / 1000;
}

}  // namespace tutti
