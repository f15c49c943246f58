// A C++ allocator that fails on request, for tests of what Tutti does when memory runs out
// (issue 12, item 7). Linking failing_allocator.cc into a test program replaces the global
// operator new and delete, every form, for the whole process: libtutti's allocations (and the
// libraries it calls that allocate through operator new, such as fmt) go through it. C code that
// calls malloc (hwloc, glibc) does not.
//
// Disarmed it only forwards to malloc. Armed with n, it counts allocations from then on in every
// thread, and the n-th fails: operator new throws std::bad_alloc, the nothrow forms return
// nullptr. With `persistent`, every allocation after it fails too, as when memory stays
// exhausted. Thread-safe. With ALLOC_SWEEP_TRACE set in the environment, the first refusal
// prints its stack to stderr.
#pragma once

#include <cstdint>

namespace tutti::test {

void armAllocationFailure(int64_t nth, bool persistent);
void disarmAllocationFailure();
// Allocations counted since the last arm (the failed ones included).
int64_t allocationsSinceArmed();
// Whether an allocation has been refused since the last arm.
bool allocationRefused();

}  // namespace tutti::test
