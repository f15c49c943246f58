// A forked rank ends with _exit, which skips LeakSanitizer's check at exit: the leaks a rank's
// body made would go unreported. leakCheckedExitCode runs that check before the _exit.
#pragma once

namespace tutti::test {

// The exit code a forked child should _exit with: `code`, or 23 (LeakSanitizer's own exit code)
// when `code` is 0 and this is a LeakSanitizer build (AddressSanitizer's, with
// ASAN_OPTIONS=detect_leaks=1) that finds memory leaked; the report goes to stderr. Without
// LeakSanitizer it returns `code`.
int leakCheckedExitCode(int code);

}  // namespace tutti::test
