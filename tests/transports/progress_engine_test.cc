// The progress engine's stall reports: kStalled each kStallReportMs without progress, to a
// caller that asked for them, never to one that did not, and never while things move.
#include "transports/progress_engine.h"

#include <gtest/gtest.h>

#include <chrono>

#include "transports/still_connection.h"

namespace tutti {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Drives `engine` for `span`, the connection moving every `moveEvery` (0: never); returns how
// many times idle() said kStalled.
int stallsOver(ProgressEngine& engine, StillConnection& connection, Clock::duration span,
               Clock::duration moveEvery = Clock::duration::zero()) {
  int stalls = 0;
  const auto start = Clock::now();
  auto nextMove = start + moveEvery;
  while (Clock::now() - start < span) {
    if (moveEvery != Clock::duration::zero() && Clock::now() >= nextMove) {
      connection.movesOnNextProgress = true;
      nextMove += moveEvery;
    }
    bool progressed = false;
    EXPECT_TRUE(engine.poll(&progressed).isOk());
    if (progressed) continue;
    const ProgressEngine::Idle idle = engine.idle();
    if (idle == ProgressEngine::Idle::kStalled) {
      ++stalls;
    } else {
      EXPECT_EQ(idle, ProgressEngine::Idle::kRetry);
    }
  }
  return stalls;
}

TEST(ProgressEngineTest, StallsAreReportedEveryReportTimeWithoutProgress) {
  StillConnection connection;
  ProgressEngine engine(WaitPolicy{0, 0, 10000}, nullptr);
  engine.drive({&connection}, /*reportStalls=*/true);
  const auto start = Clock::now();
  for (;;) {
    bool progressed = false;
    ASSERT_TRUE(engine.poll(&progressed).isOk());
    const ProgressEngine::Idle idle = engine.idle();
    if (idle == ProgressEngine::Idle::kStalled) break;
    ASSERT_EQ(idle, ProgressEngine::Idle::kRetry);
    ASSERT_LT(Clock::now() - start, std::chrono::seconds(5));
  }
  EXPECT_GE(Clock::now() - start, milliseconds(ProgressEngine::kStallReportMs));
  EXPECT_GT(connection.armCalls, 0);  // it blocked meanwhile, not spun
  // About one more per report time from here (4.5 report times: 4, give or take one).
  const int more =
      stallsOver(engine, connection, milliseconds(ProgressEngine::kStallReportMs * 9 / 2));
  EXPECT_GE(more, 3);
  EXPECT_LE(more, 5);
}

TEST(ProgressEngineTest, NoStallReportsUnaskedOrWhileThingsMove) {
  StillConnection connection;
  ProgressEngine engine(WaitPolicy{0, 0, 10000}, nullptr);
  engine.drive({&connection});
  EXPECT_EQ(stallsOver(engine, connection, milliseconds(3 * ProgressEngine::kStallReportMs)), 0);
  // Progress restarts the clock: moves more often than the report time, no report.
  engine.drive({&connection}, /*reportStalls=*/true);
  EXPECT_EQ(stallsOver(engine, connection, milliseconds(4 * ProgressEngine::kStallReportMs),
                       milliseconds(ProgressEngine::kStallReportMs / 3)),
            0);
}

}  // namespace
}  // namespace tutti
