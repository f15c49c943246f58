#!/usr/bin/env bash
# Every check that needs a GPU, in one command sized for a short lease, with one summary table at
# the end. Logs go to $OUT when set (the device machine's result folder), else to ./gpu-check-logs.
#
#   scripts/gpu-check.sh [--prebuilt DIR] [--build DIR] [--arch ARCHS] [--quick]
#
# --prebuilt DIR   run the binaries scripts/gpu-bundle.sh put in DIR (with the libraries they need
#                  in DIR/lib) instead of building: for a GPU machine without the build's
#                  dependencies (fmt, GoogleTest, hwloc).
# --build DIR      build there (default /tmp/tutti-gpu-build) for ARCHS (default 90: H100/H200).
# --quick          skip the all-reduce bandwidth sweeps.
# --sweeps-only    run only those sweeps (the second call of a lease split in two).
#
# Runs, on the one GPU: the device kernels' bit-identity tests and the flag-wait kernel test;
# compute-sanitizer (memcheck) on them; the kernels' bandwidth against the device-to-device copy
# (tutti-device-bench); the exact-result collectives on CUDA device buffers with 1, 2, 3, 4 and
# 8 ranks sharing the GPU over mapped peer memory (also with registered windows) and over shm
# and tcp staging; tutti-perf --device all_reduce sweeps with 2,
# 4 and 8 ranks (float32 and bfloat16).
set -uo pipefail
cd "$(dirname "$0")/.."
prebuilt=""
build=/tmp/tutti-gpu-build
arch=90
quick=0
sweepsOnly=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prebuilt) prebuilt=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --sweeps-only) sweepsOnly=1; shift ;;
    *) echo "gpu-check: unknown argument $1" >&2; exit 2 ;;
  esac
done
logs=${OUT:-$PWD/gpu-check-logs}
mkdir -p "$logs"
export PATH=/usr/local/cuda/bin:$PATH

if [ -n "$prebuilt" ]; then
  bin=$(cd "$prebuilt" && pwd)
  export LD_LIBRARY_PATH="$bin/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  kernels=$bin/tutti_device_kernels_tests
  bench=$bin/tutti-device-bench
  mp=$bin/tutti_mp_tests
  perf=$bin/tutti-perf
else
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$arch" \
    -DTUTTI_BUILD_EXAMPLES=OFF >"$logs/cmake.log" 2>&1 || { tail -30 "$logs/cmake.log"; exit 1; }
  cmake --build "$build" -j"$(nproc)" --target tutti_device_kernels_tests tutti-device-bench \
    tutti_mp_tests tutti-perf >"$logs/build.log" 2>&1 || { tail -40 "$logs/build.log"; exit 1; }
  kernels=$build/tests/tutti_device_kernels_tests
  bench=$build/perf/tutti-device-bench
  mp=$build/tests/tutti_mp_tests
  perf=$build/perf/tutti-perf
fi

summary=()
# Steps append to a few logs (kernels, collectives, perf): the device tool returns few files.
step() {  # step NAME TIMEOUT_S COMMAND...: runs it, logs it, records pass/fail and seconds
  local name=$1 limit=$2
  shift 2
  local log="$logs/${name%%_*}.log"
  local start=$SECONDS
  echo "==== $name: $*" >>"$log"
  timeout "$limit" "$@" >"$logs/.step.out" 2>&1
  local rc=$?
  cat "$logs/.step.out" >>"$log"
  local verdict=pass
  [ $rc -eq 0 ] || verdict="FAIL (rc $rc)"
  summary+=("$(printf '%-28s %-14s %5ss' "$name" "$verdict" $((SECONDS - start)))")
  echo "== $name: $verdict"
  tail -n 8 "$logs/.step.out"
  rm -f "$logs/.step.out"
}

gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm \
  --format=csv,noheader 2>&1 | head -1)
echo "GPU: $gpu"

if [ $sweepsOnly -eq 0 ]; then
  step kernels_test 90 "$kernels"
  step kernels_bench 60 "$bench"
  step kernels_sanitizer 90 compute-sanitizer --tool memcheck --error-exitcode 9 "$kernels" \
    --gtest_filter='DeviceKernelsCudaTest.ReduceKernelRejects*:DeviceKernelsCudaTest.WaitFlag*'
  step p2p_kernels_sanitizer 90 compute-sanitizer --tool memcheck --error-exitcode 9 "$kernels" \
    --gtest_filter='P2pKernelsCudaTest.*'
  export TUTTI_TEST_CUDA=1
  # The ranks share the GPU on one host: over mapped peer memory (the p2p path), then staged.
  step collectives_cuda 240 "$mp" --gtest_filter='CudaDevice/*'
  # The same with the buffers in registered windows (tuttiCommWindowRegister): read directly.
  step collectives_cuda_registered 240 "$mp" --gtest_filter='CudaRegistered/*'
  export TUTTI_P2P_DISABLE=1
  step collectives_cuda_staged 240 "$mp" --gtest_filter='CudaDevice/*'
  unset TUTTI_TEST_CUDA TUTTI_P2P_DISABLE
fi
export TUTTI_DEVICE=cuda
[ $sweepsOnly -eq 0 ] &&
  step perf_allreduce_2r_latency 60 "$perf" all_reduce --device -np 2 -b 8 -e 64K -f 2 -n 200 -w 20
if [ $quick -eq 0 ]; then
  for np in 2 4 8; do
    step "perf_allreduce_${np}r_float" 90 "$perf" all_reduce --device -np "$np" -b 1M -e 256M \
      -f 16 -n 5 -w 2
  done
  step perf_allreduce_4r_bf16 90 "$perf" all_reduce --device -np 4 -b 1M -e 256M -f 16 -n 5 \
    -w 2 -d bfloat16
fi

echo
echo "== summary (GPU: $gpu)" | tee -a "$logs/summary.txt"
printf '%s\n' "${summary[@]}" | tee -a "$logs/summary.txt"
grep -q FAIL "$logs/summary.txt" && exit 1
exit 0
