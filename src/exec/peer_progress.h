// Bytes a running call moved with each peer, for the flight recorder (core/flight_recorder.h).
// One thread, the one running the call, writes; any thread may read a snapshot while it runs, so
// the fields are atomics written and read relaxed: a reader sees each count as it was at some
// moment, never a torn value, and the data path takes no lock.
#pragma once

#include <atomic>
#include <cstdint>

namespace tutti {

struct PeerProgress {
  std::atomic<uint64_t> sent{0};       // bytes to the peer whose send completed
  std::atomic<uint64_t> sendTotal{0};  // bytes the plan sends to it
  std::atomic<uint64_t> received{0};   // bytes from the peer consumed by the plan
  std::atomic<uint64_t> recvTotal{0};  // bytes the plan receives from it

  void reset() {
    sent.store(0, std::memory_order_relaxed);
    sendTotal.store(0, std::memory_order_relaxed);
    received.store(0, std::memory_order_relaxed);
    recvTotal.store(0, std::memory_order_relaxed);
  }
};

// Adds bytes to a counter only its writer changes: a relaxed load and store, no locked
// read-modify-write on the data path.
inline void addBytes(std::atomic<uint64_t>& counter, uint64_t bytes) {
  counter.store(counter.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
}

}  // namespace tutti
