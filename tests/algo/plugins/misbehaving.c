/* Test tuner plugin, Tutti's ABI, that misbehaves in the way TUTTI_TEST_TUNER_MODE (read at
 * init) names:
 *   init_error     init fails
 *   coll_error     getCollInfo scribbles on the table (rd free, ring ignored), then fails
 *   nan            getCollInfo sets rd to NaN
 *   ignore_all     getCollInfo removes every candidate
 *   revive         getCollInfo sets every entry to 0, also the ones Tutti ignored
 *   destroy_error  destroy fails
 * Counts its calls for tests/algo/tuner_test.cc. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tutti/tutti_tuner.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT int tuttiTestInits = 0;
EXPORT int tuttiTestDestroys = 0;
EXPORT int tuttiTestCalls = 0;

static char mode[32];

static tuttiResult_t init(void** ctx, int nranks, int nhosts, int minRanksPerHost,
                          int maxRanksPerHost, uint64_t commId, tuttiTunerLogger_t log) {
  (void)nranks;
  (void)nhosts;
  (void)minRanksPerHost;
  (void)maxRanksPerHost;
  (void)commId;
  ++tuttiTestInits;
  const char* text = getenv("TUTTI_TEST_TUNER_MODE");
  strncpy(mode, text != NULL ? text : "", sizeof(mode) - 1);
  log(TUTTI_TUNER_LOG_INFO, "misbehaving: mode '%s'", mode);
  *ctx = NULL; /* allowed */
  return strcmp(mode, "init_error") == 0 ? tuttiInternalError : tuttiSuccess;
}

static tuttiResult_t getCollInfo(void* ctx, tuttiTunerFunc_t collective, size_t bytes,
                                 int numAlgorithms, const char* const* algorithmNames,
                                 double* costUs) {
  (void)ctx;
  (void)collective;
  (void)bytes;
  ++tuttiTestCalls;
  for (int a = 0; a < numAlgorithms; ++a) {
    const int rd = strcmp(algorithmNames[a], "rd") == 0;
    if (strcmp(mode, "coll_error") == 0) costUs[a] = rd ? 0.0 : TUTTI_TUNER_IGNORE;
    if (strcmp(mode, "nan") == 0 && rd) costUs[a] = nan("");
    if (strcmp(mode, "ignore_all") == 0) costUs[a] = TUTTI_TUNER_IGNORE;
    if (strcmp(mode, "revive") == 0) costUs[a] = rd ? 0.0 : 1.0;
  }
  return strcmp(mode, "coll_error") == 0 ? tuttiInternalError : tuttiSuccess;
}

static tuttiResult_t destroy(void* ctx) {
  (void)ctx;
  ++tuttiTestDestroys;
  return strcmp(mode, "destroy_error") == 0 ? tuttiInternalError : tuttiSuccess;
}

EXPORT const tuttiTuner_v1_t tuttiTunerPlugin_v1 = {"misbehaving", init, getCollInfo, destroy};
