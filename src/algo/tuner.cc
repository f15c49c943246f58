#include "algo/tuner.h"

#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "base/log.h"

namespace tutti {
namespace {

constexpr uint32_t kLogTuner = kLogColl;

// printf-style message to a string, cut at 1023 bytes.
std::string formatMessage(const char* format, va_list args) {
  if (format == nullptr) return "";
  char buffer[1024];
  int n = std::vsnprintf(buffer, sizeof(buffer), format, args);
  if (n < 0) return format;
  return buffer;
}

}  // namespace

// The loggers plugins get. C linkage: they are called through C function pointer types.
extern "C" {

static void tuttiTunerLog(tuttiTunerLogLevel_t level, const char* format, ...) {
  LogLevel tuttiLevel = level <= TUTTI_TUNER_LOG_WARN   ? LogLevel::kWarn
                        : level == TUTTI_TUNER_LOG_INFO ? LogLevel::kInfo
                                                        : LogLevel::kTrace;
  if (!logEnabled(tuttiLevel, kLogTuner)) return;
  va_list args;
  va_start(args, format);
  std::string message = formatMessage(format, args);
  va_end(args);
  logWrite(tuttiLevel, kLogTuner, "tuner plugin: " + message);
}

static void ncclTunerLog(ncclDebugLogLevel level, unsigned long flags, const char* file, int line,
                         const char* format, ...) {
  LogLevel tuttiLevel;
  switch (level) {
    case NCCL_LOG_NONE:
      return;
    case NCCL_LOG_VERSION:
      tuttiLevel = LogLevel::kVersion;
      break;
    case NCCL_LOG_WARN:
    case NCCL_LOG_ABORT:
      tuttiLevel = LogLevel::kWarn;
      break;
    case NCCL_LOG_INFO:
      tuttiLevel = LogLevel::kInfo;
      break;
    default:
      tuttiLevel = LogLevel::kTrace;
      break;
  }
  const uint32_t subsys = kLogTuner | ((flags & NCCL_INIT) != 0 ? uint32_t{kLogInit} : 0u);
  if (!logEnabled(tuttiLevel, subsys)) return;
  va_list args;
  va_start(args, format);
  std::string message = formatMessage(format, args);
  va_end(args);
  logWrite(tuttiLevel, subsys,
           fmt::format("tuner plugin ({}:{}): {}", file != nullptr ? file : "?", line, message));
}

}  // extern "C"

namespace {

// The plugin's name, read with a bound (it is the plugin's memory).
std::string boundedName(const char* name) {
  if (name == nullptr) return "(unnamed)";
  return std::string(name, strnlen(name, 128));
}

std::string lowered(const std::string& text) {
  std::string out;
  for (char c : text) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

tuttiTunerFunc_t tuttiFuncOf(Collective collective) {
  switch (collective) {
    case Collective::kAllGather:
      return tuttiTunerAllGather;
    case Collective::kReduceScatter:
      return tuttiTunerReduceScatter;
    case Collective::kBroadcast:
      return tuttiTunerBroadcast;
    case Collective::kReduce:
      return tuttiTunerReduce;
    case Collective::kAllToAll:
      return tuttiTunerAlltoAll;
    case Collective::kGather:
      return tuttiTunerGather;
    case Collective::kScatter:
      return tuttiTunerScatter;
    case Collective::kAllReduce:
    case Collective::kSendRecv:  // never tuned: no algorithm of the table serves it
      break;
  }
  return tuttiTunerAllReduce;
}

// NCCL tunes the five collectives below NCCL_NUM_FUNCTIONS; its all-to-all, gather and scatter
// (ncclFunc_t 8, 10, 9 since 2.28) are never priced (ncclTuningCompute is not called for them),
// so an NCCL plugin is not asked about them either: nullopt.
std::optional<ncclFunc_t> ncclFuncOf(Collective collective) {
  switch (collective) {
    case Collective::kAllGather:
      return ncclFuncAllGather;
    case Collective::kReduceScatter:
      return ncclFuncReduceScatter;
    case Collective::kAllReduce:
      return ncclFuncAllReduce;
    case Collective::kBroadcast:
      return ncclFuncBroadcast;
    case Collective::kReduce:
      return ncclFuncReduce;
    default:
      return std::nullopt;
  }
}

// Index i names Algorithm i, whatever algorithms the table (algorithms.cc) grows.
const char* const* algorithmNames() {
  static const auto names = [] {
    std::array<const char*, kNumAlgorithms> out{};
    for (const RegisteredAlgorithm& a : algorithmTable()) {
      out[static_cast<int>(a.id)] = a.entry->name;
    }
    return out;
  }();
  return names.data();
}

// Calls into the plugin: its result code, or -1 when a C++ plugin let an exception out.
template <typename Call>
int guarded(Call&& call) {
  try {
    return static_cast<int>(call());
  } catch (...) {
    return -1;
  }
}

// The plugin's cost for an entry that was a candidate: NaN and negative values remove it.
double acceptedCost(double before, double after) {
  if (before < 0) return -1;
  if (std::isnan(after) || after < 0) return -1;
  return after;
}

}  // namespace

int ncclRowOf(Algorithm algorithm, Collective collective) {
  const std::string name = algorithmName(algorithm);
  const bool allReduce = collective == Collective::kAllReduce;
  if (name == "ring") return NCCL_ALGO_RING;
  if (name == "tree") return allReduce ? NCCL_ALGO_TREE : -1;
  if (name == "rd") {
    const bool gatherOrScatter =
        collective == Collective::kAllGather || collective == Collective::kReduceScatter;
    if (!allReduce) return gatherOrScatter ? NCCL_ALGO_PAT : -1;
    // NCCL's TREE row is a tree's once Tutti has one; until then rd stands for it.
    return parseAlgorithm("tree") ? -1 : NCCL_ALGO_TREE;
  }
  return -1;
}

std::unique_ptr<Tuner> Tuner::load(const std::string& spec, const TunerShape& shape) {
  if (spec.empty() || lowered(spec) == "none") return nullptr;
  std::vector<std::string> candidates;
  if (spec.find('/') != std::string::npos) {
    candidates.push_back(spec);
  } else {
    candidates.push_back("libtutti-tuner-" + spec + ".so");
    candidates.push_back(spec);
  }
  void* library = nullptr;
  std::string opened;
  std::string errors;
  for (const std::string& candidate : candidates) {
    dlerror();
    library = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library != nullptr) {
      opened = candidate;
      break;
    }
    const char* error = dlerror();
    errors += (errors.empty() ? "" : "; ") + std::string(error != nullptr ? error : candidate);
  }
  if (library == nullptr) {
    TUTTI_WARN(kLogInit | kLogTuner,
               "TUTTI_TUNER_PLUGIN={}: cannot open it ({}); choosing by the cost model alone", spec,
               errors);
    return nullptr;
  }

  std::unique_ptr<Tuner> tuner(new Tuner());
  tuner->library_ = library;  // closed by the destructor from here on
  tuner->path_ = opened;
  auto missing = [&](const char* symbol) {
    TUTTI_WARN(kLogInit | kLogTuner, "TUTTI_TUNER_PLUGIN={}: {} has a NULL function; skipped",
               opened, symbol);
  };
  bool found = false;
  if (auto* t = static_cast<const tuttiTuner_v1_t*>(dlsym(library, TUTTI_TUNER_PLUGIN_SYMBOL))) {
    if (t->init != nullptr && t->getCollInfo != nullptr && t->destroy != nullptr) {
      tuner->abi_ = Abi::kTuttiV1;
      tuner->tutti_ = t;
      tuner->name_ = boundedName(t->name);
      found = true;
    } else {
      missing(TUTTI_TUNER_PLUGIN_SYMBOL);
    }
  }
  if (!found) {
    if (auto* t = static_cast<const ncclTuner_v5_t*>(dlsym(library, "ncclTunerPlugin_v5"))) {
      if (t->init != nullptr && t->getCollInfo != nullptr && t->finalize != nullptr) {
        tuner->abi_ = Abi::kNcclV5;
        tuner->ncclV5_ = t;
        tuner->name_ = boundedName(t->name);
        found = true;
      } else {
        missing("ncclTunerPlugin_v5");
      }
    }
  }
  if (!found) {
    if (auto* t = static_cast<const ncclTuner_v4_t*>(dlsym(library, "ncclTunerPlugin_v4"))) {
      if (t->init != nullptr && t->getCollInfo != nullptr && t->destroy != nullptr) {
        tuner->abi_ = Abi::kNcclV4;
        tuner->ncclV4_ = t;
        tuner->name_ = boundedName(t->name);
        found = true;
      } else {
        missing("ncclTunerPlugin_v4");
      }
    }
  }
  if (!found) {
    TUTTI_WARN(kLogInit | kLogTuner,
               "TUTTI_TUNER_PLUGIN={}: {} exports no usable {}, ncclTunerPlugin_v5 or "
               "ncclTunerPlugin_v4; choosing by the cost model alone",
               spec, opened, TUTTI_TUNER_PLUGIN_SYMBOL);
    return nullptr;
  }

  int rc = 0;
  void* context = nullptr;
  switch (tuner->abi_) {
    case Abi::kTuttiV1:
      rc = guarded([&] {
        return tuner->tutti_->init(&context, shape.nranks, shape.nhosts, shape.minRanksPerHost,
                                   shape.maxRanksPerHost, shape.commId, tuttiTunerLog);
      });
      break;
    case Abi::kNcclV5:
      // Tutti's counterpart of an NVLink domain is a host: its ranks share memory.
      tuner->nvlDomainInfo_ = {shape.nhosts, shape.minRanksPerHost, shape.maxRanksPerHost};
      rc = guarded([&] {
        return tuner->ncclV5_->init(&context, shape.commId, static_cast<size_t>(shape.nranks),
                                    static_cast<size_t>(shape.nhosts), ncclTunerLog,
                                    &tuner->nvlDomainInfo_, &tuner->constants_);
      });
      break;
    case Abi::kNcclV4:
      rc = guarded([&] {
        return tuner->ncclV4_->init(static_cast<size_t>(shape.nranks),
                                    static_cast<size_t>(shape.nhosts), ncclTunerLog, &context);
      });
      break;
  }
  if (rc != 0) {
    TUTTI_WARN(kLogInit | kLogTuner,
               "TUTTI_TUNER_PLUGIN={}: '{}' ({}) init returned error {}; choosing by the cost "
               "model alone",
               spec, tuner->name_, tuner->abiName(), rc);
    tuner->tutti_ = nullptr;  // no context: the destructor only closes the library
    tuner->ncclV5_ = nullptr;
    tuner->ncclV4_ = nullptr;
    return nullptr;
  }
  tuner->context_ = context;
  TUTTI_INFO(kLogInit | kLogTuner, "tuner plugin '{}' ({}) loaded from {}", tuner->name_,
             tuner->abiName(), opened);
  return tuner;
}

Tuner::~Tuner() {
  int rc = 0;
  if (tutti_ != nullptr) rc = guarded([&] { return tutti_->destroy(context_); });
  if (ncclV5_ != nullptr) rc = guarded([&] { return ncclV5_->finalize(context_); });
  if (ncclV4_ != nullptr) rc = guarded([&] { return ncclV4_->destroy(context_); });
  if (rc != 0) {
    TUTTI_WARN(kLogTuner, "tuner plugin '{}' ({}): destroy returned error {}", name_, abiName(),
               rc);
  }
  if (library_ != nullptr) dlclose(library_);
}

const char* Tuner::abiName() const {
  switch (abi_) {
    case Abi::kTuttiV1:
      return "tutti v1";
    case Abi::kNcclV5:
      return "nccl v5";
    case Abi::kNcclV4:
      return "nccl v4";
  }
  return "?";
}

void Tuner::reportFailure(const std::string& what) {
  if (!warned_) {
    warned_ = true;
    TUTTI_WARN(kLogTuner, "tuner plugin '{}' ({}): {}; using the cost model's predictions", name_,
               abiName(), what);
  } else {
    TUTTI_INFO(kLogTuner, "tuner plugin '{}' ({}): {}; using the cost model's predictions", name_,
               abiName(), what);
  }
}

bool Tuner::adjust(Collective collective, size_t bytes, double costUs[kNumAlgorithms]) {
  if (abi_ != Abi::kTuttiV1) return adjustNccl(collective, bytes, costUs);
  double table[kNumAlgorithms];
  std::copy(costUs, costUs + kNumAlgorithms, table);
  const int rc = guarded([&] {
    return tutti_->getCollInfo(context_, tuttiFuncOf(collective), bytes, kNumAlgorithms,
                               algorithmNames(), table);
  });
  if (rc != tuttiSuccess) {
    reportFailure(fmt::format("getCollInfo({}, {} bytes) returned error {}",
                              collectiveName(collective), bytes, rc));
    return false;
  }
  bool anyCandidate = false;
  for (int a = 0; a < kNumAlgorithms; ++a) {
    table[a] = acceptedCost(costUs[a], table[a]);
    anyCandidate = anyCandidate || table[a] >= 0;
  }
  if (!anyCandidate) {
    reportFailure(fmt::format("getCollInfo({}, {} bytes) left no candidate",
                              collectiveName(collective), bytes));
    return false;
  }
  std::copy(table, table + kNumAlgorithms, costUs);
  return true;
}

// NCCL's table: Tutti's predictions in the SIMPLE column of each algorithm's row (Tutti's
// executor moves whole slices without flags, which is what SIMPLE does), every other entry
// ignored. Only that column is read back: ignored entries stay ignored, as NCCL requires.
bool Tuner::adjustNccl(Collective collective, size_t bytes, double costUs[kNumAlgorithms]) {
  const std::optional<ncclFunc_t> func = ncclFuncOf(collective);
  if (!func) return false;
  float table[NCCL_NUM_ALGORITHMS][NCCL_NUM_PROTOCOLS];
  for (auto& row : table) {
    for (float& entry : row) entry = NCCL_ALGO_PROTO_IGNORE;
  }
  for (int a = 0; a < kNumAlgorithms; ++a) {
    int row = ncclRowOf(static_cast<Algorithm>(a), collective);
    if (row >= 0 && costUs[a] >= 0) table[row][NCCL_PROTO_SIMPLE] = static_cast<float>(costUs[a]);
  }
  float before[NCCL_NUM_ALGORITHMS][NCCL_NUM_PROTOCOLS];
  std::memcpy(before, table, sizeof(table));
  int nChannels = 0;
  // As NCCL passes it: the address of the contiguous float[7][3], typed float**.
  float** tableArg = reinterpret_cast<float**>(table);
  const int rc = guarded([&] {
    return abi_ == Abi::kNcclV5
               ? ncclV5_->getCollInfo(context_, *func, bytes, 1, tableArg, NCCL_NUM_ALGORITHMS,
                                      NCCL_NUM_PROTOCOLS, 0, &nChannels)
               : ncclV4_->getCollInfo(context_, *func, bytes, 1, tableArg, NCCL_NUM_ALGORITHMS,
                                      NCCL_NUM_PROTOCOLS, 0, &nChannels);
  });
  if (rc != ncclSuccess) {
    reportFailure(fmt::format("getCollInfo({}, {} bytes) returned error {}",
                              collectiveName(collective), bytes, rc));
    return false;
  }
  double adjusted[kNumAlgorithms];
  bool anyCandidate = false;
  for (int a = 0; a < kNumAlgorithms; ++a) {
    adjusted[a] = costUs[a];  // an algorithm without a row keeps the model's prediction
    int row = ncclRowOf(static_cast<Algorithm>(a), collective);
    if (row < 0 || costUs[a] < 0) continue;
    const float after = table[row][NCCL_PROTO_SIMPLE];
    // An entry the plugin left alone keeps Tutti's double: rounding to float must not reorder
    // near-equal predictions.
    const bool untouched = std::memcmp(&after, &before[row][NCCL_PROTO_SIMPLE], sizeof(float)) == 0;
    adjusted[a] = untouched ? costUs[a] : acceptedCost(costUs[a], after);
    anyCandidate = anyCandidate || adjusted[a] >= 0;
  }
  if (!anyCandidate) {
    reportFailure(fmt::format("getCollInfo({}, {} bytes) left no candidate",
                              collectiveName(collective), bytes));
    return false;
  }
  std::copy(adjusted, adjusted + kNumAlgorithms, costUs);
  return true;
}

}  // namespace tutti
