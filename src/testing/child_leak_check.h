// A forked rank ends with _exit, which skips LeakSanitizer's check at exit: the leaks a rank's
// body made would go unreported. leakCheckedExitCode runs that check before the _exit.
#pragma once

namespace tutti::test {

// Whether this process runs a single thread: call it just before forking. Only then can the
// child's leak check be trusted: blocks that another thread of the parent points to from its
// stack (the bootstrap root's, say) look leaked in the child, where that thread does not exist.
bool onlyThreadOfProcess();

// The exit code a forked child should _exit with: `code`, or 23 (LeakSanitizer's own exit code)
// when `code` is 0, `forkedFromOneThread`, and this is a LeakSanitizer build (AddressSanitizer's,
// with ASAN_OPTIONS=detect_leaks=1) that finds memory leaked; the report goes to stderr.
// Otherwise it returns `code`.
int leakCheckedExitCode(int code, bool forkedFromOneThread);

}  // namespace tutti::test
