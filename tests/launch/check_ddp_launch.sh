#!/usr/bin/env bash
# Runs examples/pytorch/train_digits_ddp.py under a launcher and checks that it ran as N ranks
# of one group, one per process, taking its rank from the launcher's variables, and trained.
#   check_ddp_launch.sh N RANK_VARS LAUNCHER-COMMAND...
#   (RANK_VARS: the variables the example names, e.g. SLURM_PROCID/SLURM_NTASKS)
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 NRANKS RANK_VARS COMMAND..." >&2; exit 2; }
nranks=$1
source=$2
shift 2
# shellcheck source=tests/launch/run_launcher.sh
. "$(dirname "$0")/run_launcher.sh"
run_launcher 150 "$@"
# "rank 2 of 4 (SLURM_PROCID/SLURM_NTASKS), pid 1234, tutti at vm:12345" from every rank. Found
# anywhere in the output, not per line: mpirun forwards the ranks' output in the pieces it reads,
# and one rank's line can end after another's (CI saw "...:36023rank 1 of 4 ...").
ranks_are "$nranks" "$(printf '%s\n' "$out" |
  grep -o "rank [0-9]* of $nranks ($source), pid [0-9]*," |
  sed "s|rank \([0-9]*\) of .*, pid \([0-9]*\),|\1 \2|" | sort -n)"
# "tutti x4: 92 steps, loss 2.2896 -> 0.2189, test accuracy 0.9091" from rank 0.
number='\([0-9.]*\)'
summary=$(printf '%s\n' "$out" | sed -n \
  "s/.*tutti x$nranks: [0-9]* steps, loss $number -> $number, test accuracy $number$/\1 \2 \3/p")
[ -n "$summary" ] || fail "no 'tutti x$nranks: ... test accuracy' line from rank 0"
read -r first last accuracy <<<"$summary"
awk -v f="$first" -v l="$last" -v a="$accuracy" 'BEGIN { exit !(l < 0.3 * f && a >= 0.85) }' ||
  fail "did not train: loss $first -> $last, test accuracy $accuracy (want < 30% and >= 0.85)"
echo "passed: $nranks ranks ($source), one per process; loss $first -> $last, accuracy $accuracy"
