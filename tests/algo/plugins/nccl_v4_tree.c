/* Test tuner plugin with NCCL's v4 tuner ABI only (src/nccl_tuner/nccl_tuner_abi.h), written as
 * an outside user would: TREE (Tutti's rd for all-reduce) costs nothing. Found only through the
 * loader's fallback from ncclTunerPlugin_v5 to ncclTunerPlugin_v4. */
#include <stddef.h>

#include "algo/nccl_tuner_abi.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT int tuttiTestDestroys = 0;

static int context = 4;

static ncclResult_t init(size_t nRanks, size_t nNodes, ncclDebugLogger_t logFunction, void** ctx) {
  (void)nRanks;
  (void)nNodes;
  logFunction(NCCL_LOG_TRACE, NCCL_TUNING, __FILE__, __LINE__, "v4 init");
  *ctx = &context;
  return ncclSuccess;
}

static ncclResult_t getCollInfo(void* ctx, ncclFunc_t collType, size_t nBytes, int numPipeOps,
                                float** collCostTable, int numAlgo, int numProto, int regBuff,
                                int* nChannels) {
  (void)collType;
  (void)nBytes;
  (void)numPipeOps;
  (void)regBuff;
  (void)nChannels;
  if (ctx != &context || numAlgo <= NCCL_ALGO_TREE || numProto <= NCCL_PROTO_SIMPLE) {
    return ncclInternalError;
  }
  float* table = (float*)collCostTable; /* contiguous: row a starts at a * numProto */
  float* treeSimple = &table[NCCL_ALGO_TREE * numProto + NCCL_PROTO_SIMPLE];
  if (*treeSimple != NCCL_ALGO_PROTO_IGNORE) *treeSimple = 0.0f;
  return ncclSuccess;
}

static ncclResult_t destroy(void* ctx) {
  if (ctx != &context) return ncclInternalError;
  ++tuttiTestDestroys;
  return ncclSuccess;
}

EXPORT const ncclTuner_v4_t ncclTunerPlugin_v4 = {"v4_tree", init, getCollInfo, destroy};
