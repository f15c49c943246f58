#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into ${TUTTI_FUZZ_BUILD_DIR:-build-fuzz} (the whole
# library instrumented, with AddressSanitizer and UBSan) and runs each for a bounded time on its
# committed corpus (tests/fuzz/corpus/<name>): the ctests labelled "fuzz". CUDA and the PyTorch
# backend stay out (nvcc's host compiler is gcc, and neither parses outside bytes).
#   scripts/fuzz.sh [seconds per target, default 20] [ctest -R pattern]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${TUTTI_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${1:-20}"
pattern="${2:-fuzz_}"
cc="$(command -v clang-14 || command -v clang)"
cxx="$(command -v clang++-14 || command -v clang++)"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_CXX_COMPILER="$cxx" -DTUTTI_FUZZ=ON -DTUTTI_FUZZ_SECONDS="$seconds" \
  -DTUTTI_BUILD_PERF=OFF -DTUTTI_BUILD_EXAMPLES=OFF -DTUTTI_DISABLE_CUDA=ON -DTUTTI_TORCH=OFF \
  >/dev/null
targets=$(cd "$root/tests/fuzz" && ls fuzz_*.cc | sed 's/^fuzz_/tutti_fuzz_/; s/\.cc$//')
# shellcheck disable=SC2086
cmake --build "$build" -j "$(nproc)" --target $targets
cd "$build" && ctest -L fuzz -R "$pattern" --output-on-failure
