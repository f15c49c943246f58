#!/usr/bin/env bash
# Runs tutti-perf under a launcher and checks that each of the N processes was one rank:
# rank 0's one table lists ranks 0..N-1 in N different processes, and no wrong value was found.
#   check_perf_launch.sh N LAUNCHER-COMMAND...   (e.g. 4 srun -n 4 tutti-perf all_reduce ...)
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 NRANKS COMMAND..." >&2; exit 2; }
nranks=$1
shift
# shellcheck source=tests/launch/run_launcher.sh
. "$(dirname "$0")/run_launcher.sh"
run_launcher 120 "$@"
# "#  Rank  2 Pid   1234 on         vm host memory": one line per rank, printed by rank 0.
ranks_are "$nranks" "$(printf '%s\n' "$out" |
  sed -n 's/^#  Rank *\([0-9]*\) Pid *\([0-9]*\) on .*/\1 \2/p')"
[ "$(printf '%s\n' "$out" | grep -c "Out of bounds values")" -eq 1 ] ||
  fail "not exactly one table: the processes did not form one communicator"
printf '%s\n' "$out" | grep -q "Out of bounds values : 0 OK" ||
  fail "no 'Out of bounds values : 0 OK' line"
echo "passed: $nranks ranks, one per process, results checked"
