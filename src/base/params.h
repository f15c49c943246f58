// Every tuning knob of a communicator, with its environment variable, default and meaning, in one
// table. Read when a communicator is created; a tuttiConfig_t field overrides the environment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "tutti/tutti.h"

namespace tutti {

struct Params {
  int timeoutMs = 600000;            // TUTTI_TIMEOUT_MS: inactivity timeout of every wait
  std::string socketIfname;          // TUTTI_SOCKET_IFNAME: NCCL syntax; empty = automatic
  int socketFamily = 0;              // TUTTI_SOCKET_FAMILY: AF_INET, AF_INET6 or 0 (either)
  int nSocksPerPeer = 2;             // TUTTI_NSOCKS_PERPEER: TCP sockets per peer (1..16)
  size_t minStripeBytes = 64 << 10;  // TUTTI_MIN_STRIPE_BYTES: smallest part striped on a socket
  size_t sliceBytes = 512 << 10;     // TUTTI_SLICE_BYTES: unit of pipelining in the executor
  int slicesInFlight = 4;            // TUTTI_SLICES_IN_FLIGHT: receive slots per connection (>= 2)
  int spinUs = 1000;                 // TUTTI_SPIN_US: busy-poll time before blocking in poll()
  int yieldUs = 0;                   // TUTTI_YIELD_US: then poll with sched_yield() this long
  std::string transport;             // TUTTI_TRANSPORT: preference list ("shm,tcp"); empty = auto
  bool shmDisable = false;           // TUTTI_SHM_DISABLE=1: no shared memory between ranks
  int shmSlots = 8;                  // TUTTI_SHM_SLOTS: FIFO slots per direction and pair
  size_t shmSlotBytes = 256 << 10;   // TUTTI_SHM_SLOT_BYTES: bytes per FIFO slot
  bool shmCma = true;                // TUTTI_SHM_CMA=0: never read peers' memory directly
  size_t shmCmaMinBytes = 64 << 10;  // TUTTI_SHM_CMA_MIN_BYTES: smallest single-copy message
  std::string algo;                  // TUTTI_ALGO: force an algorithm ("ring"); empty = auto
  std::string tunerPlugin;           // TUTTI_TUNER_PLUGIN: tuner plugin path or name; empty = none
};

struct ParamInfo {
  const char* env;
  const char* defaultValue;
  const char* doc;
};

// The documented table, for tools that print it (tutti-perf --params).
const std::vector<ParamInfo>& paramTable();

// The documented entry of a TUTTI_* variable, or nullptr when the table lacks it.
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

}  // namespace tutti
