/*
 * NCCL's tuner plugin ABI, versions 4 and 5, as NCCL 2.28 (up to 2.28.9) loads it: Tutti's own
 * declarations of the layout NCCL documents (ext-tuner/README.md, ext-tuner/example/nccl/tuner.h,
 * src/include/plugin/tuner/tuner_v4.h and tuner_v5.h of NVIDIA/nccl). Used by Tutti's loader
 * (src/algo/tuner.cc), by libnccl-tuner-tutti.so (src/nccl_tuner/) and by the test plugins.
 * Plain C. Do not include it together with NCCL's own headers: the names are NCCL's.
 *
 * How NCCL uses a plugin (src/plugin/tuner.cc, src/enqueue.cc of 2.28):
 * - NCCL_TUNER_PLUGIN names the library: dlopen of the value as given, then libnccl-tuner-N.so;
 *   "none" disables it. NCCL looks up ncclTunerPlugin_v5, then _v4 (then _v3, _v2, which Tutti
 *   does not implement). The symbol is a struct object, not a function.
 * - init once per communicator; finalize (v5) or destroy (v4) at its destruction.
 * - getCollInfo per collective, with a cost table that is a contiguous
 *   float collCostTable[NCCL_NUM_ALGORITHMS][NCCL_NUM_PROTOCOLS] passed as (float**): the
 *   pointer is the address of the first float, NOT an array of row pointers. Index it as
 *   ((float (*)[NCCL_NUM_PROTOCOLS])collCostTable)[algorithm][protocol]; collCostTable[a][p]
 *   would read floats as pointers and fault. Entries are predicted times in microseconds;
 *   NCCL_ALGO_PROTO_IGNORE (-1.0) marks combinations that are unavailable (or excluded by
 *   NCCL_ALGO/NCCL_PROTO) and must stay so. NCCL runs the cheapest entry that is not ignored.
 * - An error from getCollInfo makes NCCL fall back to its own tuning for that call.
 */
#ifndef TUTTI_NCCL_TUNER_ABI_H_
#define TUTTI_NCCL_TUNER_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* nccl.h's result codes (an int-sized enum). */
typedef enum {
  ncclSuccess = 0,
  ncclUnhandledCudaError = 1,
  ncclSystemError = 2,
  ncclInternalError = 3,
  ncclInvalidArgument = 4,
  ncclInvalidUsage = 5,
  ncclRemoteError = 6,
  ncclInProgress = 7,
  ncclNumResults = 8
} ncclResult_t;

/* nccl_common.h: the log function NCCL passes to plugins. */
typedef enum {
  NCCL_LOG_NONE = 0,
  NCCL_LOG_VERSION = 1,
  NCCL_LOG_WARN = 2,
  NCCL_LOG_INFO = 3,
  NCCL_LOG_ABORT = 4,
  NCCL_LOG_TRACE = 5
} ncclDebugLogLevel;

/* Subsystem flags of a log message (the ones a tuner uses; NCCL defines more bits). */
#define NCCL_INIT 0x1
#define NCCL_COLL 0x2
#define NCCL_TUNING 0x40
#define NCCL_ENV 0x80

typedef void (*ncclDebugLogger_t)(ncclDebugLogLevel level, unsigned long flags, const char* file,
                                  int line, const char* fmt, ...);

/* The collective of a getCollInfo call (nccl_common.h; 2.28 numbers more, e.g. AlltoAll = 8,
 * that reach tuners only for algorithms Tutti does not model). */
typedef enum {
  ncclFuncBroadcast = 0,
  ncclFuncReduce = 1,
  ncclFuncAllGather = 2,
  ncclFuncReduceScatter = 3,
  ncclFuncAllReduce = 4,
  ncclFuncSendRecv = 5,
  ncclFuncSend = 6,
  ncclFuncRecv = 7
} ncclFunc_t;

/* Rows and columns of the cost table. */
#define NCCL_NUM_ALGORITHMS 7
#define NCCL_ALGO_TREE 0
#define NCCL_ALGO_RING 1
#define NCCL_ALGO_COLLNET_DIRECT 2
#define NCCL_ALGO_COLLNET_CHAIN 3
#define NCCL_ALGO_NVLS 4
#define NCCL_ALGO_NVLS_TREE 5
#define NCCL_ALGO_PAT 6

#define NCCL_NUM_PROTOCOLS 3
#define NCCL_PROTO_LL 0
#define NCCL_PROTO_LL128 1
#define NCCL_PROTO_SIMPLE 2

#define NCCL_ALGO_PROTO_IGNORE (-1.0f)

/* v5's init arguments. NVLink domains: sets of GPUs joined by NVLink (a node, or a multi-node
 * NVLink rack). */
typedef struct {
  int nNvlDomains;
  int minRanksPerNvlDomain;
  int maxRanksPerNvlDomain;
} ncclNvlDomainInfo_v5_t;

#define NCCL_NUM_HW_LINKS_V5 3
#define NCCL_NUM_COMPCAPS_V5 4
#define NCCL_NUM_TUNING_SCALES_V5 3

/* NCCL's tuning model constants, which a v5 plugin may read and change at init (latencies in
 * us, bandwidths in GB/s). */
typedef struct {
  double baseLatencies[NCCL_NUM_ALGORITHMS][NCCL_NUM_PROTOCOLS];
  double hwLatencies[NCCL_NUM_HW_LINKS_V5][NCCL_NUM_ALGORITHMS][NCCL_NUM_PROTOCOLS];
  double llMaxBws[NCCL_NUM_COMPCAPS_V5][NCCL_NUM_TUNING_SCALES_V5];
  double perChMaxRingLL128Bws[NCCL_NUM_COMPCAPS_V5][NCCL_NUM_TUNING_SCALES_V5];
  double perChMaxTreeLL128Bws[NCCL_NUM_COMPCAPS_V5][NCCL_NUM_TUNING_SCALES_V5];
  double perChMaxTreeBws[NCCL_NUM_COMPCAPS_V5][NCCL_NUM_TUNING_SCALES_V5];
  double perChMaxNVLSTreeBws[NCCL_NUM_COMPCAPS_V5][NCCL_NUM_TUNING_SCALES_V5];
} ncclTunerConstants_v5_t;

/* Exported as ncclTunerPlugin_v5 (NCCL 2.28). Field order is the ABI. */
typedef struct {
  const char* name;
  /* context out; commId: the communicator's hash; nRanks, nNodes: its ranks and nodes;
   * nvlDomainInfo: in; constants: in/out (see above). */
  ncclResult_t (*init)(void** context, uint64_t commId, size_t nRanks, size_t nNodes,
                       ncclDebugLogger_t logFunction, ncclNvlDomainInfo_v5_t* nvlDomainInfo,
                       ncclTunerConstants_v5_t* constants);
  /* nBytes: the larger of the send and receive buffers; numPipeOps: operations in the group;
   * collCostTable: see above; numAlgo, numProto: its dimensions; regBuff: whether the user
   * buffers are registered; nChannels: out, 0 or unchanged lets NCCL decide. */
  ncclResult_t (*getCollInfo)(void* context, ncclFunc_t collType, size_t nBytes, int numPipeOps,
                              float** collCostTable, int numAlgo, int numProto, int regBuff,
                              int* nChannels);
  ncclResult_t (*finalize)(void* context);
} ncclTuner_v5_t;

/* Exported as ncclTunerPlugin_v4 (the ABI before v5; NCCL 2.28 still loads it). Note init's
 * different arguments, with the context last. */
typedef struct {
  const char* name;
  ncclResult_t (*init)(size_t nRanks, size_t nNodes, ncclDebugLogger_t logFunction, void** context);
  ncclResult_t (*getCollInfo)(void* context, ncclFunc_t collType, size_t nBytes, int numPipeOps,
                              float** collCostTable, int numAlgo, int numProto, int regBuff,
                              int* nChannels);
  ncclResult_t (*destroy)(void* context);
} ncclTuner_v4_t;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TUTTI_NCCL_TUNER_ABI_H_ */
