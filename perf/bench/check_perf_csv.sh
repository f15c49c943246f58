#!/bin/sh
# Checks tutti-perf's --csv, --json, p50/p99 and --bound output, and its errors for a bad --csv
# path or --mem-gbps. Usage: check_perf_csv.sh TUTTI_PERF WORK_DIR
perf="$1"
dir="$2"
. "$(dirname "$0")/check_lib.sh"
mkdir -p "$dir" || exit 1
cd "$dir" || exit 1
header="collective,ranks,bytes,count,type,op,placement,time_us,p50_us,p99_us,algbw_GBps,busbw_GBps,bound_us,bound_fraction,wrong"

# check_csv FILE COLLECTIVE NRANKS MINBYTES MAXBYTES FACTOR TYPESIZE MEM_GBPS
# MEM_GBPS "-": the bound is measured; bound_us / bytes must then be one constant.
check_csv() {
  [ "$(head -n 1 "$1")" = "$header" ] || fail "$1: header is '$(head -n 1 "$1")'"
  awk -F, -v coll="$2" -v n="$3" -v lo="$4" -v hi="$5" -v f="$6" -v esize="$7" -v gbps="$8" '
    function bad(msg) { printf "FAIL: line %d: %s: %s\n", NR, msg, $0; failed = 1 }
    function near(a, b) { d = a - b; if (d < 0) d = -d; m = (a < 0 ? -a : a); if (b > m) m = b;
                          return d <= 1e-4 * m + 1e-12 }
    NR == 1 { next }
    {
      if (NF != 15) { bad("15 fields expected"); next }
      rows++
      seen[$3 "," $7]++
      if ($1 != coll || $2 != n) bad("collective or ranks")
      if ($7 != "out" && $7 != "in") bad("placement")
      # nccl-tests size: all_gather the receive size, reduce_scatter the send size.
      if ($4 * esize != $3) bad("count x element size != bytes")
      if (!($8 > 0 && $9 > 0 && $10 > 0)) bad("times must be positive")
      if ($9 > $10) bad("p50 > p99")
      # With -a 1 and 5 iterations, p99 is the slowest iteration (max over ranks): the mean of
      # every rank is at most that.
      if ($8 > $10 * (1 + 1e-5)) bad("mean > p99 = max")
      if (!near($11, $3 / ($8 * 1e3))) bad("algbw != bytes / time")
      if ($15 != "0") bad("wrong values")
      if ($13 == "" || $14 == "") { bad("no bound"); next }
      if (!near($14, $13 / $8)) bad("bound_fraction != bound_us / time_us")
      # All ranks on this host: bound = n x bytes per rank / bandwidth.
      if (coll == "all_reduce") per = (5 * n - 3) / n * $3
      else if (coll == "all_gather") per = 2 * $3
      else per = (3 * n - 1) / n * $3
      if (gbps != "-") {
        if (!near($13, n * per / (gbps * 1e9) * 1e6)) bad("bound_us != formula")
      } else {
        ratio = $13 / per
        if (!(ratio > 0)) bad("bound_us not positive")
        if (first == "") first = ratio
        else if (!near(ratio, first)) bad("bound_us not proportional to bytes per rank")
      }
    }
    END {
      sizes = 0
      for (s = lo; s <= hi; s *= f) {
        bytes = int(s / (n * esize)) * n * esize
        if (coll == "all_reduce") bytes = int(s / esize) * esize
        sizes++
        if (seen[bytes ",out"] != 1 || seen[bytes ",in"] != 1) {
          printf "FAIL: size %d: %d out, %d in rows\n", bytes, seen[bytes ",out"], seen[bytes ",in"]
          failed = 1
        }
      }
      if (rows != 2 * sizes) { printf "FAIL: %d rows, %d sizes\n", rows, sizes; failed = 1 }
      exit failed
    }' "$1" || fail "$1"
}

# 1. The brief's command: CSV, JSON and the table.
out="$("$perf" all_reduce -np 2 -b 8 -e 64K -f 8 -n 5 -w 1 --csv ar.csv --bound --mem-gbps 10 \
  --json ar.json 2>&1)" || fail "all_reduce run: $out"
printf '%s\n' "$out"
check_csv ar.csv all_reduce 2 8 65536 8 4 10
printf '%s\n' "$out" | grep -q "Out of bounds values : 0 OK" || fail "no '0 OK' line"
printf '%s\n' "$out" | grep -q "^# Memory bandwidth 10.00 GB/s .*--mem-gbps" ||
  fail "no bandwidth line"
printf '%s\n' "$out" | grep -q "^# bound = .* = 2 x (5n-3)/n x size / 10.00 GB/s with n = 2 " ||
  fail "no formula line"
printf '%s\n' "$out" | grep -q "^# .*time.*p50 *p99 *p50 *p99 *bound *frac *frac$" ||
  fail "no p50/p99/bound column names"
# Every table row has 13 nccl-tests columns, 4 percentiles and 3 bound columns.
rows=$(printf '%s\n' "$out" | awk '!/^#/ && NF == 20' | wc -l)
[ "$rows" -eq 5 ] || fail "$rows table rows of 20 columns, 5 expected"
for key in p50_us p99_us bound_us bound_fraction mem_gbps; do
  grep -q "\"$key\"" ar.json || fail "ar.json has no $key"
done

# 2. '-': the CSV alone on stdout, the table on stderr; all_gather's formula.
"$perf" all_gather -np 2 -b 8 -e 512 -f 8 -n 5 -w 0 --csv - --mem-gbps 5 >ag.csv 2>ag.err ||
  fail "all_gather run: $(cat ag.err)"
check_csv ag.csv all_gather 2 8 512 8 4 5
grep -q "Out of bounds values : 0 OK" ag.err || fail "no table on stderr"

# 3. reduce_scatter on 3 ranks with a measured bandwidth.
out="$("$perf" reduce_scatter -np 3 -b 96 -e 6K -f 8 -n 5 -w 0 --csv rs.csv --bound 2>&1)" ||
  fail "reduce_scatter run: $out"
check_csv rs.csv reduce_scatter 3 96 6144 8 4 -
printf '%s\n' "$out" | grep -Eq "^# Memory bandwidth [0-9]+\.[0-9]+ GB/s .* memcpy runs of 64 MiB per thread on [0-9]+ threads" ||
  fail "no measured bandwidth line: $out"
printf '%s\n' "$out" | grep -q "^# bound = .* = 3 x (3n-1)/n x size / .* with n = 3 " ||
  fail "no formula line"

# 4. Errors: clear messages and a non-zero exit.
expect_error nonzero "--csv $dir/no/such/dir/x.csv: cannot open" "$perf" all_reduce -np 2 -b 8 -e 8 -n 1 -w 0 \
  --csv "$dir/no/such/dir/x.csv"
expect_error nonzero "mem-gbps" "$perf" all_reduce -np 2 -b 8 -e 8 --mem-gbps 0
expect_error nonzero "mem-gbps" "$perf" all_reduce -np 2 -b 8 -e 8 --mem-gbps -3
expect_error nonzero "mem-gbps" "$perf" all_reduce -np 2 -b 8 -e 8 --mem-gbps fast
expect_error nonzero "mem-gbps" "$perf" all_reduce -np 2 -b 8 -e 8 --mem-gbps inf
echo "PASS"
