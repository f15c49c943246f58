#!/bin/sh
# The build refuses upward includes: with a layer's include view, a header of that layer or below
# compiles and a header of a layer above does not. Usage: check_layers.sh CXX BUILD_DIR SRC_DIR
set -u
cxx="$1"; build="$2"; src="$3"
views="$build/layer-views"
probe="$src/tests/layers/upward_include.cc"
fails=0
try() {  # expect(ok|fail) layer header
  if "$cxx" -std=c++17 -fsyntax-only -I "$src/include" -I "$views/$2" \
       -DTUTTI_PROBE_HEADER="\"$3\"" "$probe" >/dev/null 2>&1; then got=ok; else got=fail; fi
  if [ "$got" = "$1" ]; then echo "ok: layer $2 including $3 -> $got"
  else echo "WRONG: layer $2 including $3 -> $got (expected $1)"; fails=$((fails + 1)); fi
}
try ok   base base/status.h
try fail base topo/topology.h
try fail base core/comm.h
try ok   topo topo/topology.h
try fail topo algo/plan.h
try ok   algo algo/plan.h
try fail algo exec/executor.h
try fail algo core/comm.h
try ok   transport transports/transport.h
try fail transport transports/tcp/tcp_connection.h
try fail transport algo/plan.h
try ok   transport_tcp transports/tcp/tcp_connection.h
try fail transport_tcp transports/shm/shm_connection.h
try fail transport_shm transports/tcp/tcp_connection.h
try ok   exec exec/executor.h
try fail exec core/comm.h
try fail exec transports/tcp/tcp_connection.h
try ok   device device/device_runtime.h
try fail device core/comm.h
try fail exec device/device_runtime.h
try ok   core device/device_runtime.h
try ok   core core/comm.h
exit $fails
