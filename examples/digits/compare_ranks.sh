#!/bin/sh
# Trains the digits model with 1 rank and with 4 ranks and checks that both reach the same test
# accuracy within one percentage point, and a sensible one. With the gradient scaling in
# train_digits.c both runs take the same steps; only the rounding of float sums differs.
#
# usage: compare_ranks.sh TRAIN_DIGITS DATA_PATH [EPOCHS]
set -u
exe=$1
data=$2
epochs=${3:-20}
min_accuracy=85

# Runs one training, echoes its log, and prints the accuracy last (from "test accuracy: XX.XX%").
run() {
  log=$("$exe" "$data" --ranks "$1" --epochs "$epochs") || {
    printf '%s\n' "$log" >&2
    echo "train_digits with $1 ranks failed" >&2
    return 1
  }
  printf '%s\n' "$log" >&2
  printf '%s\n' "$log" | sed -n 's/^test accuracy: \([0-9.]*\)%.*/\1/p'
}

acc1=$(run 1) || exit 1
acc4=$(run 4) || exit 1
if [ -z "$acc1" ] || [ -z "$acc4" ]; then
  echo "no 'test accuracy:' line in the output" >&2
  exit 1
fi

echo "test accuracy: 1 rank $acc1%, 4 ranks $acc4%"
awk -v a="$acc1" -v b="$acc4" -v min="$min_accuracy" 'BEGIN {
  d = a - b; if (d < 0) d = -d
  if (d > 1.0) { print "FAIL: accuracies differ by " d " points (more than 1)"; exit 1 }
  if (a < min || b < min) { print "FAIL: accuracy below " min "%"; exit 1 }
  print "OK"
}'
