/* Test tuner plugin written against NCCL's tuner ABI as an outside user would
 * (src/nccl_tuner/nccl_tuner_abi.h): v5 prefers RING for every collective; its v4 symbol
 * prefers TREE, so that a test can tell which one the loader took (v5 must win). Keeps the
 * table and init arguments it saw, for tests/algo/tuner_test.cc. */
#include <stdint.h>
#include <string.h>

#include "algo/nccl_tuner_abi.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT float tuttiTestTable[NCCL_NUM_ALGORITHMS][NCCL_NUM_PROTOCOLS];
EXPORT int tuttiTestFunc = -1;
EXPORT size_t tuttiTestBytes = 0;
EXPORT int tuttiTestDims[2] = {0, 0};    /* numAlgo, numProto */
EXPORT size_t tuttiTestInit[2] = {0, 0}; /* nRanks, nNodes */
EXPORT ncclNvlDomainInfo_v5_t tuttiTestNvl;
EXPORT int tuttiTestHadConstants = 0;
EXPORT int tuttiTestFinalized = 0;

static int context = 5;

static ncclResult_t initV5(void** ctx, uint64_t commId, size_t nRanks, size_t nNodes,
                           ncclDebugLogger_t logFunction, ncclNvlDomainInfo_v5_t* nvlDomainInfo,
                           ncclTunerConstants_v5_t* constants) {
  (void)commId;
  tuttiTestInit[0] = nRanks;
  tuttiTestInit[1] = nNodes;
  if (nvlDomainInfo != NULL) tuttiTestNvl = *nvlDomainInfo;
  if (constants != NULL) {
    tuttiTestHadConstants = 1;
    constants->baseLatencies[NCCL_ALGO_RING][NCCL_PROTO_SIMPLE] = 1.0; /* writable */
  }
  logFunction(NCCL_LOG_INFO, NCCL_INIT | NCCL_TUNING, __FILE__, __LINE__, "v5 init %zu ranks",
              nRanks);
  *ctx = &context;
  return ncclSuccess;
}

/* Indexes the table the way NCCL documents: a contiguous float[numAlgo][numProto]. */
static ncclResult_t prefer(void* ctx, ncclFunc_t collType, size_t nBytes, float** collCostTable,
                           int numAlgo, int numProto, int algorithm) {
  if (ctx != &context) return ncclInternalError;
  float(*table)[NCCL_NUM_PROTOCOLS] = (float(*)[NCCL_NUM_PROTOCOLS])collCostTable;
  memcpy(tuttiTestTable, table, sizeof(tuttiTestTable));
  tuttiTestFunc = (int)collType;
  tuttiTestBytes = nBytes;
  tuttiTestDims[0] = numAlgo;
  tuttiTestDims[1] = numProto;
  if (table[algorithm][NCCL_PROTO_SIMPLE] != NCCL_ALGO_PROTO_IGNORE) {
    table[algorithm][NCCL_PROTO_SIMPLE] = 0.0f;
  }
  return ncclSuccess;
}

static ncclResult_t getCollInfoRing(void* ctx, ncclFunc_t collType, size_t nBytes, int numPipeOps,
                                    float** collCostTable, int numAlgo, int numProto, int regBuff,
                                    int* nChannels) {
  (void)numPipeOps;
  (void)regBuff;
  *nChannels = 4; /* allowed; Tutti has no channels and ignores it */
  return prefer(ctx, collType, nBytes, collCostTable, numAlgo, numProto, NCCL_ALGO_RING);
}

static ncclResult_t getCollInfoTree(void* ctx, ncclFunc_t collType, size_t nBytes, int numPipeOps,
                                    float** collCostTable, int numAlgo, int numProto, int regBuff,
                                    int* nChannels) {
  (void)numPipeOps;
  (void)regBuff;
  (void)nChannels;
  return prefer(ctx, collType, nBytes, collCostTable, numAlgo, numProto, NCCL_ALGO_TREE);
}

static ncclResult_t finalize(void* ctx) {
  if (ctx != &context) return ncclInternalError;
  ++tuttiTestFinalized;
  return ncclSuccess;
}

static ncclResult_t initV4(size_t nRanks, size_t nNodes, ncclDebugLogger_t logFunction,
                           void** ctx) {
  (void)logFunction;
  tuttiTestInit[0] = nRanks;
  tuttiTestInit[1] = nNodes;
  *ctx = &context;
  return ncclSuccess;
}

EXPORT const ncclTuner_v5_t ncclTunerPlugin_v5 = {"v5_ring", initV5, getCollInfoRing, finalize};
EXPORT const ncclTuner_v4_t ncclTunerPlugin_v4 = {"v4_tree", initV4, getCollInfoTree, finalize};
