#include "testing/child_leak_check.h"

#include <dirent.h>
#include <unistd.h>

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

bool onlyThreadOfProcess() {
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return false;
  int threads = 0;
  while (dirent* entry = readdir(tasks)) {
    if (entry->d_name[0] != '.') ++threads;
  }
  closedir(tasks);
  return threads == 1;
}

int leakCheckedExitCode(int code, bool forkedFromOneThread) {
#ifdef TUTTI_LEAK_SANITIZER
  if (code != 0 || !forkedFromOneThread) return code;
  // LeakSanitizer's tracer died of SIGSEGV ("Tracer caught signal 11") once, in rank 0 of
  // InitFromEnvTest.EveryLauncherVariableFamily, whose detached bootstrap root thread may still
  // have been ending. (The same fault, found later in another test's rank 0, came from hwloc's
  // opencl plugin, whose dynamic TLS the runtime misread: docs/reliability.md. That may have
  // been this one too.) A thread that ends while the tracer stops them all is a risk of its
  // own: wait (bounded) for the other threads to end before checking.
  for (int i = 0; i < 200 && !onlyThreadOfProcess(); ++i) usleep(10 * 1000);
  // Does nothing (returns 0) when ASAN_OPTIONS has detect_leaks=0.
  if (__lsan_do_recoverable_leak_check() != 0) return kLeakExitCode;
#else
  (void)forkedFromOneThread;
#endif
  return code;
}

}  // namespace tutti::test
