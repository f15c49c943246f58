#!/usr/bin/env bash
# NIC rails over TCP, measured: two emulated hosts (network namespaces) joined by RAILS veth
# pairs, each rail limited to RATE in both directions by a token bucket filter (tc tbf), so that
# the wire, not the CPU, is the limit. For each rail count from 1 to RAILS, one 2-rank tutti-perf
# (one rank per host, TUTTI_TRANSPORT=tcp, TUTTI_TCP_RAILS=n) and iperf3 on each of the n rails
# at once (the physical limit of those rails) run in turn, ROUNDS times interleaved.
#
# Usage (root): perf/rails/rails-bench.sh [tutti-perf] [OUT_DIR]
#   RATE=500mbit RAILS=2 ROUNDS=3 MIN=1M MAX=64M COLL=all_reduce
#   SUMMARY_ONLY=1: print the summary of the files already in OUT_DIR, measuring nothing
# Writes OUT_DIR/rails<n>-round<k>.txt (tutti-perf's table) and OUT_DIR/iperf-rails<n>-round<k>.txt
# and prints a summary: busbw at the largest size, and iperf3's sum, per rail count.
set -euo pipefail

PERF=${1:-build/perf/tutti-perf}
OUT=${2:-/tmp/rails-bench}
RATE=${RATE:-500mbit}
RAILS=${RAILS:-2}
ROUNDS=${ROUNDS:-3}
MIN=${MIN:-1M}
MAX=${MAX:-64M}
COLL=${COLL:-all_reduce}
NS=tutti-rb-$$

[[ $(id -u) == 0 ]] || { echo "rails-bench: needs root (namespaces, veth, tc)" >&2; exit 2; }
[[ -x $PERF ]] || { echo "rails-bench: no tutti-perf at $PERF" >&2; exit 2; }
command -v iperf3 >/dev/null || { echo "rails-bench: needs iperf3" >&2; exit 2; }
mkdir -p "$OUT"

cleanup() { ip netns del "$NS-h0" 2>/dev/null || true; ip netns del "$NS-h1" 2>/dev/null || true; }
trap cleanup EXIT

if [[ ${SUMMARY_ONLY:-0} == 1 ]]; then ROUNDS_RUN=0; else ROUNDS_RUN=$ROUNDS; fi
ip netns add "$NS-h0"
ip netns add "$NS-h1"
for h in 0 1; do ip -n "$NS-h$h" link set lo up; done
for ((r = 0; r < RAILS; r++)); do
  ip -n "$NS-h0" link add "rb$r" type veth peer name "rb$r" netns "$NS-h1"
  for h in 0 1; do
    ip -n "$NS-h$h" addr add "10.214.$r.$((h + 1))/24" dev "rb$r"
    ip -n "$NS-h$h" link set "rb$r" up
    tc -n "$NS-h$h" qdisc replace dev "rb$r" root tbf rate "$RATE" burst 256kb latency 50ms
  done
done

# One tutti-perf rank per host: TUTTI_HOSTID makes them two hosts, rank 0 is the bootstrap root.
run_perf() {
  local rails=$1 file=$2 port=$((20000 + RANDOM % 20000))
  for h in 1 0; do
    ip netns exec "$NS-h$h" env TUTTI_RANK=$h TUTTI_WORLD_SIZE=2 \
      TUTTI_COMM_ID="10.214.0.1:$port" TUTTI_HOSTID="rails-host$h" TUTTI_TRANSPORT=tcp \
      TUTTI_SOCKET_IFNAME=rb TUTTI_TCP_RAILS="$rails" \
      "$PERF" "$COLL" -b "$MIN" -e "$MAX" -f 4 -n 5 -w 2 >"$file.h$h" 2>&1 &
  done
  wait
  mv "$file.h0" "$file"
  rm -f "$file.h1"
}

# iperf3 on each of the first n rails at once, host 0 to host 1; prints the sum in Gbit/s.
run_iperf() {
  local rails=$1 file=$2 pids=()
  : >"$file"
  for ((r = 0; r < rails; r++)); do
    ip netns exec "$NS-h1" iperf3 -s -1 -B "10.214.$r.2" -p $((5201 + r)) >/dev/null 2>&1 &
    pids+=($!)
  done
  sleep 0.5
  for ((r = 0; r < rails; r++)); do
    ip netns exec "$NS-h0" iperf3 -c "10.214.$r.2" -B "10.214.$r.1" -p $((5201 + r)) -t 5 -J \
      >"$file.r$r" &
  done
  wait
  local sum=0
  for ((r = 0; r < rails; r++)); do
    local bps
    bps=$(python3 -c "import json,sys; print(json.load(open('$file.r$r'))['end']['sum_received']['bits_per_second'])")
    echo "rail $r: $bps bit/s" >>"$file"
    sum=$(python3 -c "print($sum + $bps)")
    rm -f "$file.r$r"
  done
  echo "sum: $sum bit/s" >>"$file"
}

for ((k = 1; k <= ROUNDS_RUN; k++)); do
  for ((n = 1; n <= RAILS; n++)); do
    run_perf "$n" "$OUT/rails$n-round$k.txt"
    run_iperf "$n" "$OUT/iperf-rails$n-round$k.txt"
  done
done

# Summary: at the largest size, tutti-perf's out-of-place busbw (GB/s, from the size and time
# columns of its table, with nccl-tests' factor for 2 ranks: 1 for all_reduce, 1/2 for
# all_gather and reduce_scatter) and iperf3's sum over the same rails (GB/s).
factor=0.5
[[ $COLL == all_reduce ]] && factor=1
for ((n = 1; n <= RAILS; n++)); do
  for ((k = 1; k <= ROUNDS; k++)); do
    busbw=$(awk -v f="$factor" '/^ *[0-9]+ +[0-9]+ +[a-z0-9]+ +[a-z]+ +-?[0-9]+ /{last = f * $1 / $6 / 1e3}
      END{printf "%.4f", last}' "$OUT/rails$n-round$k.txt")
    iperf=$(awk '/^sum:/{printf "%.4f", $2 / 8e9}' "$OUT/iperf-rails$n-round$k.txt")
    echo "rails $n round $k: $COLL busbw $busbw GB/s at $MAX; iperf3 on those rails $iperf GB/s"
  done
done
