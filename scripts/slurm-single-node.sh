#!/usr/bin/env bash
# A private single-node Slurm for the launcher tests (tests/launch): munged, slurmctld and slurmd
# of Debian's slurm-wlm and munge, all in one temporary directory with their own key, sockets,
# state, logs and ports, touching nothing system-wide.
#
#   slurm-single-node.sh start ENVFILE   start it; ENVFILE gets SLURM_CONF=... and
#                                         TUTTI_SLURM_DIR=... (source it, then srun and sinfo
#                                         use this cluster), or, when Slurm cannot start here,
#                                         TUTTI_SLURM_UNAVAILABLE='why' (exit 0: the tests skip
#                                         with that reason)
#   slurm-single-node.sh status ENVFILE  sinfo of that cluster
#   slurm-single-node.sh stop ENVFILE    stop the daemons, remove the directory and ENVFILE
#
# TUTTI_SLURM_REQUIRED=1 turns "cannot start" into a failure (exit 1). TUTTI_SLURM_PORT sets
# slurmctld's port (slurmd takes the next); by default both are derived from ENVFILE's path so
# that clusters of several build trees do not collide. TUTTI_SLURM_CPUS: the CPUs the node
# declares (default 8, at least nproc), so that 4 tasks fit on a 2-core machine.
set -euo pipefail

usage() {
  echo "usage: $0 start|status|stop ENVFILE" >&2
  exit 2
}
[ $# -eq 2 ] || usage
action=$1
envfile=$2
case "$envfile" in
  /*) ;;
  *) envfile="$PWD/$envfile" ;;
esac

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# The pid in pid file $1 when that process runs and is the daemon $2 (not a process that got a
# stale file's pid); fails otherwise.
daemon_pid() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
  echo "$pid"
}

# Stops the daemons of the cluster in $1 (those of their pid files that run): SIGTERM to all,
# then up to 10 s for each to end before SIGKILL; removes the directory.
stop_cluster() {
  local dir=$1 name pid pids=()
  [ -d "$dir" ] || return 0
  for name in slurmd slurmctld munged; do
    pid=$(daemon_pid "$dir/$name.pid" "$name") || continue
    kill "$pid" 2>/dev/null && pids+=("$pid")
  done
  for pid in "${pids[@]}"; do
    wait_for 10 sh -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$dir"
}

# Says why Slurm cannot run here: writes the reason to ENVFILE (the tests skip with it), stops
# what was started, exits 0, or 1 under TUTTI_SLURM_REQUIRED=1.
unavailable() {
  local reason=$1
  local dir=${2:-}
  if [ -n "$dir" ]; then
    for log in munged.log slurmctld.log slurmd.log; do
      if [ -s "$dir/$log" ]; then
        echo "--- last lines of $log:" >&2
        tail -n 15 "$dir/$log" >&2
      fi
    done
    stop_cluster "$dir"
  fi
  printf "TUTTI_SLURM_UNAVAILABLE=%q\n" "$reason" >"$envfile"
  echo "slurm-single-node: Slurm unavailable: $reason" >&2
  if [ "${TUTTI_SLURM_REQUIRED:-0}" = 1 ]; then
    exit 1
  fi
  exit 0
}

# The state recorded in ENVFILE, or nothing.
load_env() {
  TUTTI_SLURM_DIR=
  TUTTI_SLURM_UNAVAILABLE=
  SLURM_CONF=
  if [ -f "$envfile" ]; then
    # shellcheck disable=SC1090
    . "$envfile"
  fi
}

# The first port pair from $1 on (moving by 2 in 7000-11999) where ss sees nothing listening;
# $1 itself under TUTTI_SLURM_PORT or without ss.
free_port_pair() {
  local port=$1 tries=0
  if [ -n "${TUTTI_SLURM_PORT:-}" ] || ! command -v ss >/dev/null 2>&1; then
    echo "$port"
    return
  fi
  while [ "$tries" -lt 50 ] &&
      [ -n "$(ss -Hltn "( sport = :$port or sport = :$((port + 1)) )")" ]; do
    tries=$((tries + 1))
    port=$((7000 + (port - 7000 + 2) % 5000))
  done
  echo "$port"
}

# Writes DIR/slurm.conf for slurmctld's port $2 (slurmd: $2 + 1) and the checksum $3.
write_conf() {
  local dir=$1 port=$2 sum=$3
  cat >"$dir/slurm.conf" <<EOF
# Written by scripts/slurm-single-node.sh: one node, one partition, nothing shared.
ClusterName=tutti
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.socket
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$dir/plugstack.conf
# No cgroups: processes tracked through /proc, tasks not bound.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# The node declares $cpus CPUs whatever the machine has, so that 4 tasks fit on 2 cores.
SlurmdParameters=config_overrides
ReturnToService=2
FirstJobId=$((1 + (sum % 100) * 3))
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=10
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=tutti Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
  : >"$dir/plugstack.conf"
}

# Kills the daemon $2 of pid file $1 if it runs, waiting up to 10 s before SIGKILL.
stop_pidfile() {
  local pid
  pid=$(daemon_pid "$1" "$2") || return 0
  kill "$pid" 2>/dev/null || return 0
  wait_for 10 sh -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  rm -f "$1"
}

# Ready: the node is idle (slurmd registered, slurmctld accepted it); or slurmctld is gone.
node_idle_or_ctld_gone() {
  if [ -s "$1/slurmctld.pid" ] && ! kill -0 "$(cat "$1/slurmctld.pid")" 2>/dev/null; then
    return 0
  fi
  timeout 10 sinfo -h -N -o %t 2>/dev/null | grep -qx idle
}

# Starts slurmctld and slurmd on DIR/slurm.conf and waits up to 60 s for the node to be idle;
# on failure sets why and returns 1.
start_slurm_daemons() {
  local dir=$1
  if ! "$slurmctld" -f "$SLURM_CONF" -i >>"$dir/slurmctld.log" 2>&1; then
    why="slurmctld did not start"
    return 1
  fi
  if ! "$slurmd" -f "$SLURM_CONF" >>"$dir/slurmd.log" 2>&1; then
    why="slurmd did not start"
    return 1
  fi
  if ! wait_for 60 node_idle_or_ctld_gone "$dir"; then
    why="the node did not become idle in 60 s (sinfo: $(timeout 10 sinfo -h -N -o %t 2>&1 |
      head -n 1))"
    return 1
  fi
  if ! kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
    why="slurmctld exited: $(grep -m 1 -E 'fatal|error' "$dir/slurmctld.log" || true)"
    return 1
  fi
}

start() {
  load_env
  if [ -n "$TUTTI_SLURM_DIR" ] && [ -d "$TUTTI_SLURM_DIR" ]; then
    # Left by a run that ended before its stop (ctest interrupted): this ENVFILE's own cluster.
    echo "slurm-single-node: stopping the cluster $envfile still names ($TUTTI_SLURM_DIR)" >&2
    stop_cluster "$TUTTI_SLURM_DIR"
  fi
  mkdir -p "$(dirname "$envfile")"
  local tool
  for tool in munged slurmctld slurmd srun sinfo; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
      unavailable "$tool not found (Debian: apt-get install slurm-wlm munge)"
    fi
  done
  local munged=/usr/sbin/munged slurmctld=/usr/sbin/slurmctld slurmd=/usr/sbin/slurmd
  command -v munged >/dev/null 2>&1 && munged=$(command -v munged)
  command -v slurmctld >/dev/null 2>&1 && slurmctld=$(command -v slurmctld)
  command -v slurmd >/dev/null 2>&1 && slurmd=$(command -v slurmd)
  if [ "$(id -u)" -ne 0 ]; then
    unavailable "slurmd must run as root to start tasks (this is uid $(id -u))"
  fi

  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/tutti-slurm.XXXXXX")
  chmod 700 "$dir"
  mkdir -p "$dir/ctld" "$dir/spool"

  # munge: its own key, socket, pid, seed and log.
  dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 status=none
  chmod 600 "$dir/munge.key"
  if ! "$munged" --force --socket="$dir/munge.socket" --key-file="$dir/munge.key" \
      --pid-file="$dir/munged.pid" --seed-file="$dir/munged.seed" \
      --log-file="$dir/munged.log" 2>"$dir/munged.err"; then
    cat "$dir/munged.err" >>"$dir/munged.log"
    unavailable "munged did not start" "$dir"
  fi
  if ! wait_for 10 test -S "$dir/munge.socket"; then
    unavailable "munged made no socket in 10 s" "$dir"
  fi

  # Ports: TUTTI_SLURM_PORT, else 7000-11999 from a checksum of ENVFILE's path, moving on
  # while ss sees something listening there. Below Linux's ephemeral ports (32768-60999), where
  # an outgoing connection of any process can hold the port (slurmctld then cannot bind), and
  # below tutti-perf's srun rendezvous ports (12000-31999); above Slurm's own 6817-6819.
  # The first job id comes from the checksum too: tutti-perf and the PyTorch example derive
  # their rendezvous port from the job id (64 ports apart for consecutive ids), so clusters of
  # two build trees running at once should not number their jobs alike: each gets 3 ids of its
  # own of 300 (the tests run 2 jobs).
  local sum port attempt
  sum=$(printf '%s' "$envfile" | cksum | cut -d' ' -f1)
  port=${TUTTI_SLURM_PORT:-$((7000 + 2 * (sum % 2500)))}
  host=$(hostname -s)
  cpus=${TUTTI_SLURM_CPUS:-8}
  [ "$cpus" -ge "$(nproc)" ] || cpus=$(nproc)
  export SLURM_CONF="$dir/slurm.conf"
  # Up to 3 tries: a port that something took between the check and slurmctld's bind moves on.
  for attempt in 1 2 3; do
    port=$(free_port_pair "$port")
    write_conf "$dir" "$port" "$sum"
    start_slurm_daemons "$dir" && break
    if [ "$attempt" -lt 3 ] && [ -z "${TUTTI_SLURM_PORT:-}" ] &&
        grep -q "Address already in use" "$dir/slurmctld.log" "$dir/slurmd.log"; then
      echo "slurm-single-node: port $port or $((port + 1)) taken; trying the next pair" >&2
      stop_pidfile "$dir/slurmd.pid" slurmd
      stop_pidfile "$dir/slurmctld.pid" slurmctld
      port=$((7000 + (port - 7000 + 2) % 5000))
      continue
    fi
    unavailable "$why" "$dir"
  done
  {
    printf "TUTTI_SLURM_DIR=%q\n" "$dir"
    printf "SLURM_CONF=%q\n" "$SLURM_CONF"
    echo "export SLURM_CONF"
  } >"$envfile"
  echo "slurm-single-node: up in $dir (node $host, $cpus CPUs, slurmctld port $port)"
  sinfo
}

status() {
  load_env
  if [ -n "$TUTTI_SLURM_UNAVAILABLE" ]; then
    echo "unavailable: $TUTTI_SLURM_UNAVAILABLE"
    return 0
  fi
  if [ -z "$TUTTI_SLURM_DIR" ] || [ ! -d "$TUTTI_SLURM_DIR" ]; then
    echo "not running"
    return 1
  fi
  export SLURM_CONF
  timeout 20 sinfo
}

stop() {
  load_env
  if [ -n "$TUTTI_SLURM_DIR" ]; then
    stop_cluster "$TUTTI_SLURM_DIR"
  fi
  rm -f "$envfile"
}

case "$action" in
  start) start ;;
  status) status ;;
  stop) stop ;;
  *) usage ;;
esac
