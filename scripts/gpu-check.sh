#!/usr/bin/env bash
# The checks that need a GPU, sized for a short lease: builds only the device kernels' test and
# benchmark, for the local GPU's architecture (default 90: H100/H200), then runs both. Logs go
# to $OUT when set (the device machine's result folder), else to the build folder.
#   scripts/gpu-check.sh [build-dir] [cuda-architectures]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-/tmp/tutti-gpu-build}
arch=${2:-90}
logs=${OUT:-$build}
mkdir -p "$build" "$logs"
export PATH=/usr/local/cuda/bin:$PATH
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CUDA_ARCHITECTURES="$arch" \
  >"$logs/cmake.log" 2>&1
cmake --build "$build" -j"$(nproc)" --target tutti_device_kernels_tests tutti-device-bench \
  >"$logs/build.log" 2>&1 || { tail -40 "$logs/build.log"; exit 1; }
status=0
"$build/tests/tutti_device_kernels_tests" 2>&1 | tee "$logs/device_kernels_test.log" | tail -25 ||
  status=1
"$build/perf/tutti-device-bench" 2>&1 | tee "$logs/device_bench.log" || status=1
exit $status
