#!/bin/sh
# Runs one fuzz target for a bounded time on a scratch copy of its committed corpus (new inputs
# land in the scratch folder, never in the source tree). Exits non-zero when the target crashed,
# leaked or hung, keeping the scratch folder: libFuzzer leaves the input there as
# crash-*/leak-*/timeout-* and prints its path.
#   run_fuzzer.sh <target> <corpus folder> <seconds>
set -u
target=$1
corpus=$2
seconds=$3
scratch=$(mktemp -d "${TMPDIR:-/tmp}/tutti-fuzz.XXXXXX")
cd "$scratch" || exit 1
"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  "$scratch" "$corpus"
status=$?
if [ "$status" -eq 0 ]; then
  cd / && rm -rf "$scratch"
else
  echo "fuzzing failed (exit $status); inputs kept in $scratch" >&2
fi
exit "$status"
