/* Test tuner plugin, Tutti's ABI: all-reduce by rd costs nothing. Counts its calls and keeps
 * what init received, for tests/algo/tuner_test.cc to read through dlsym. */
#include <stdint.h>
#include <string.h>
#include <tutti/tutti_tuner.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT int tuttiTestInits = 0;
EXPORT int tuttiTestDestroys = 0;
EXPORT int tuttiTestCalls = 0;
EXPORT int tuttiTestShape[4] = {0, 0, 0, 0}; /* nranks, nhosts, min and max ranks per host */
EXPORT uint64_t tuttiTestCommId = 0;
EXPORT int tuttiTestNumAlgorithms = 0;
EXPORT int tuttiTestCollective = -1; /* the last call's tuttiTunerFunc_t */

static int context = 42;

static tuttiResult_t init(void** ctx, int nranks, int nhosts, int minRanksPerHost,
                          int maxRanksPerHost, uint64_t commId, tuttiTunerLogger_t log) {
  ++tuttiTestInits;
  tuttiTestShape[0] = nranks;
  tuttiTestShape[1] = nhosts;
  tuttiTestShape[2] = minRanksPerHost;
  tuttiTestShape[3] = maxRanksPerHost;
  tuttiTestCommId = commId;
  log(TUTTI_TUNER_LOG_INFO, "rd_zero: init %d ranks on %d hosts", nranks, nhosts);
  *ctx = &context;
  return tuttiSuccess;
}

static tuttiResult_t getCollInfo(void* ctx, tuttiTunerFunc_t collective, size_t bytes,
                                 int numAlgorithms, const char* const* algorithmNames,
                                 double* costUs) {
  (void)bytes;
  if (ctx != &context) return tuttiInternalError;
  ++tuttiTestCalls;
  tuttiTestNumAlgorithms = numAlgorithms;
  tuttiTestCollective = (int)collective;
  if (collective != tuttiTunerAllReduce) return tuttiSuccess;
  for (int a = 0; a < numAlgorithms; ++a) {
    if (strcmp(algorithmNames[a], "rd") == 0 && costUs[a] >= 0) costUs[a] = 0.0;
  }
  return tuttiSuccess;
}

static tuttiResult_t destroy(void* ctx) {
  if (ctx != &context) return tuttiInternalError;
  ++tuttiTestDestroys;
  return tuttiSuccess;
}

EXPORT const tuttiTuner_v1_t tuttiTunerPlugin_v1 = {"rd_zero", init, getCollInfo, destroy};
