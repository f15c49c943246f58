#!/usr/bin/env bash
# Builds and runs the whole test suite (unit, multi-process, tutti-perf and example tests).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${TUTTI_BUILD_DIR:-$root/build}"
"$root/scripts/build.sh"
cd "$build"
ctest --output-on-failure --timeout 900 "$@"
