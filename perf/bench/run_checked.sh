#!/bin/sh
# Runs a tutti-perf command; passes when it exits 0 and its table reports no wrong value.
out="$("$@" 2>&1)"
code=$?
printf '%s\n' "$out"
[ "$code" -eq 0 ] || { echo "exit status $code"; exit 1; }
printf '%s\n' "$out" | grep -q "Out of bounds values : 0 OK" || { echo "no '0 OK' line"; exit 1; }
