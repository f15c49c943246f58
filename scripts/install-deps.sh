#!/usr/bin/env bash
# Installs the Debian packages Tutti builds and tests with, when run as root and any is missing.
# Required: compiler, CMake, fmt, GoogleTest, CLI11, nlohmann-json, zlib. Optional parts:
# OpenMPI (tutti-perf under mpirun, perf/compare), Gloo, iperf3 and gnuplot (perf/compare),
# hwloc, python3-sklearn (only for its digits data set, used by examples/digits), and
# python3-torch, libtorch-dev and pybind11-dev (the PyTorch backend tutti_torch, built against
# the torch of /usr/bin/python3), slurm-wlm and munge (srun: the launcher tests start a private
# single-node Slurm with scripts/slurm-single-node.sh; without them those tests skip; on a host
# with systemd, Debian enables its own munge and slurm services, which the tests do not use),
# valgrind (the valgrind_init_destroy_cycles tests; without it they are not registered), clang and
# libclang-rt-14-dev (libFuzzer and the sanitizer runtimes: scripts/fuzz.sh, which CI runs),
# nftables (random packet loss between emulated hosts: tc's netem is not in every kernel),
# libucx-dev (the ucx transport's headers; libucp is loaded at run time).
set -euo pipefail
packages=(g++ make cmake pkg-config libfmt-dev libgtest-dev libcli11-dev nlohmann-json3-dev
          zlib1g-dev openmpi-bin libopenmpi-dev libhwloc-dev python3-sklearn libgloo-dev iperf3
          gnuplot-nox python3-torch libtorch-dev pybind11-dev slurm-wlm munge valgrind clang
          libclang-rt-14-dev nftables libucx-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages (run as root to install): ${missing[*]}" >&2
  exit 0  # CMake says which optional parts are off; required ones fail there clearly
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
