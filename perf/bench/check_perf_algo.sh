#!/bin/sh
# Checks tutti-perf --algo and --hosts: the comparison table, its counts, --csv and --json, n/a
# columns, and the usage errors of --algo, --hosts and --calibrate.
# Usage: check_perf_algo.sh TUTTI_PERF WORK_DIR
perf="$1"
dir="$2"
. "$(dirname "$0")/check_lib.sh"
mkdir -p "$dir" || exit 1
cd "$dir" || exit 1
unset TUTTI_ALGO  # the model decides: every size gets a verdict

# 1. Three ranks posing as three hosts (tree crosses hosts), 5 sizes, every format.
out="$("$perf" all_reduce -np 3 --hosts 3 --algo ring,tree,auto -b 8 -e 64K -f 8 -n 3 -w 1 \
  --csv algo.csv --json algo.json 2>&1)" || fail "--algo run: $out"
printf '%s\n' "$out"
printf '%s\n' "$out" | grep -q "^# Tutti .* nranks 3 nhosts 3 " || fail "not 3 hosts"
printf '%s\n' "$out" | grep -q "Out of bounds values : 0 OK" || fail "no '0 OK' line"
printf '%s\n' "$out" | grep -Eq "^# model matched the measured winner at [0-5] of 5 sizes$" ||
  fail "no 'model matched ... of 5 sizes' line"
printf '%s\n' "$out" | grep -Eq "^# model's choice within 5% of the winner's time at [0-5] of 5 sizes" ||
  fail "no tolerant count"
# size count type redop, 3 x (time busbw), #wrong winner model match: 14 columns.
rows=$(printf '%s\n' "$out" | awk '!/^#/ && NF == 14 && $11 == 0 && ($12 == "ring" || $12 == "tree") &&
  ($14 == "yes" || $14 == "near" || $14 == "no" || $14 == "no*")' | wc -l)
[ "$rows" -eq 5 ] || fail "$rows table rows with a winner and a verdict, 5 expected"
[ "$(head -n 1 algo.csv)" = "collective,ranks,bytes,count,type,op,algorithm,time_us,p50_us,p99_us,algbw_GBps,busbw_GBps,wrong,winner,model,model_pinned,match" ] ||
  fail "CSV header: $(head -n 1 algo.csv)"
[ "$(awk -F, 'NR > 1 && NF == 17 && $2 == 3 && $8 > 0 && $13 == 0' algo.csv | wc -l)" -eq 15 ] ||
  fail "CSV: 15 measured lines of 17 fields expected"
for key in '"algo"' '"sizes_compared": 5' '"matched"' '"within_near_fraction"' '"model_pinned"'; do
  grep -q "$key" algo.json || fail "algo.json has no $key"
done

# 2. Algorithms that do not apply say n/a: rd (3 ranks, not a power of two) and tree for
# all_gather; ring is then the only candidate and the winner at every size.
out="$("$perf" all_gather -np 3 --algo ring,rd,tree -b 96 -e 96 -n 1 -w 0 2>&1)" ||
  fail "all_gather --algo: $out"
printf '%s\n' "$out"
printf '%s\n' "$out" | awk '!/^#/ && NF > 0' | grep -Eq "n/a +n/a +n/a +n/a +0 +ring" ||
  fail "no n/a columns with ring the winner"

# 3. A pinned choice is not compared.
out="$(TUTTI_ALGO=ring "$perf" all_reduce -np 2 --algo ring,auto -b 8 -e 64 -f 8 -n 1 -w 0 2>&1)" ||
  fail "pinned run: $out"
printf '%s\n' "$out" | grep -q "^# model matched the measured winner at 0 of 0 sizes" ||
  fail "pinned sizes compared: $out"
printf '%s\n' "$out" | grep -q "^# TUTTI_ALGO='ring' pinned the choice at 2 sizes" ||
  fail "no pinned line: $out"

# 4. Usage errors: a clear message and exit status 2, before or instead of a run.
expect_error 2 "unknown algorithm 'bogus'" "$perf" all_reduce --algo ring,bogus
expect_error 2 "ring is listed twice" "$perf" all_reduce --algo ring,tree,ring
expect_error 2 "--algo and --bound do not go together" "$perf" all_reduce --algo ring --bound
expect_error 2 "--hosts" "$perf" all_reduce --hosts 0
expect_error 2 "--hosts 4: more hosts than the 3 ranks" \
  "$perf" all_reduce -np 3 --hosts 4 -b 8 -e 8
expect_error 2 "--hosts 1: only for ranks tutti-perf forks itself" \
  env TUTTI_RANK=0 TUTTI_WORLD_SIZE=1 "$perf" all_reduce --hosts 1 -b 8 -e 8
expect_error 2 "all_reduce is a collective, not a cost file" "$perf" --calibrate all_reduce
expect_error 2 "drop --datatype" "$perf" --calibrate "$dir/c" -d half
expect_error 2 "drop collective 'all_gather'" "$perf" all_gather --calibrate "$dir/c"
expect_error 2 "--calibrate: no cost file" env -u TUTTI_COST_FILE -u XDG_CONFIG_HOME -u HOME \
  "$perf" --calibrate -np 2
expect_error 2 "run it once with all ranks on one host (--hosts 1)" \
  "$perf" --calibrate "$dir/c" -np 3 --hosts 2 -b 8 -e 8 -n 1 -w 0
[ ! -e "$dir/c" ] || fail "a refused --calibrate wrote $dir/c"
echo "PASS"
