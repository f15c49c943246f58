#!/usr/bin/env bash
# Runs a command against the private cluster that scripts/slurm-single-node.sh started (the
# CTest fixture slurm_cluster): sources its ENVFILE for SLURM_CONF, or exits 77 (the tests'
# SKIP_RETURN_CODE) with the reason when Slurm could not start on this machine.
#   under_slurm.sh ENVFILE COMMAND...
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 ENVFILE COMMAND..." >&2; exit 2; }
envfile=$1
shift
if [ ! -f "$envfile" ]; then
  echo "SKIP: no Slurm cluster: $envfile is missing (the slurm_cluster_start fixture did not run)"
  exit 77
fi
TUTTI_SLURM_UNAVAILABLE=
# shellcheck disable=SC1090
. "$envfile"
if [ -n "$TUTTI_SLURM_UNAVAILABLE" ]; then
  echo "SKIP: Slurm unavailable: $TUTTI_SLURM_UNAVAILABLE"
  exit 77
fi
export SLURM_CONF
exec "$@"
