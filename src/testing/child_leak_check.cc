#include "testing/child_leak_check.h"

#if defined(__SANITIZE_ADDRESS__)
#define TUTTI_LEAK_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define TUTTI_LEAK_SANITIZER 1
#endif
#endif
#ifdef TUTTI_LEAK_SANITIZER
#include <sanitizer/lsan_interface.h>
#endif

namespace tutti::test {

namespace {
constexpr int kLeakExitCode = 23;
}

int leakCheckedExitCode(int code) {
#ifdef TUTTI_LEAK_SANITIZER
  // Does nothing (returns 0) when ASAN_OPTIONS has detect_leaks=0.
  if (__lsan_do_recoverable_leak_check() != 0 && code == 0) return kLeakExitCode;
#endif
  return code;
}

}  // namespace tutti::test
