/*
 * Tutti tuner plugins: a shared library that adjusts Tutti's algorithm choice.
 *
 * Loading. A communicator loads a plugin at creation when TUTTI_TUNER_PLUGIN is set: a path (it
 * contains a '/'), or a name N, tried as libtutti-tuner-N.so and then as N (dlopen's search
 * path: LD_LIBRARY_PATH, the runtime path, the system directories). "none" or an empty value
 * loads nothing. Tutti looks up the symbol TUTTI_TUNER_PLUGIN_SYMBOL ("tuttiTunerPlugin_v1", a
 * tuttiTuner_v1_t); a library without it may instead export NCCL's tuner ABI
 * (ncclTunerPlugin_v5, else ncclTunerPlugin_v4, as NCCL 2.28 loads them), which Tutti presents
 * with NCCL's cost table (docs/algorithms.md, "Tuner plugins"). Each communicator opens the
 * library (dlopen counts references) and gets its own context.
 *
 * What a plugin decides. For each call shape Tutti plans, it predicts every algorithm's time with
 * its cost model (docs/algorithms.md) and hands the predictions to getCollInfo, which may change
 * them; Tutti then runs the cheapest remaining candidate (on a tie the one with the lower index).
 * TUTTI_ALGO wins over the plugin: where a TUTTI_ALGO rule covers a call, getCollInfo is not
 * called. The plugin can re-rank and remove candidates, never add one: an algorithm Tutti marked
 * TUTTI_TUNER_IGNORE (it does not apply to this call, or TUTTI_ALGO excludes it) stays ignored
 * whatever the plugin writes there.
 *
 * Every rank must choose alike. Ranks that run different algorithms for the same call fail it
 * (tuttiInternalError, or tuttiTimeout). So getCollInfo must be a function of its arguments and
 * of what init received (which is the same on every rank), and the plugin must be the same
 * library on every rank: at creation the ranks compare which plugin each loaded, and if any rank
 * differs (or failed to load it) every rank ignores the plugin (logged at WARN).
 *
 * Failures are never fatal. A library that cannot be opened, exports no known symbol, has a NULL
 * function pointer, or whose init returns an error is ignored (logged at WARN) and Tutti chooses
 * by its cost model. A getCollInfo that returns an error, or that leaves no candidate, has its
 * changes discarded for that call (WARN once per communicator, INFO afterwards).
 *
 * When getCollInfo is called. When a communicator plans a call whose (collective, count, element
 * size) is not among the 16 it planned most recently; the result is cached with the plan, so a
 * training loop that repeats its calls asks the plugin once per shape, not once per call.
 *
 * Thread-safety. init and destroy run on the thread that creates or destroys the communicator,
 * getCollInfo on the thread calling a collective on it. Calls with the same context never
 * overlap; calls with different contexts (different communicators) may run concurrently, so
 * state shared between contexts must be protected by the plugin.
 *
 * Example: examples/tuner/rules_tuner.c (per-collective, per-size rules read from a file).
 */
#ifndef TUTTI_TUTTI_TUNER_H_
#define TUTTI_TUTTI_TUNER_H_

#include <stddef.h>
#include <stdint.h>

#include "tutti/tutti.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The symbol a Tutti tuner plugin exports: a tuttiTuner_v1_t with default visibility. */
#define TUTTI_TUNER_PLUGIN_SYMBOL "tuttiTunerPlugin_v1"

/* A cost table entry that is not a candidate. Any negative value (and NaN) written by the plugin
 * also removes the candidate. */
#define TUTTI_TUNER_IGNORE (-1.0)

/* Collectives, numbered as NCCL's ncclFunc_t (so a plugin serving both ABIs can share code). */
typedef enum {
  tuttiTunerBroadcast = 0,
  tuttiTunerReduce = 1,
  tuttiTunerAllGather = 2,
  tuttiTunerReduceScatter = 3,
  tuttiTunerAllReduce = 4,
  tuttiTunerAlltoAll = 8,
  tuttiTunerScatter = 9,
  tuttiTunerGather = 10
} tuttiTunerFunc_t;

/* Log levels, numbered as TUTTI_DEBUG's: a message shows when TUTTI_DEBUG is at least its level
 * (WARN messages always show when TUTTI_DEBUG is WARN or more; INFO and TRACE ones when
 * TUTTI_DEBUG_SUBSYS includes COLL). */
typedef enum {
  TUTTI_TUNER_LOG_WARN = 2,
  TUTTI_TUNER_LOG_INFO = 3,
  TUTTI_TUNER_LOG_TRACE = 4
} tuttiTunerLogLevel_t;

/* Writes one line to Tutti's log (TUTTI_DEBUG_FILE) at `level`; `format` is printf's. Messages
 * longer than 1023 bytes are cut. Thread-safe. */
typedef void (*tuttiTunerLogger_t)(tuttiTunerLogLevel_t level, const char* format, ...);

typedef struct {
  /* The plugin's name, shown in Tutti's log lines. May be NULL. */
  const char* name;

  /* Makes one communicator's context. Called once per communicator, at its creation.
   *   context          out: the plugin's state for this communicator, passed to the other
   *                    calls; may be left NULL
   *   nranks           ranks in the communicator, >= 1
   *   nhosts           hosts they run on (same hostname and boot id, or TUTTI_HOSTID), >= 1
   *   minRanksPerHost  fewest ranks on one host, >= 1
   *   maxRanksPerHost  most ranks on one host (== nranks / nhosts when hosts are even)
   *   commId           the same on every rank of the communicator, different between
   *                    communicators (a hash of the unique id's secret)
   *   log              Tutti's logger; valid until destroy returns
   * Return tuttiSuccess, or an error code to be ignored for this communicator (destroy is then
   * not called; release what init allocated before returning). */
  tuttiResult_t (*init)(void** context, int nranks, int nhosts, int minRanksPerHost,
                        int maxRanksPerHost, uint64_t commId, tuttiTunerLogger_t log);

  /* Adjusts the predicted times of one call shape.
   *   context         what init wrote
   *   collective      which collective
   *   bytes           the size nccl-tests reports: count x element size for all-reduce,
   *                   broadcast and reduce, nranks x count x element size for all-gather,
   *                   reduce-scatter, all-to-all, gather and scatter
   *   numAlgorithms   entries in algorithmNames and costUs (5 in this version)
   *   algorithmNames  algorithmNames[i] names algorithm i: "ring", "rd" (recursive doubling and
   *                   halving), "tree" (double binary tree), "binomial" (binomial tree:
   *                   broadcast and reduce), "direct" (all-to-all, gather, scatter); look
   *                   algorithms up by name, later versions may add some
   *   costUs          in/out: costUs[i] is Tutti's predicted time of algorithm i for this call,
   *                   in microseconds, or TUTTI_TUNER_IGNORE when it is not a candidate. Write
   *                   a time (>= 0) to re-rank, or TUTTI_TUNER_IGNORE to remove a candidate
   * Return tuttiSuccess to apply the table; any other code discards the plugin's changes for
   * this call. The arrays are valid during the call only. */
  tuttiResult_t (*getCollInfo)(void* context, tuttiTunerFunc_t collective, size_t bytes,
                               int numAlgorithms, const char* const* algorithmNames,
                               double* costUs);

  /* Frees the context. Called once, when the communicator is destroyed or aborted. An error is
   * logged and otherwise ignored. */
  tuttiResult_t (*destroy)(void* context);
} tuttiTuner_v1_t;

typedef tuttiTuner_v1_t tuttiTuner_t;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TUTTI_TUTTI_TUNER_H_ */
