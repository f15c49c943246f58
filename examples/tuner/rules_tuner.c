/*
 * rules_tuner: a Tutti tuner plugin (include/tutti/tutti_tuner.h) that forces algorithms by
 * collective and size, from rules in a file.
 *
 *   TUTTI_TUNER_PLUGIN=/path/to/libtutti-tuner-rules.so TUTTI_TUNER_RULES=rules.txt ./allreduce 4
 *   (or TUTTI_TUNER_PLUGIN=rules with the library's directory in LD_LIBRARY_PATH)
 *
 * The rules file, one rule per line, '#' starts a comment:
 *
 *   # collective   from-bytes  to-bytes  algorithm
 *   allreduce      0           65536     rd
 *   allreduce      65536       -         ring
 *   *              0           -         ring
 *
 * A rule applies to calls of that collective (allreduce, allgather, reducescatter, or * for any)
 * whose size in bytes (as nccl-tests reports it: the larger buffer) is in [from, to); "-" as
 * to-bytes means no upper bound; sizes take a K, M or G suffix (powers of 1024). The first rule
 * that applies and whose algorithm is a candidate for the call (it exists for this rank count
 * and TUTTI_ALGO allows it) forces it: every other candidate is set to TUTTI_TUNER_IGNORE.
 * Calls no rule forces are left to Tutti's cost model. Algorithm names are Tutti's (ring, rd).
 *
 * Errors: without TUTTI_TUNER_RULES, with a file that cannot be read or a malformed line (the
 * log names the line), init fails and Tutti ignores the plugin (it logs a WARN).
 * Thread-safety: the rules are read once per communicator at init and only read afterwards.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tutti/tutti_tuner.h>

#define MAX_NAME 32

typedef struct {
  int collective; /* tuttiTunerFunc_t, or -1 for any */
  unsigned long long from;
  unsigned long long to; /* exclusive; ULLONG_MAX: unbounded */
  char algorithm[MAX_NAME];
} Rule;

typedef struct {
  Rule* rules;
  int count;
  tuttiTunerLogger_t log;
} Context;

static int parseCollective(const char* name) {
  if (strcmp(name, "*") == 0 || strcmp(name, "any") == 0) return -1;
  if (strcmp(name, "allreduce") == 0) return tuttiTunerAllReduce;
  if (strcmp(name, "allgather") == 0) return tuttiTunerAllGather;
  if (strcmp(name, "reducescatter") == 0) return tuttiTunerReduceScatter;
  return -2;
}

/* Bytes with an optional K/M/G suffix; "-" (unbounded) only where allowUnbounded. */
static int parseBytes(const char* text, int allowUnbounded, unsigned long long* out) {
  if (allowUnbounded && strcmp(text, "-") == 0) {
    *out = ~0ull;
    return 1;
  }
  if (!isdigit((unsigned char)text[0])) return 0;
  errno = 0;
  char* end = NULL;
  unsigned long long value = strtoull(text, &end, 10);
  if (errno != 0) return 0;
  int shift = 0;
  if (*end == 'K' || *end == 'k') shift = 10;
  if (*end == 'M' || *end == 'm') shift = 20;
  if (*end == 'G' || *end == 'g') shift = 30;
  if (shift != 0) ++end;
  if (*end != '\0' || value > (~0ull >> shift)) return 0;
  *out = value << shift;
  return 1;
}

static tuttiResult_t readRules(Context* ctx, const char* path) {
  FILE* file = fopen(path, "r");
  if (file == NULL) {
    ctx->log(TUTTI_TUNER_LOG_WARN, "rules_tuner: cannot open TUTTI_TUNER_RULES=%s: %s", path,
             strerror(errno));
    return tuttiInvalidArgument;
  }
  char line[512];
  int lineNumber = 0;
  tuttiResult_t result = tuttiSuccess;
  while (result == tuttiSuccess && fgets(line, sizeof(line), file) != NULL) {
    ++lineNumber;
    char* comment = strchr(line, '#');
    if (comment != NULL) *comment = '\0';
    char collective[MAX_NAME], from[MAX_NAME], to[MAX_NAME], algorithm[MAX_NAME], extra[2];
    int fields = sscanf(line, "%31s %31s %31s %31s %1s", collective, from, to, algorithm, extra);
    if (fields <= 0) continue; /* blank or comment */
    Rule rule;
    rule.collective = parseCollective(collective);
    if (fields != 4 || rule.collective == -2 || !parseBytes(from, 0, &rule.from) ||
        !parseBytes(to, 1, &rule.to) || rule.from >= rule.to) {
      ctx->log(TUTTI_TUNER_LOG_WARN,
               "rules_tuner: %s:%d: want 'collective from-bytes to-bytes algorithm' with "
               "collective allreduce, allgather, reducescatter or *, from < to",
               path, lineNumber);
      result = tuttiInvalidArgument;
      break;
    }
    snprintf(rule.algorithm, sizeof(rule.algorithm), "%s", algorithm);
    Rule* grown = realloc(ctx->rules, (size_t)(ctx->count + 1) * sizeof(Rule));
    if (grown == NULL) {
      result = tuttiSystemError;
      break;
    }
    ctx->rules = grown;
    ctx->rules[ctx->count++] = rule;
  }
  fclose(file);
  if (result == tuttiSuccess) {
    ctx->log(TUTTI_TUNER_LOG_INFO, "rules_tuner: %d rule(s) from %s", ctx->count, path);
  }
  return result;
}

static tuttiResult_t rulesInit(void** context, int nranks, int nhosts, int minRanksPerHost,
                               int maxRanksPerHost, uint64_t commId, tuttiTunerLogger_t log) {
  (void)nranks;
  (void)nhosts;
  (void)minRanksPerHost;
  (void)maxRanksPerHost;
  (void)commId;
  const char* path = getenv("TUTTI_TUNER_RULES");
  if (path == NULL || *path == '\0') {
    log(TUTTI_TUNER_LOG_WARN, "rules_tuner: TUTTI_TUNER_RULES names no rules file");
    return tuttiInvalidArgument;
  }
  Context* ctx = calloc(1, sizeof(Context));
  if (ctx == NULL) return tuttiSystemError;
  ctx->log = log;
  tuttiResult_t result = readRules(ctx, path);
  if (result != tuttiSuccess) {
    free(ctx->rules);
    free(ctx);
    return result;
  }
  *context = ctx;
  return tuttiSuccess;
}

static tuttiResult_t rulesGetCollInfo(void* context, tuttiTunerFunc_t collective, size_t bytes,
                                      int numAlgorithms, const char* const* algorithmNames,
                                      double* costUs) {
  const Context* ctx = context;
  for (int r = 0; r < ctx->count; ++r) {
    const Rule* rule = &ctx->rules[r];
    if (rule->collective != -1 && rule->collective != (int)collective) continue;
    if (bytes < rule->from || bytes >= rule->to) continue;
    int forced = -1;
    for (int a = 0; a < numAlgorithms; ++a) {
      if (strcmp(algorithmNames[a], rule->algorithm) == 0 && costUs[a] >= 0) forced = a;
    }
    if (forced < 0) continue; /* not a candidate here: the next rule may apply */
    for (int a = 0; a < numAlgorithms; ++a) {
      if (a != forced) costUs[a] = TUTTI_TUNER_IGNORE;
    }
    return tuttiSuccess;
  }
  return tuttiSuccess;
}

static tuttiResult_t rulesDestroy(void* context) {
  Context* ctx = context;
  if (ctx != NULL) free(ctx->rules);
  free(ctx);
  return tuttiSuccess;
}

__attribute__((visibility("default")))
const tuttiTuner_v1_t tuttiTunerPlugin_v1 = {"rules", rulesInit, rulesGetCollInfo, rulesDestroy};
