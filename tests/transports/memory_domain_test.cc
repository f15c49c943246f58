// The registration cache every transport's MemoryDomain shares: lookups of ranges inside a
// registered buffer, least-recently-used eviction between calls, and pinned registrations (a
// registered window's) that eviction keeps.
#include <gtest/gtest.h>

#include <vector>

#include "transports/memory.h"

namespace tutti {
namespace {

// Counts deregistrations, as a transport that unmaps memory would see them.
class CountingDomain : public MemoryDomain {
 public:
  int deregistered = 0;

 protected:
  void deregister(Registration*) override { ++deregistered; }
};

const Registration* lookUp(MemoryDomain& domain, void* data, size_t bytes) {
  const Registration* registration = nullptr;
  EXPECT_TRUE(
      domain.registerMemory(Memory{data, bytes, MemoryKind::kHost, -1}, &registration).isOk());
  return registration;
}

TEST(MemoryDomainTest, ARangeInsideARegisteredBufferReusesItsRegistration) {
  CountingDomain domain;
  std::vector<char> buffer(4096);
  const Registration* whole = lookUp(domain, buffer.data(), buffer.size());
  EXPECT_EQ(lookUp(domain, buffer.data() + 100, 200), whole);
  EXPECT_EQ(domain.registrationsMade(), 1u);
}

TEST(MemoryDomainTest, EndCallEvictsTheLeastRecentlyUsedButNeverAPinnedOne) {
  CountingDomain domain;
  const size_t buffers = MemoryDomain::kCapacity + 3;
  std::vector<std::vector<char>> memory(buffers, std::vector<char>(64));
  const Registration* pinned = lookUp(domain, memory[0].data(), 64);  // the oldest
  domain.pin(pinned);
  for (size_t i = 1; i < buffers; ++i) lookUp(domain, memory[i].data(), 64);
  domain.endCall();
  // Three over capacity: the pinned oldest stays, the next three oldest go.
  EXPECT_EQ(domain.deregistered, 3);
  EXPECT_EQ(domain.cachedCount(), MemoryDomain::kCapacity);
  const uint64_t made = domain.registrationsMade();
  EXPECT_EQ(lookUp(domain, memory[0].data(), 64), pinned);
  EXPECT_EQ(domain.registrationsMade(), made);
  lookUp(domain, memory[1].data(), 64);  // evicted: registered anew
  EXPECT_EQ(domain.registrationsMade(), made + 1);

  // Unpinned, it is as evictable as any other: now the least recently used, it goes first
  // (three over capacity again: buffers 1 and 2, next in age, go with it).
  domain.unpin(pinned);
  for (size_t i = 2; i < buffers; ++i) lookUp(domain, memory[i].data(), 64);
  domain.endCall();
  EXPECT_EQ(domain.cachedCount(), MemoryDomain::kCapacity);
  EXPECT_EQ(domain.deregistered, 6);
  const uint64_t before = domain.registrationsMade();
  lookUp(domain, memory[0].data(), 64);
  EXPECT_EQ(domain.registrationsMade(), before + 1);
}

TEST(MemoryDomainTest, PinnedRegistrationsMayExceedTheCapacity) {
  CountingDomain domain;
  const size_t buffers = MemoryDomain::kCapacity + 2;
  std::vector<std::vector<char>> memory(buffers, std::vector<char>(64));
  for (size_t i = 0; i < buffers; ++i) domain.pin(lookUp(domain, memory[i].data(), 64));
  domain.endCall();
  EXPECT_EQ(domain.deregistered, 0);
  EXPECT_EQ(domain.cachedCount(), buffers);
}

// A window's registration: exactly its range, made anew even where a cached registration holds
// it (memory freed and allocated again at an address must not reuse a stale one), never
// evicted, and deregistered at its last unpin.
TEST(MemoryDomainTest, APinnedRegistrationIsExactAndGoesAtItsLastUnpin) {
  CountingDomain domain;
  std::vector<char> buffer(4096);
  const Registration* whole = lookUp(domain, buffer.data(), buffer.size());
  const Registration* window = nullptr;
  ASSERT_TRUE(
      domain.registerPinned(Memory{buffer.data() + 1024, 1024, MemoryKind::kHost, -1}, &window)
          .isOk());
  EXPECT_NE(window, whole);
  EXPECT_EQ(window->memory.ptr, buffer.data() + 1024);
  EXPECT_EQ(window->memory.bytes, 1024u);
  domain.pin(window);  // a second user
  const uint64_t generation = domain.generation();
  domain.unpin(window);
  EXPECT_EQ(domain.deregistered, 0);
  EXPECT_EQ(domain.cachedCount(), 2u);
  domain.unpin(window);
  EXPECT_EQ(domain.deregistered, 1);
  EXPECT_EQ(domain.cachedCount(), 1u);
  EXPECT_NE(domain.generation(), generation);  // callers holding registrations look again
  EXPECT_EQ(lookUp(domain, buffer.data() + 1024, 1024), whole);
}

}  // namespace
}  // namespace tutti
