#include "base/params.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "base/log.h"

namespace tutti {

const std::vector<ParamInfo>& paramTable() {
  static const std::vector<ParamInfo> table = {
      {"TUTTI_TIMEOUT_MS", "600000", "inactivity timeout of every wait, ms"},
      {"TUTTI_INIT_TIMEOUT_MS", "0",
       "ms: init as a whole fails with tuttiTimeout by then (one deadline for all its waits); 0: "
       "each of init's waits is bounded by TUTTI_TIMEOUT_MS alone"},
      {"TUTTI_HEARTBEAT_TIMEOUT_MS", "10000",
       "a peer that sends no heartbeat over the bootstrap for this long (stopped, hung, host "
       "gone) is failed on every rank, ms; heartbeats go every tenth of it (at most 1 s); 0: "
       "no heartbeats (a dead peer is still seen at once); also the TCP keepalive time of the "
       "bootstrap's and tcp's sockets, which finds a host lost during init"},
      {"TUTTI_SOCKET_IFNAME", "(auto)",
       "interfaces, NCCL syntax: prefix list, ^ excludes, = exact"},
      {"TUTTI_BOOTSTRAP_IFNAME", "(TUTTI_SOCKET_IFNAME)",
       "the bootstrap's interfaces (the unique id's root, the ring, the heartbeat watch), NCCL "
       "syntax; set, the tcp transport uses TUTTI_SOCKET_IFNAME's instead of the bootstrap's, "
       "so the two can run over separate networks"},
      {"TUTTI_SOCKET_FAMILY", "(any)", "AF_INET or AF_INET6"},
      {"TUTTI_SLICE_BYTES", "524288", "pipelining unit of the executor, bytes"},
      {"TUTTI_SLICES_IN_FLIGHT", "4", "receive slots per connection, >= 2"},
      {"TUTTI_CHECK_MISMATCH", "1",
       "0: collectives do not send their call's descriptor to every peer, so ranks that make "
       "different calls are not detected; must be alike on every rank"},
      {"TUTTI_DEVICE_CHUNK_BYTES", "1048576",
       "device buffers staged through host memory move in pieces of this many bytes of each "
       "rank's block (at most 64 pieces a call), so the copies overlap the wire; 1..2^30, must be "
       "alike on every rank"},
      {"TUTTI_P2P_DISABLE", "0",
       "1: device buffers of ranks on one host never go through peers' mapped device memory (the "
       "p2p path); every device call is staged through pinned host memory instead"},
      {"TUTTI_P2P_WINDOW_BYTES", "4194304",
       "bytes of device memory each rank maps to its peers for the p2p path (plus 4 KiB of "
       "flags); larger calls loop over window-sized chunks; 4096..2^30, taken from rank 0"},
      {"TUTTI_FLIGHT_RECORDER", "64",
       "operations each communicator remembers for a dump (ring); 0: records nothing"},
      {"TUTTI_FLIGHT_RECORDER_FILE", "(none)",
       "each rank writes its flight recorder here as JSON on a failure, tuttiCommDumpState or "
       "SIGUSR1; %r is the rank, and without %r the path gets .rank<N> appended"},
      {"TUTTI_FLIGHT_RECORDER_SIGNAL", "0",
       "1: SIGUSR1 makes every communicator of the process dump its flight recorder"},
      {"TUTTI_SPIN_US", "1000", "busy-poll time before blocking, us (0 when oversubscribed)"},
      {"TUTTI_YIELD_US", "0",
       "then poll with sched_yield() this long before blocking, us "
       "(2000 when oversubscribed)"},
      {"TUTTI_TRANSPORT", "(auto: shm,tcp)",
       "transports in order of preference, e.g. tcp or shm,tcp; each pair of ranks uses the first "
       "that can connect it, tcp when none can; ucx (where built with UCX) only when named"},
      {"TUTTI_ALGO", "(auto)",
       "algorithms, NCCL syntax plus size ranges: ring, rd, ^rd, allreduce:0-64K:rd,64K-:ring; "
       "device buffers on one host also oneshot, twoshot (mapped peer memory; ring stages them)"},
      {"TUTTI_TUNER_PLUGIN", "(none)",
       "tuner plugin adjusting the algorithm choice: a path, or a name N tried as "
       "libtutti-tuner-N.so then N; Tutti's ABI (tutti_tuner.h) or NCCL's (v5, v4)"},
      {"TUTTI_TOPO_FILE", "(detect)",
       "topology file to load instead of detecting: Tutti text, NCCL XML or hwloc XML"},
      {"TUTTI_TOPO_DUMP_FILE", "(none)",
       "rank 0 writes the cluster's topology (every host) here in Tutti's format"},
      {"TUTTI_COST_FILE", "(~/.config/tutti/costs)",
       "the cost model's calibrated constants (tutti-perf --calibrate); absent: defaults"},
      {"TUTTI_REDUCE_ISA", "(best)",
       "host reduction kernels: generic or avx2 (AVX2 + F16C), read once per process"},
      {"TUTTI_HOSTID", "(hostname + boot id)",
       "pose as this host: ranks with equal ids count as one host (tests, tutti-perf --hosts)"},
      {"TUTTI_COMM_ID", "(none)",
       "host:port or [v6]:port of the bootstrap root for tuttiCommInitFromEnv (rank 0 listens)"},
      {"TUTTI_NCCL_TUNER_TRANSPORT", "(topology)",
       "libnccl-tuner-tutti.so: price NCCL's calls with this Tutti transport's costs (shm/cma, "
       "shm, tcp) instead of the GPU topology's"},
      {"TUTTI_NCCL_TUNER_EXCLUSIVE", "1",
       "libnccl-tuner-tutti.so: 1 leaves NCCL only the model's choice, 0 keeps NCCL's own "
       "entries beside it"},
      {"TUTTI_DEBUG", "(none)", "VERSION, WARN, INFO or TRACE"},
      {"TUTTI_DEBUG_SUBSYS", "INIT,ENV", "INIT,COLL,NET,BOOTSTRAP,ENV,ALLOC,ALL; ^ excludes"},
      {"TUTTI_DEBUG_FILE", "(stdout)", "log file; %h host, %p pid"},
  };
  return table;
}

namespace {

std::mutex& tablesMutex() {
  static std::mutex mutex;
  return mutex;
}

std::vector<const std::vector<ParamInfo>*>& registeredTables() {
  static std::vector<const std::vector<ParamInfo>*> tables;
  return tables;
}

}  // namespace

void registerParamTable(const std::vector<ParamInfo>& table) {
  std::lock_guard<std::mutex> lock(tablesMutex());
  auto& tables = registeredTables();
  if (std::find(tables.begin(), tables.end(), &table) == tables.end()) tables.push_back(&table);
}

std::vector<ParamInfo> everyParam() {
  std::vector<ParamInfo> every = paramTable();
  std::lock_guard<std::mutex> lock(tablesMutex());
  for (const auto* table : registeredTables())
    every.insert(every.end(), table->begin(), table->end());
  return every;
}

const ParamInfo* findParam(const char* name) {
  for (const ParamInfo& info : paramTable()) {
    if (std::strcmp(info.env, name) == 0) return &info;
  }
  std::lock_guard<std::mutex> lock(tablesMutex());
  for (const auto* table : registeredTables()) {
    for (const ParamInfo& info : *table) {
      if (std::strcmp(info.env, name) == 0) return &info;
    }
  }
  return nullptr;
}

const char* paramEnv(const char* name) {
  if (findParam(name) == nullptr) {
    TUTTI_WARN(kLogEnv, "{} is read but missing from the parameter table (a bug: please report)",
               name);
  }
  return std::getenv(name);
}

Status envInt(const char* name, int64_t defaultValue, int64_t minValue, int64_t maxValue,
              int64_t* out) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') {
    *out = defaultValue;
    return Status::ok();
  }
  errno = 0;
  char* end = nullptr;
  long long value = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < minValue || value > maxValue) {
    return makeError(tuttiInvalidArgument, "{}='{}' is not an integer in [{}, {}]", name, text,
                     minValue, maxValue);
  }
  TUTTI_INFO(kLogEnv, "{} set by environment to {}", name, value);
  *out = value;
  return Status::ok();
}

Status paramInt(const Params& params, const char* name, int64_t defaultValue, int64_t minValue,
                int64_t maxValue, int64_t* out) {
  auto set = params.settings.find(name);
  if (set == params.settings.end()) return envInt(name, defaultValue, minValue, maxValue, out);
  const std::string& text = set->second;
  errno = 0;
  char* end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0' || value < minValue || value > maxValue) {
    return makeError(tuttiInvalidArgument,
                     "{} set to '{}' by the program is not an integer in "
                     "[{}, {}]",
                     name, text, minValue, maxValue);
  }
  *out = value;
  return Status::ok();
}

namespace {

std::string envString(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr) return "";
  TUTTI_INFO(kLogEnv, "{} set by environment to {}", name, text);
  return text;
}

}  // namespace

Status loadParams(const tuttiConfig_t* config, Params* out) {
  Params p;
  int64_t value = 0;
  TUTTI_RETURN_IF_ERROR(envInt("TUTTI_TIMEOUT_MS", p.timeoutMs, 1, INT32_MAX, &value));
  p.timeoutMs = static_cast<int>(value);
  TUTTI_RETURN_IF_ERROR(envInt("TUTTI_INIT_TIMEOUT_MS", p.initTimeoutMs, 0, INT32_MAX, &value));
  p.initTimeoutMs = static_cast<int>(value);
  TUTTI_RETURN_IF_ERROR(
      envInt("TUTTI_HEARTBEAT_TIMEOUT_MS", p.heartbeatTimeoutMs, 0, INT32_MAX, &value));
  p.heartbeatTimeoutMs = static_cast<int>(value);
  TUTTI_RETURN_IF_ERROR(envInt("TUTTI_SLICE_BYTES", static_cast<int64_t>(p.sliceBytes), 64,
                               int64_t{1} << 30, &value));
  p.sliceBytes = static_cast<size_t>(value);
  TUTTI_RETURN_IF_ERROR(envInt("TUTTI_SLICES_IN_FLIGHT", p.slicesInFlight, 2, 64, &value));
  p.slicesInFlight = static_cast<int>(value);
  TUTTI_RETURN_IF_ERROR(envInt("TUTTI_CHECK_MISMATCH", 1, 0, 1, &value));
  p.checkMismatch = value != 0;
  TUTTI_RETURN_IF_ERROR(envInt("TUTTI_DEVICE_CHUNK_BYTES", static_cast<int64_t>(p.deviceChunkBytes),
                               1, int64_t{1} << 30, &value));
  p.deviceChunkBytes = static_cast<size_t>(value);
  TUTTI_RETURN_IF_ERROR(envInt("TUTTI_P2P_DISABLE", 0, 0, 1, &value));
  p.p2pDisable = value != 0;
  TUTTI_RETURN_IF_ERROR(envInt("TUTTI_P2P_WINDOW_BYTES", static_cast<int64_t>(p.p2pWindowBytes),
                               4096, int64_t{1} << 30, &value));
  p.p2pWindowBytes = static_cast<size_t>(value);
  TUTTI_RETURN_IF_ERROR(envInt("TUTTI_FLIGHT_RECORDER", p.flightRecorder, 0, 1 << 20, &value));
  p.flightRecorder = static_cast<int>(value);
  TUTTI_RETURN_IF_ERROR(envInt("TUTTI_FLIGHT_RECORDER_SIGNAL", 0, 0, 1, &value));
  p.flightRecorderSignal = value != 0;
  p.flightRecorderFile = envString("TUTTI_FLIGHT_RECORDER_FILE");
  TUTTI_RETURN_IF_ERROR(envInt("TUTTI_SPIN_US", p.spinUs, 0, 1000000, &value));
  p.spinUs = static_cast<int>(value);
  TUTTI_RETURN_IF_ERROR(envInt("TUTTI_YIELD_US", p.yieldUs, 0, 10000000, &value));
  p.yieldUs = static_cast<int>(value);
  p.socketIfname = envString("TUTTI_SOCKET_IFNAME");
  p.bootstrapIfname = envString("TUTTI_BOOTSTRAP_IFNAME");
  std::string family = envString("TUTTI_SOCKET_FAMILY");
  if (family == "AF_INET" || family == "4") {
    p.socketFamily = AF_INET;
  } else if (family == "AF_INET6" || family == "6") {
    p.socketFamily = AF_INET6;
  } else if (!family.empty()) {
    return makeError(tuttiInvalidArgument, "TUTTI_SOCKET_FAMILY='{}' is not AF_INET or AF_INET6",
                     family);
  }
  p.transport = envString("TUTTI_TRANSPORT");
  // Checked against the transports built in (transports/registry.h) when a communicator starts.
  p.algo = envString("TUTTI_ALGO");
  p.tunerPlugin = envString("TUTTI_TUNER_PLUGIN");

  if (config != nullptr) {
    if (config->size < sizeof(size_t) + 2 * sizeof(unsigned) ||
        config->magic != TUTTI_CONFIG_MAGIC) {
      return makeError(tuttiInvalidArgument,
                       "config was not initialized with TUTTI_CONFIG_INITIALIZER (bad size or "
                       "magic)");
    }
    if (config->timeoutMs != TUTTI_CONFIG_UNDEF_INT) {
      if (config->timeoutMs <= 0) {
        return makeError(tuttiInvalidArgument, "config->timeoutMs={} must be > 0",
                         config->timeoutMs);
      }
      p.timeoutMs = config->timeoutMs;
    }
    if (config->nSocksPerPeer != TUTTI_CONFIG_UNDEF_INT) {
      if (config->nSocksPerPeer < 1 || config->nSocksPerPeer > 16) {
        return makeError(tuttiInvalidArgument, "config->nSocksPerPeer={} must be in [1, 16]",
                         config->nSocksPerPeer);
      }
      p.settings["TUTTI_NSOCKS_PERPEER"] = std::to_string(config->nSocksPerPeer);
    }
  }
  *out = p;
  return Status::ok();
}

}  // namespace tutti
