/* Test tuner plugin whose Tutti and v5 symbols have NULL functions: the loader must skip both
 * (without calling through them) and take the valid v4 symbol. */
#include <stddef.h>
#include <tutti/tutti_tuner.h>

#include "algo/nccl_tuner_abi.h"

#define EXPORT __attribute__((visibility("default")))

static int context = 7;

static tuttiResult_t tuttiInit(void** ctx, int nranks, int nhosts, int minRanksPerHost,
                               int maxRanksPerHost, uint64_t commId, tuttiTunerLogger_t log) {
  (void)nranks;
  (void)nhosts;
  (void)minRanksPerHost;
  (void)maxRanksPerHost;
  (void)commId;
  (void)log;
  *ctx = &context;
  return tuttiSuccess;
}

static ncclResult_t v4Init(size_t nRanks, size_t nNodes, ncclDebugLogger_t logFunction,
                           void** ctx) {
  (void)nRanks;
  (void)nNodes;
  (void)logFunction;
  *ctx = &context;
  return ncclSuccess;
}

static ncclResult_t v4GetCollInfo(void* ctx, ncclFunc_t collType, size_t nBytes, int numPipeOps,
                                  float** collCostTable, int numAlgo, int numProto, int regBuff,
                                  int* nChannels) {
  (void)collType;
  (void)nBytes;
  (void)numPipeOps;
  (void)collCostTable;
  (void)numAlgo;
  (void)numProto;
  (void)regBuff;
  (void)nChannels;
  return ctx == &context ? ncclSuccess : ncclInternalError;
}

static ncclResult_t v4Destroy(void* ctx) {
  return ctx == &context ? ncclSuccess : ncclInternalError;
}

EXPORT const tuttiTuner_v1_t tuttiTunerPlugin_v1 = {"null_functions", tuttiInit, NULL, NULL};
EXPORT const ncclTuner_v5_t ncclTunerPlugin_v5 = {"null_functions", NULL, NULL, NULL};
EXPORT const ncclTuner_v4_t ncclTunerPlugin_v4 = {"null_functions_v4", v4Init, v4GetCollInfo,
                                                  v4Destroy};
