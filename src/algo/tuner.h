// Tuner plugins: a shared library (TUTTI_TUNER_PLUGIN) that adjusts the cost model's predicted
// times before Tutti takes the cheapest algorithm. Speaks Tutti's ABI (include/tutti/
// tutti_tuner.h) and NCCL's v5 and v4 tuner ABIs (src/nccl_tuner/nccl_tuner_abi.h), so plugins
// written for NCCL steer Tutti too. Anything a plugin does wrong that can be detected (no
// library, no symbol, NULL functions, errors, NaN or no candidate left) is logged and ignored:
// Tutti then chooses by its model alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "algo/algorithm.h"
#include "algo/nccl_tuner_abi.h"
#include "algo/plan.h"
#include "tutti/tutti_tuner.h"

namespace tutti {

// What a plugin learns of the communicator at init. The same on every rank.
struct TunerShape {
  int nranks = 1;
  int nhosts = 1;
  int minRanksPerHost = 1;
  int maxRanksPerHost = 1;
  uint64_t commId = 0;
};

class Tuner {
 public:
  enum class Abi { kTuttiV1, kNcclV5, kNcclV4 };

  // Opens `spec` (a path when it contains '/', else a name N tried as libtutti-tuner-N.so, then
  // as N), finds its ABI (tuttiTunerPlugin_v1, else ncclTunerPlugin_v5, else ncclTunerPlugin_v4)
  // and makes one context. nullptr, after a WARN saying why, when any step fails; nullptr
  // without a word for "" and "none".
  static std::unique_ptr<Tuner> load(const std::string& spec, const TunerShape& shape);

  ~Tuner();  // destroy (finalize) the context, then close the library
  Tuner(const Tuner&) = delete;
  Tuner& operator=(const Tuner&) = delete;

  // Hands the predictions (us; < 0: not a candidate) to the plugin. True with costUs replaced by
  // the plugin's costs, where entries that were not candidates stay < 0; false with costUs
  // unchanged when the plugin failed or left no candidate.
  bool adjust(Collective collective, size_t bytes, double costUs[kNumAlgorithms]);

  const std::string& name() const { return name_; }  // the plugin's name field
  const std::string& path() const { return path_; }  // what dlopen opened
  Abi abi() const { return abi_; }
  const char* abiName() const;  // "tutti v1", "nccl v5", "nccl v4"

 private:
  Tuner() = default;
  bool adjustNccl(Collective collective, size_t bytes, double costUs[kNumAlgorithms]);
  void reportFailure(const std::string& what);

  void* library_ = nullptr;
  void* context_ = nullptr;
  Abi abi_ = Abi::kTuttiV1;
  const tuttiTuner_v1_t* tutti_ = nullptr;
  const ncclTuner_v5_t* ncclV5_ = nullptr;
  const ncclTuner_v4_t* ncclV4_ = nullptr;
  // Given to a v5 init, which may keep the pointers: Tutti's stand-ins, kept alive with the
  // context. A plugin's changes to the constants have no effect on Tutti.
  ncclNvlDomainInfo_v5_t nvlDomainInfo_{};
  ncclTunerConstants_v5_t constants_{};
  std::string name_;
  std::string path_;
  bool warned_ = false;  // a failed getCollInfo is a WARN once, then INFO
};

// The NCCL cost-table row that stands for a Tutti algorithm in `collective`'s table (both
// directions use it: the loader and libnccl-tuner-tutti.so). ring is NCCL_ALGO_RING. rd has no
// NCCL counterpart; it takes the row of NCCL's latency algorithm of that collective, so that
// NCCL plugins' "prefer X for small messages" means the same in Tutti: NCCL_ALGO_TREE for
// all-reduce (the double binary tree, NCCL's choice for small all-reduces: logarithmic depth
// where ring is linear), NCCL_ALGO_PAT for all-gather and reduce-scatter (Parallel Aggregated
// Trees: log2(n) rounds of growing blocks, like recursive doubling and halving). A Tutti
// algorithm named "tree" (when there is one) takes NCCL_ALGO_TREE instead of rd. -1: no row.
int ncclRowOf(Algorithm algorithm, Collective collective);

}  // namespace tutti
