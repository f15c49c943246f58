#!/bin/sh
# Runs the allreduce example on 3 local ranks with the rules tuner forcing rd for every
# all-reduce, and checks both the result (the example's exit status: every rank verifies its
# sums) and that the log says the tuner changed the cost model's choice (ring for 4 MiB).
#   check_rules_tuner.sh ALLREDUCE_EXAMPLE RULES_TUNER_LIBRARY
set -u
example="$1"
plugin="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf '# collective from-bytes to-bytes algorithm\nallreduce 0 - rd\n' > "$work/rules"
TUTTI_TUNER_PLUGIN="$plugin" TUTTI_TUNER_RULES="$work/rules" TUTTI_DEBUG=INFO \
  TUTTI_DEBUG_SUBSYS=COLL "$example" 3 > "$work/log" 2>&1
status=$?
cat "$work/log"
if [ "$status" -ne 0 ]; then
  echo "check_rules_tuner: allreduce failed (exit status $status)"
  exit 1
fi
if ! grep -q "rd (tuner 'rules' changed the model's ring" "$work/log"; then
  echo "check_rules_tuner: the log does not show the tuner changing ring to rd"
  exit 1
fi
echo "check_rules_tuner: ok"
