#include "base/tick_clock.h"

#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <thread>

namespace tutti {
namespace {

int64_t realUs() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
}

TEST(TickClockTest, ReadingsNeverGoBackAndAreNeverZero) {
  uint64_t last = TickClock::now();
  for (int i = 0; i < 100000; ++i) {
    const uint64_t now = TickClock::now();
    ASSERT_NE(now, 0u);
    ASSERT_GE(now, last);
    last = now;
  }
}

TEST(TickClockTest, ADateIsTheWallClockWhenItWasTaken) {
  (void)TickClock::now();  // the origin, if no test took it yet
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  const int64_t before = realUs();
  const uint64_t ticks = TickClock::now();
  const int64_t after = realUs();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const int64_t dated = WallFromTicks().us(ticks);
  // The conversion sees 50 ms more than the reading: a wrong rate or origin shows here.
  EXPECT_GE(dated, before - 200);
  EXPECT_LE(dated, after + 200);
}

TEST(TickClockTest, IntervalsComeOutInMicroseconds) {
  const uint64_t start = TickClock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  const uint64_t end = TickClock::now();
  const WallFromTicks wall;
  const int64_t us = wall.us(end) - wall.us(start);
  EXPECT_GE(us, 40000);
  EXPECT_LT(us, 40000 + 20000);  // a descheduled sleeper wakes late, never early
}

TEST(TickClockTest, ZeroMeansNotReached) { EXPECT_EQ(WallFromTicks().us(0), 0); }

}  // namespace
}  // namespace tutti
