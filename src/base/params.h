// Every tuning knob of a communicator, with its environment variable, default and meaning, in one
// table. Read when a communicator is created; a tuttiConfig_t field overrides the environment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "tutti/tutti.h"

namespace tutti {

struct Params {
  int timeoutMs = 600000;  // TUTTI_TIMEOUT_MS: inactivity timeout of every wait
  int initTimeoutMs = 0;   // TUTTI_INIT_TIMEOUT_MS: one deadline for all of init; 0: none
  // TUTTI_HEARTBEAT_TIMEOUT_MS: a peer silent this long on the bootstrap watch is failed (0: off)
  int heartbeatTimeoutMs = 10000;
  std::string socketIfname;  // TUTTI_SOCKET_IFNAME: NCCL syntax; empty = automatic
  // TUTTI_BOOTSTRAP_IFNAME: the bootstrap's interfaces (its root, ring and watch), NCCL syntax;
  // empty: socketIfname's. Set, the tcp transport takes socketIfname's instead of the bootstrap's.
  std::string bootstrapIfname;
  const std::string& bootstrapInterfaces() const {
    return bootstrapIfname.empty() ? socketIfname : bootstrapIfname;
  }
  int socketFamily = 0;               // TUTTI_SOCKET_FAMILY: AF_INET, AF_INET6 or 0 (either)
  size_t sliceBytes = 512 << 10;      // TUTTI_SLICE_BYTES: unit of pipelining in the executor
  int slicesInFlight = 4;             // TUTTI_SLICES_IN_FLIGHT: receive slots per connection (>= 2)
  int spinUs = 1000;                  // TUTTI_SPIN_US: busy-poll time before blocking in poll()
  int yieldUs = 0;                    // TUTTI_YIELD_US: then poll with sched_yield() this long
  std::string transport;              // TUTTI_TRANSPORT: preference list ("shm,tcp"); empty = auto
  std::string algo;                   // TUTTI_ALGO: force an algorithm ("ring"); empty = auto
  std::string tunerPlugin;            // TUTTI_TUNER_PLUGIN: tuner plugin path or name; empty = none
  bool checkMismatch = true;          // TUTTI_CHECK_MISMATCH: descriptors compared on every call
  size_t deviceChunkBytes = 1 << 20;  // TUTTI_DEVICE_CHUNK_BYTES: pipelining unit of device calls
  bool p2pDisable = false;            // TUTTI_P2P_DISABLE: device calls never map peers' memory
  size_t p2pWindowBytes = 4 << 20;    // TUTTI_P2P_WINDOW_BYTES: each rank's mapped scratch, bytes
  // TUTTI_FLIGHT_RECORDER: operations each communicator remembers (core/flight_recorder.h); 0: off
  int flightRecorder = 64;
  std::string flightRecorderFile;     // TUTTI_FLIGHT_RECORDER_FILE: JSON dump path; empty: none
  bool flightRecorderSignal = false;  // TUTTI_FLIGHT_RECORDER_SIGNAL: SIGUSR1 dumps every comm
  // Values the program set rather than the environment, by variable name: tuttiConfig_t fields
  // and the communicator's adaptation to its host. They win over the environment. Transports
  // read their own parameters (transports/*/..._params.h) through paramInt.
  std::map<std::string, std::string> settings;
};

struct ParamInfo {
  const char* env;
  const char* defaultValue;
  const char* doc;
};

// The communicator's own documented table.
const std::vector<ParamInfo>& paramTable();

// Adds a component's table (a transport's): findParam and everyParam see it from then on. The
// table must outlive the process (a function-local static); adding one twice adds it once.
void registerParamTable(const std::vector<ParamInfo>& table);

// Every documented variable: paramTable(), then each registered table in registration order
// (tutti-perf --params).
std::vector<ParamInfo> everyParam();

// The documented entry of a TUTTI_* variable in any table, or nullptr when none has it.
const ParamInfo* findParam(const char* name);

// The value of a TUTTI_* variable (nullptr when unset), for the knobs read outside loadParams
// (process-wide ones such as TUTTI_REDUCE_ISA, and "was it set?" questions). Every TUTTI_*
// variable is read through loadParams or here, never with getenv, so that every one is in the
// table that tutti-perf --params prints (tests/base/params_table_test.cc checks the sources).
const char* paramEnv(const char* name);

// Reads the environment over the defaults, then applies config (may be NULL). Invalid values give
// tuttiInvalidArgument naming the variable or field.
Status loadParams(const tuttiConfig_t* config, Params* out);

// Integer environment variable with a default; a malformed value is an error naming it.
Status envInt(const char* name, int64_t defaultValue, int64_t minValue, int64_t maxValue,
              int64_t* out);

// The same, with params.settings[name] winning over the environment.
Status paramInt(const Params& params, const char* name, int64_t defaultValue, int64_t minValue,
                int64_t maxValue, int64_t* out);

}  // namespace tutti
