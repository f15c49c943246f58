#!/bin/sh
# Checks tutti-perf --calibrate: the intra level (one host) and the inter level (every rank its
# own host) stored in one cost file, a repeated level replacing its entry, and communicators
# reading the file back. Usage: check_perf_calibrate.sh TUTTI_PERF WORK_DIR
perf="$1"
dir="$2"
. "$(dirname "$0")/check_lib.sh"
rm -rf "$dir" && mkdir -p "$dir" || exit 1
cd "$dir" || exit 1
unset TUTTI_ALGO TUTTI_COST_FILE
file="$dir/config/costs"  # its folder does not exist yet
# Short: 64 B to 1 MiB (ring all-reduce messages reach the 64 KiB rendezvous), 2 iterations.
calibrate() {
  out="$("$perf" --calibrate "$file" -np 2 -b 64 -e 1M -f 4 -n 2 -w 1 "$@" 2>&1)" ||
    fail "--calibrate $*: $out"
  printf '%s\n' "$out"
  printf '%s\n' "$out" | grep -q "^# rms relative error of the fit: [0-9.]*% over 24 measurements" ||
    fail "no rms line for 24 measurements (8 sizes x 3)"
  printf '%s\n' "$out" | grep -q "^# stored in $file:" || fail "not stored"
}
fields='alpha_us=[0-9.e+-]+ beta_ns_per_byte=[0-9.e+-]+ gamma_ns_per_byte=[0-9.e+-]+'
comment='# [0-9]{4}-[0-9]{2}-[0-9]{2} tutti-perf --calibrate .*; rms error [0-9.]+%$'

calibrate
printf '%s\n' "$out" | grep -q "^# Tutti .*--calibrate: nranks 2 nhosts 1: the intra level" ||
  fail "not the intra level"
[ "$(head -n 1 "$file")" = "tutti-costs 1" ] || fail "header: $(head -n 1 "$file")"
intra=$(grep -c '^cost ' "$file")
[ "$intra" -eq 1 ] || fail "$intra entries after one calibration"
grep -Eq "^cost transport=[a-z/]+ ranks=2 cpus=[0-9]+ $fields( rendezvous_bytes=[0-9]+ rendezvous_alpha_us=[0-9.e+-]+)? $comment" \
  "$file" || fail "entry: $(grep '^cost ' "$file")"

calibrate --hosts 2
printf '%s\n' "$out" | grep -q "^# Tutti .*--calibrate: nranks 2 nhosts 2: the inter level, transport=tcp" ||
  fail "not the inter level over tcp"
grep -Eq "^cost transport=tcp ranks=2 cpus=[0-9]+ $fields $comment" "$file" ||
  fail "no tcp entry: $(cat "$file")"
[ "$(grep -c '^cost ' "$file")" -eq 2 ] || fail "not two entries: $(cat "$file")"

calibrate --hosts 1
[ "$(grep -c '^cost ' "$file")" -eq 2 ] || fail "the intra entry was not replaced: $(cat "$file")"

# Communicators read it: the run names the file as its cost model's source.
out="$(TUTTI_COST_FILE="$file" "$perf" all_reduce -np 2 --algo ring,auto -b 8 -e 8 -n 1 -w 0 2>&1)" ||
  fail "run with the cost file: $out"
printf '%s\n' "$out" | grep "^# cost model"
printf '%s\n' "$out" | grep -q "^# cost model's source: .*cost file.*$file" ||
  fail "the communicator did not read $file"
echo "PASS"
