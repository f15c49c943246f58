#!/usr/bin/env bash
# Builds the GPU checks' binaries here (Release, for ARCHS, default 90) and puts them, stripped,
# with the libraries they need that a CUDA image may lack, into DIR: what scripts/gpu-check.sh
# --prebuilt DIR runs on a GPU machine that cannot build Tutti itself.
#   scripts/gpu-bundle.sh DIR [ARCHS] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1
arch=${2:-90}
build=${3:-$PWD/gpubuild}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$arch" \
  -DTUTTI_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target tutti_mp_tests tutti_device_kernels_tests \
  tutti-device-bench tutti-perf >/dev/null
rm -rf "$out"
mkdir -p "$out/lib"
for f in tests/tutti_mp_tests tests/tutti_device_kernels_tests perf/tutti-device-bench \
         perf/tutti-perf; do
  strip -o "$out/$(basename "$f")" "$build/$f"
done
# Everything they link outside glibc, libstdc++ and libgcc (hwloc, udev, ...).
ldd "$out"/tutti* | awk '/=> \// {print $3}' | sort -u |
  grep -v -E '/(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s)\.so' |
  while read -r lib; do cp -L "$lib" "$out/lib/"; done
du -sh "$out"
