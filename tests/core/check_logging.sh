#!/bin/sh
# TUTTI_DEBUG=INFO with TUTTI_DEBUG_SUBSYS=INIT,BOOTSTRAP writes INFO lines of those subsystems,
# WARN lines always, nothing of excluded subsystems, into the TUTTI_DEBUG_FILE path with %h and
# %p expanded; without TUTTI_DEBUG nothing is written.
set -eu
probe="$1"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
TUTTI_DEBUG=INFO TUTTI_DEBUG_SUBSYS=INIT,BOOTSTRAP TUTTI_DEBUG_FILE="$dir/tutti.%h.%p.log" "$probe"
log="$(ls "$dir"/tutti."$(hostname | cut -d. -f1)".*.log)"
cat "$log"
grep -q "TUTTI INFO bootstrap" "$log"
grep -q "TUTTI INFO comm .* rank 0 nranks 1" "$log"
grep -q "TUTTI WARN .*datatype 99" "$log"
if grep -q "tcp:" "$log"; then echo "NET lines despite TUTTI_DEBUG_SUBSYS=INIT,BOOTSTRAP"; exit 1; fi
out="$("$probe" 2>&1)"
test -z "$out"
echo "logging ok"
