#!/usr/bin/env bash
# Sanitizer builds of the test suite (docs/reliability.md, "Sanitizers and leaks"):
#   scripts/sanitize.sh [asan|tsan|all] [more ctest arguments, e.g. -R Collectives]
# asan: AddressSanitizer + UBSan (and LeakSanitizer) in build-asan; tsan: ThreadSanitizer in
# build-tsan (${TUTTI_SANITIZE_BUILD_ROOT:-repository root}/build-<kind>). Each is built without
# CUDA, the PyTorch backend, tutti-perf and the examples, at -O0 -g1 (with AddressSanitizer and
# UBSan a file compiles in half the time it takes at -O1, and the build is most of the time
# this script takes), and runs the ctests labelled "sanitize": the
# unit tests but the exhaustive ones, and a representative set of multi-process suites
# (tests/CMakeLists.txt lists them). The torch and Python tests never run here: the interpreter
# and libtorch are not instrumented, and loading an AddressSanitizer library into them needs
# LD_PRELOAD games that test the games more than Tutti.
# A finding fails the test that made it, in the test process and in every forked rank: ASan and
# UBSan end the process with exit code 1 at the first report (UBSan compiled with
# -fno-sanitize-recover), TSan with 66 (halt_on_error=1), and a forked rank runs LeakSanitizer
# before its _exit (src/testing/child_leak_check.h), ending with 23 on a leak.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
builds="${TUTTI_SANITIZE_BUILD_ROOT:-$root}"
kind="${1:-asan}"
shift || true
jobs="${TUTTI_SANITIZE_JOBS:-$(nproc)}"

# What the runtimes do on a finding. Suppressions name third-party code only, each with why
# (tests/sanitize/*.supp).
export ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:strict_init_order=1:${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$root/tests/sanitize/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
# die_after_fork=0: the multi-process tests fork their ranks while the parent's bootstrap root
# thread (tuttiGetUniqueId) still runs, and each rank then starts threads of its own, which TSan
# by default refuses; the child only ever uses its own threads and the memory it was forked with.
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:die_after_fork=0:suppressions=$root/tests/sanitize/tsan.supp:${TSAN_OPTIONS:-}"

run() {  # run <build name> <-fsanitize list> [ctest arguments]
  local name="$1" sanitizers="$2"
  shift 2
  local build="$builds/build-$name"
  local start=$SECONDS
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O0 -g1" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -g1" \
    -DTUTTI_SANITIZE="$sanitizers" -DTUTTI_DISABLE_CUDA=ON -DTUTTI_TORCH=OFF \
    -DTUTTI_BUILD_PERF=OFF -DTUTTI_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$build" -j "$jobs" --target tutti_unit_tests tutti_mp_tests
  echo "sanitize.sh: build-$name built in $((SECONDS - start)) s"
  start=$SECONDS
  (cd "$build" && ctest -L sanitize --output-on-failure --timeout 900 "$@")
  echo "sanitize.sh: build-$name tests passed in $((SECONDS - start)) s"
}

case "$kind" in
  asan) run asan address,undefined "$@" ;;
  tsan) run tsan thread "$@" ;;
  all)
    run asan address,undefined "$@"
    run tsan thread "$@"
    ;;
  *)
    echo "usage: scripts/sanitize.sh [asan|tsan|all] [ctest arguments]" >&2
    exit 2
    ;;
esac
