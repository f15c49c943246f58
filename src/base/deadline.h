// A point in time by which a wait must end: every blocking loop in Tutti takes one.
#pragma once

#include <chrono>
#include <cstdint>

namespace tutti {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  static Deadline afterMs(int64_t ms) {
    return Deadline(Clock::now() + std::chrono::milliseconds(ms));
  }

  // The earlier of two deadlines.
  static Deadline earliest(const Deadline& a, const Deadline& b) {
    return a.when_ < b.when_ ? a : b;
  }

  bool expired() const { return Clock::now() >= when_; }
  // Milliseconds left, at least 0, at most cap (for poll() slices).
  int remainingMs(int cap) const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(when_ - Clock::now()).count();
    if (left < 0) return 0;
    return left > cap ? cap : static_cast<int>(left);
  }

 private:
  explicit Deadline(Clock::time_point when) : when_(when) {}
  Clock::time_point when_;
};

}  // namespace tutti
