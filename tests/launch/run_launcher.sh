# shellcheck shell=bash
# Sourced by the check_*_launch.sh scripts: run_launcher SECONDS COMMAND... runs the launcher
# command with a time limit, prints its output, how long it took and its exit status, leaves the
# output in $out and fails when the status is not 0; fail says why a check failed and exits 1.
fail() {
  echo "FAILED: $*"
  exit 1
}

run_launcher() {
  local seconds=$1 start=$SECONDS code=0
  shift
  out=$(timeout "$seconds" "$@" 2>&1) || code=$?
  printf '%s\n' "$out"
  echo "--- $((SECONDS - start)) s, exit status $code"
  [ "$code" -ne 124 ] || fail "the launcher did not finish in $seconds s"
  [ "$code" -eq 0 ] || fail "the launcher exited with $code"
}

# ranks_are N "RANK PID" lines: the ranks are 0..N-1, each in a process of its own.
ranks_are() {
  local nranks=$1 ranks=$2
  local got want
  got=$(printf '%s\n' "$ranks" | cut -d' ' -f1 | tr '\n' ' ')
  want="$(seq -s ' ' 0 $((nranks - 1))) "
  [ "$got" = "$want" ] ||
    fail "expected one line for each of ranks 0..$((nranks - 1)), got ranks: $got"
  [ "$(printf '%s\n' "$ranks" | cut -d' ' -f2 | sort -u | grep -c .)" -eq "$nranks" ] ||
    fail "the $nranks ranks do not run in $nranks different processes"
}
