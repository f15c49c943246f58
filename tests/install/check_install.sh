#!/bin/sh
# Installs the build into a temporary prefix and uses it as an outside project would: a C
# program linked by hand (-I/-L/-ltutti), pkg-config, and find_package(Tutti) from CMake.
set -eu
build="$1"
source_dir="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir="$(dirname "$(find "$prefix" -name libtutti.so | head -n 1)")"
test -f "$prefix/include/tutti/tutti.h"
test -f "$libdir/libtutti.a"
test -f "$libdir/pkgconfig/tutti.pc"
test -f "$libdir/cmake/Tutti/TuttiConfig.cmake"

cc -std=c99 -Wall -I"$prefix/include" "$source_dir/tests/install/consumer.c" -L"$libdir" \
   -ltutti -Wl,-rpath,"$libdir" -o "$work/by-hand"
"$work/by-hand"

flags="$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs tutti)"
cc -std=c99 "$source_dir/tests/install/consumer.c" $flags -Wl,-rpath,"$libdir" \
   -o "$work/by-pkg-config"
"$work/by-pkg-config"

cmake -S "$source_dir/tests/install/cmake_consumer" -B "$work/cmake" \
      -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
"$work/cmake/consumer"

# The PyTorch backend, when the build has it: the installed package alone (on PYTHONPATH, Tutti
# linked in) runs a one-rank group.
if [ -d "$build/tutti_torch" ]; then
  pydir="$libdir/tutti/python"
  test -f "$pydir/tutti_torch/__init__.py"
  PYTHONPATH="$pydir" /usr/bin/python3 - "$work/store" <<'PY'
import sys
import torch
import torch.distributed as dist
import tutti_torch
assert tutti_torch.__file__.startswith(sys.argv[1].rsplit("/", 1)[0]), tutti_torch.__file__
dist.init_process_group("tutti", init_method="file://" + sys.argv[1], rank=0, world_size=1)
t = torch.arange(5, dtype=torch.float32)
dist.all_reduce(t)
assert torch.equal(t, torch.arange(5, dtype=torch.float32)), t
dist.destroy_process_group()
PY
fi
