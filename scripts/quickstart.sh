#!/usr/bin/env bash
# Quick start: build, then all-reduce on 2 local ranks with result checking.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${TUTTI_BUILD_DIR:-$root/build}"
"$root/scripts/build.sh"
exec "$build/perf/tutti-perf" all_reduce -np 2 -b 8 -e 64M -f 4 -c 1
