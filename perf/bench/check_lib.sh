# Shared by the check_perf_*.sh scripts (sourced): failing with a message, and usage errors.

fail() {
  echo "FAIL: $*"
  exit 1
}

# expect_error STATUS PATTERN COMMAND...: COMMAND must exit with STATUS ("nonzero": any but 0)
# and say PATTERN.
expect_error() {
  want="$1"
  pattern="$2"
  shift 2
  err="$("$@" 2>&1)"
  code=$?
  if [ "$want" = nonzero ]; then
    [ "$code" -ne 0 ] || fail "'$*' exited 0"
  else
    [ "$code" -eq "$want" ] || fail "'$*' exited $code, $want expected: $err"
  fi
  printf '%s\n' "$err" | grep -q -- "$pattern" || fail "'$*' said: $err"
  echo "ok: $* -> $(printf '%s\n' "$err" | grep -- "$pattern" | head -n 1)"
}
