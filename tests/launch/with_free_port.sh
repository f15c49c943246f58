#!/usr/bin/env bash
# Runs COMMAND with every @PORT@ in its arguments replaced by a TCP port that is free now.
#   with_free_port.sh COMMAND...
set -euo pipefail
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
args=()
for a in "$@"; do
  args+=("${a//@PORT@/$port}")
done
exec "${args[@]}"
