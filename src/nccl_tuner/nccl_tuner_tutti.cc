// libnccl-tuner-tutti.so: Tutti's cost model as an NCCL tuner plugin, so that
// NCCL_TUNER_PLUGIN=tutti (or a path to this library) makes NCCL choose between ring and its
// latency algorithm as Tutti would. Exports NCCL's v5 and v4 tuner ABIs (NCCL 2.28 tries v5
// first; src/nccl_tuner/nccl_tuner_abi.h).
//
// Mapping (ncclRowOf in algo/tuner.cc, shared with Tutti's loader): Tutti's ring prediction goes
// into (RING, SIMPLE); its recursive-doubling prediction into (TREE, SIMPLE) for all-reduce and
// (PAT, SIMPLE) for all-gather and reduce-scatter, NCCL's logarithmic-depth algorithms of those
// collectives (rd has no NCCL counterpart; algo/tuner.h says why these rows). SIMPLE because
// Tutti's model is of whole slices moved without flags, which is what NCCL's SIMPLE protocol does.
// Only entries NCCL has not marked NCCL_ALGO_PROTO_IGNORE are written; an entry Tutti has no
// prediction for (rd on a rank count it does not serve) is left as NCCL made it.
//
// Exclusive (TUTTI_NCCL_TUNER_EXCLUSIVE=1, the default): once at least one entry holds Tutti's
// prediction, every other entry that is not ignored is set to NCCL_ALGO_PROTO_IGNORE, so NCCL
// runs Tutti's choice. Tutti's times are not comparable to NCCL's own predictions of LL, LL128,
// NVLS or CollNet (another machine model), so mixing them would rank by accident.
// TUTTI_NCCL_TUNER_EXCLUSIVE=0 leaves those entries as NCCL made them and lets NCCL compare.
//
// Costs: from the topology (TUTTI_TOPO_FILE, else detected: hwloc or sysfs, NVML) when this
// host has GPUs: the host replicated over nNodes, nRanks placed host-major one per GPU, priced
// by cost_topology.h (NVLink through NVSwitches summed per GPU, PCIe paths, the NICs local to the
// GPUs; NCCL's figures). Where that fails (no GPUs, more ranks per node than GPUs) or
// TUTTI_NCCL_TUNER_TRANSPORT names Tutti's host transport costs (shm/cma, shm, tcp;
// defaultLinkCost in algo/cost_defaults.cc), those are used instead, the same on both levels;
// default shm/cma on one node, tcp on several.
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "algo/algorithm.h"
#include "algo/cost_defaults.h"
#include "algo/cost_topology.h"
#include "algo/nccl_tuner_abi.h"
#include "algo/tuner.h"
#include "base/params.h"
#include "topo/topology_file.h"

namespace {

using tutti::Algorithm;
using tutti::Collective;

struct Context {
  int nranks = 1;
  int nnodes = 1;
  std::string costBasis;  // for the log: the topology's figures or the transport's name
  tutti::ClusterCost cost;
  bool exclusive = true;
  ncclDebugLogger_t log = nullptr;
};

// The costs of nranks GPUs over nnodes copies of this host; false (with the reason) where the
// topology cannot say.
bool costFromTopology(int nranks, int nnodes, tutti::ClusterCost* cost, std::string* basis,
                      std::string* reason) {
  tutti::topo::Topology host;
  tutti::Status status = tutti::topo::loadOrDetectHostTopology(&host);
  if (status.isOk() && host.gpuCount() == 0) {
    status = tutti::makeError(tuttiInvalidArgument, "the host has no GPUs");
  }
  std::vector<int> hostOfRank, gpuOfRank;
  tutti::TopologyCost derived;
  if (status.isOk()) {
    const tutti::topo::Topology cluster =
        tutti::topo::replicateHosts(tutti::topo::extractHost(host, 0), nnodes);
    status = tutti::placeRanks(cluster, nranks, &hostOfRank, &gpuOfRank);
    if (status.isOk()) {
      status = tutti::clusterCostFromTopology(cluster, hostOfRank, gpuOfRank,
                                              tutti::defaultCpuClusterCost(), &derived);
    }
  }
  if (!status.isOk()) {
    *reason = status.message();
    return false;
  }
  *cost = derived.cost;
  *basis = "topology costs: " + tutti::describeTopologyCost(derived);
  for (char& c : *basis) {
    if (c == '\n') c = ';';
  }
  return true;
}

ncclResult_t initContext(size_t nRanks, size_t nNodes, ncclDebugLogger_t logFunction,
                         void** context) {
  if (context == nullptr) return ncclInvalidArgument;
  *context = nullptr;
  if (nRanks < 1 || nRanks > (1u << 30) || nNodes < 1 || nNodes > nRanks) {
    if (logFunction != nullptr) {
      logFunction(NCCL_LOG_WARN, NCCL_INIT | NCCL_TUNING, __FILE__, __LINE__,
                  "TUNER/Tutti: nRanks %zu, nNodes %zu: not a communicator shape", nRanks, nNodes);
    }
    return ncclInvalidArgument;
  }
  auto* ctx = new (std::nothrow) Context();
  if (ctx == nullptr) return ncclSystemError;
  ctx->nranks = static_cast<int>(nRanks);
  ctx->nnodes = static_cast<int>(nNodes);
  ctx->log = logFunction;
  const char* transport = tutti::paramEnv("TUTTI_NCCL_TUNER_TRANSPORT");
  if (transport == nullptr || *transport == '\0') {
    std::string reason;
    if (costFromTopology(ctx->nranks, ctx->nnodes, &ctx->cost, &ctx->costBasis, &reason)) {
      transport = nullptr;
    } else {
      if (logFunction != nullptr) {
        logFunction(NCCL_LOG_INFO, NCCL_INIT | NCCL_TUNING, __FILE__, __LINE__,
                    "TUNER/Tutti: no topology costs (%s); using Tutti's transport costs",
                    reason.c_str());
      }
      transport = nNodes > 1 ? "tcp" : "shm/cma";
    }
  }
  if (transport != nullptr) {
    ctx->cost = tutti::uniformCost(tutti::defaultLinkCost(transport));
    ctx->costBasis = std::string("Tutti ") + transport + " costs";
  }
  const char* exclusive = tutti::paramEnv("TUTTI_NCCL_TUNER_EXCLUSIVE");
  ctx->exclusive = exclusive == nullptr || std::strcmp(exclusive, "0") != 0;
  if (logFunction != nullptr) {
    logFunction(NCCL_LOG_INFO, NCCL_INIT | NCCL_TUNING, __FILE__, __LINE__,
                "TUNER/Tutti: %d ranks, %d nodes, %s, %s", ctx->nranks, ctx->nnodes,
                ctx->costBasis.c_str(),
                ctx->exclusive ? "exclusive (Tutti's choice only)" : "beside NCCL's entries");
  }
  *context = ctx;
  return ncclSuccess;
}

ncclResult_t initV5(void** context, uint64_t /*commId*/, size_t nRanks, size_t nNodes,
                    ncclDebugLogger_t logFunction, ncclNvlDomainInfo_v5_t* /*nvlDomainInfo*/,
                    ncclTunerConstants_v5_t* /*constants*/) {
  return initContext(nRanks, nNodes, logFunction, context);
}

ncclResult_t initV4(size_t nRanks, size_t nNodes, ncclDebugLogger_t logFunction, void** context) {
  return initContext(nRanks, nNodes, logFunction, context);
}

ncclResult_t getCollInfo(void* context, ncclFunc_t collType, size_t nBytes, int /*numPipeOps*/,
                         float** collCostTable, int numAlgo, int numProto, int /*regBuff*/,
                         int* /*nChannels*/) {
  auto* ctx = static_cast<Context*>(context);
  if (ctx == nullptr || collCostTable == nullptr) return ncclInvalidArgument;
  Collective collective;
  switch (collType) {
    case ncclFuncAllReduce:
      collective = Collective::kAllReduce;
      break;
    case ncclFuncAllGather:
      collective = Collective::kAllGather;
      break;
    case ncclFuncReduceScatter:
      collective = Collective::kReduceScatter;
      break;
    default:
      return ncclSuccess;  // Tutti models no other collective: NCCL decides
  }
  if (numProto <= NCCL_PROTO_SIMPLE || numAlgo <= 0) return ncclSuccess;
  // The table is one contiguous float[numAlgo][numProto]; the float** is its address.
  float* table = reinterpret_cast<float*>(collCostTable);
  auto entry = [&](int algo, int proto) -> float& { return table[algo * numProto + proto]; };

  bool written[NCCL_NUM_ALGORITHMS] = {};
  bool any = false;
  for (const tutti::RegisteredAlgorithm& registered : tutti::algorithmTable()) {
    const Algorithm algorithm = registered.id;
    const int row = tutti::ncclRowOf(algorithm, collective);
    if (row < 0 || row >= numAlgo || row >= NCCL_NUM_ALGORITHMS) continue;
    float& simple = entry(row, NCCL_PROTO_SIMPLE);
    // NCCL_ALGO_PROTO_IGNORE: unavailable, or excluded by the user. Written already: another
    // Tutti algorithm shares the row.
    if (simple < 0 || written[row]) continue;
    std::optional<double> us = tutti::predictUs(
        algorithm, collective, ctx->nranks, nBytes, ctx->cost,
        tutti::HostShape{ctx->nnodes, (ctx->nranks + ctx->nnodes - 1) / ctx->nnodes});
    if (!us) continue;
    simple = static_cast<float>(*us);
    written[row] = true;
    any = true;
    if (ctx->log != nullptr) {
      ctx->log(NCCL_LOG_TRACE, NCCL_TUNING, __FILE__, __LINE__,
               "TUNER/Tutti: %s %zu bytes: %s %.1f us", tutti::collectiveName(collective), nBytes,
               tutti::algorithmName(algorithm), *us);
    }
  }
  if (any && ctx->exclusive) {
    for (int a = 0; a < numAlgo; ++a) {
      for (int p = 0; p < numProto; ++p) {
        const bool ours = a < NCCL_NUM_ALGORITHMS && written[a] && p == NCCL_PROTO_SIMPLE;
        if (!ours && entry(a, p) >= 0) entry(a, p) = NCCL_ALGO_PROTO_IGNORE;
      }
    }
  }
  return ncclSuccess;
}

ncclResult_t finalize(void* context) {
  delete static_cast<Context*>(context);
  return ncclSuccess;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) extern const ncclTuner_v5_t ncclTunerPlugin_v5;
__attribute__((visibility("default"))) extern const ncclTuner_v4_t ncclTunerPlugin_v4;

const ncclTuner_v5_t ncclTunerPlugin_v5 = {"tutti", initV5, getCollInfo, finalize};
const ncclTuner_v4_t ncclTunerPlugin_v4 = {"tutti", initV4, getCollInfo, finalize};

}  // extern "C"
