/*
 * Tutti: collective communication for multi-host GPU and CPU training.
 *
 * The C API is shaped after NCCL's: the same call signatures, the same numbering of results,
 * data types and reduction ops, so that a shim can map one onto the other one-to-one.
 *
 * Counts are in elements of the given data type, never in bytes.
 *
 * Buffers and streams. Host buffers take either a NULL stream or a Tutti host stream
 * (tuttiHostStream_t, below). With host buffers and a NULL stream, every collective is blocking:
 * it returns once this rank's output buffer holds the final result (other ranks may still be
 * finishing). With a host stream it is queued and returns at once, as an NCCL call returns once
 * enqueued on a CUDA stream. Device buffers (memory of the communicator's device: cudaMalloc,
 * tuttiMemAlloc, or the emulated device's, tutti_emulated.h) take a device stream
 * (`tuttiStream_t` is a `cudaStream_t`, or a tuttiEmuStream_t; NULL is the device's default
 * stream): the call enqueues and returns, and completion is the stream's (NCCL's semantics).
 * A call whose buffers mix host and device memory, or lie on another device than the
 * communicator's, is tuttiInvalidArgument. The communicator's device is the current device when
 * it is created (under a launcher that exports LOCAL_RANK, OMPI_COMM_WORLD_LOCAL_RANK or
 * SLURM_LOCALID, that local rank mod the device count when the program set none); several ranks
 * may share one device. Device buffers are staged through page-locked host memory in this build
 * (docs/architecture.md, "Device buffers"), point-to-point calls too (tuttiSend below).
 *
 * Thread-safety. A communicator is used by one thread at a time; calls on the same communicator
 * from several threads at once must be serialized by the caller (tuttiCommAbort and
 * tuttiCommRevoke are the exceptions: either may be called from any thread to unblock a call in
 * progress, though not while another thread destroys the communicator). Different communicators are
 * independent and may be used concurrently from different threads. tuttiGetUniqueId,
 * tuttiGetVersion and tuttiGetErrorString are thread-safe.
 *
 * Errors. Every call returns a tuttiResult_t. On failure a message naming the cause (which
 * argument and why, which peer was lost, which wait timed out) is kept for
 * tuttiGetLastError(). Transport failures (tuttiSystemError, tuttiRemoteError, tuttiTimeout) are
 * sticky: the communicator is then unusable, later calls return the same error, and it must be
 * destroyed or aborted. Argument errors (tuttiInvalidArgument, tuttiInvalidUsage) are not sticky,
 * except a collective mismatch: ranks that make different collective calls (collective, count,
 * type, op or root), or plan one call with different algorithms (TUTTI_ALGO or a tuner differing
 * between ranks), each get tuttiInvalidUsage naming both calls, and the communicator stays in
 * error (TUTTI_CHECK_MISMATCH); and a revoke (tuttiCommRevoke), after which every call returns
 * tuttiInvalidUsage until the communicator is shrunk (tuttiCommShrink) or destroyed.
 *
 * Memory that runs out (std::bad_alloc inside Tutti) never ends the process: any call may
 * return tuttiSystemError with a message saying "out of memory". On a communicator the error is
 * sticky and reaches every rank as a failure of this rank's own (below); once memory is back, a
 * new communicator works. No C++ exception crosses this API.
 *
 * A failed rank is one root cause on every rank. When any rank sees a peer fail (its process
 * died, it stopped answering heartbeats, it aborted, or a call of this rank timed out), every
 * rank of the communicator learns it over the bootstrap network: calls in progress and every
 * later call return tuttiRemoteError (tuttiTimeout when the cause is a rank's timeout) with a
 * message naming the failed rank, its host and pid, what was seen and by which rank, then this
 * rank's call ("all_reduce call #7 on rank 3") and what it waited for; tuttiCommGetAsyncError
 * reports it even on a rank that makes no call. A killed peer is known everywhere in
 * milliseconds; a stopped or hung one after TUTTI_HEARTBEAT_TIMEOUT_MS (docs/reliability.md).
 * A timeout's message also says what the bootstrap watch knows of the rank the call waited
 * for: whether it is alive (heard from recently) and the last call it was seen waiting in, so
 * a rank that never reached the call is told apart from one stalled in it; then what that rank
 * answers when asked at the timeout (the call it is in and whom it waits for, or its last call
 * and how long ago, from its flight recorder), and down the chain: the rank it waits for is
 * asked in turn, and so on (at most 8 ranks) to a rank that waits for nobody, does not answer,
 * has failed, or closes a cycle of waits. The whole chain waits at most a quarter of
 * TUTTI_TIMEOUT_MS (50-500 ms, which the call takes longer to return) for answers.
 *
 * Environment variables (read once, at communicator creation):
 *   TUTTI_DEBUG=VERSION|WARN|INFO|TRACE   log level (default: none; WARN messages still go to
 *                                         the last-error string)
 *   TUTTI_DEBUG_SUBSYS=INIT,COLL,NET,BOOTSTRAP,ENV,ALL (prefix ^ to exclude)
 *   TUTTI_DEBUG_FILE=path                 log file; %h expands to the host name, %p to the pid
 *   TUTTI_TIMEOUT_MS=ms                   inactivity timeout of every wait (default 600000)
 *   TUTTI_INIT_TIMEOUT_MS=ms              init as a whole fails with tuttiTimeout by then, one
 *                                         deadline for all its waits (default 0: none; each
 *                                         wait of init is bounded by TUTTI_TIMEOUT_MS)
 *   TUTTI_HEARTBEAT_TIMEOUT_MS=ms         a peer silent this long on the bootstrap network
 *                                         (stopped, hung) fails the communicator on every rank,
 *                                         even with no call waiting (default 10000; heartbeats
 *                                         every tenth of it, at most 1 s; 0: none)
 *   TUTTI_SOCKET_IFNAME=list              interfaces to use, NCCL syntax: "eth" (prefix),
 *                                         "=eth0" (exact), "^docker" (exclude), comma-separated
 *   TUTTI_BOOTSTRAP_IFNAME=list           the bootstrap's interfaces (unique id root, ring,
 *                                         heartbeat watch), same syntax; default: those of
 *                                         TUTTI_SOCKET_IFNAME. Set, TCP data goes over
 *                                         TUTTI_SOCKET_IFNAME's interfaces, not the bootstrap's
 *   TUTTI_SOCKET_FAMILY=AF_INET|AF_INET6  restrict the address family
 *   TUTTI_NSOCKS_PERPEER=n                TCP sockets per peer and rail (default 2, max 16)
 *   TUTTI_TCP_RAILS=n                     1..8: TCP stripes each peer's sockets over up to n
 *                                         interfaces that TUTTI_SOCKET_IFNAME selects (NIC
 *                                         rails; in name order, rail r of one host to rail r
 *                                         of the other); default 1: the bootstrap's only
 *   TUTTI_CHECKSUM=0|1                    1: a CRC32C of every TCP frame, checked on receipt; a
 *                                         corrupted frame is tuttiSystemError (default 0; alike
 *                                         on every rank, else init fails, tuttiInvalidArgument)
 *   TUTTI_TRANSPORT=list                  transports in order of preference ("tcp",
 *                                         "shm,tcp"); each pair of ranks uses the first that
 *                                         can connect it, TCP when none can. Default "shm,tcp":
 *                                         shared memory on one host, TCP otherwise. "ucx" (a
 *                                         library built with UCX's headers; libucp.so.0 loaded
 *                                         at init) only when listed. An unknown name makes init
 *                                         fail with tuttiInvalidArgument
 *   TUTTI_SHM_DISABLE=1                   never use shared memory
 *   TUTTI_SHM_CMA=0|1                     single-copy (process_vm_readv) path for large
 *                                         shared-memory messages (default 1; 0 when a host has
 *                                         more ranks than CPUs)
 *   TUTTI_ALGO=spec                       pin algorithms, NCCL syntax plus size ranges: "ring",
 *                                         "^rd", "allreduce:0-64K:rd,64K-:ring" (ring, rd, tree,
 *                                         binomial, direct)
 *   TUTTI_CHECK_MISMATCH=0|1              compare every collective's call on all ranks
 *                                         (default 1); 0 only alike on every rank
 *   TUTTI_TUNER_PLUGIN=path|name          tuner plugin (tutti_tuner.h, or NCCL's v5/v4 ABI)
 *   TUTTI_TOPO_FILE=path                  a host's topology from this file instead of detecting
 *   TUTTI_COST_FILE=path                  the cost model's calibrated constants
 *                                         (tutti-perf --calibrate; default ~/.config/tutti/costs)
 *   TUTTI_DEVICE=cuda|emulated|none      device runtime (default: cuda when built and a device is
 *                                         present, else none); emulated is for tests, see
 *                                         tutti_emulated.h
 *   TUTTI_COMM_ID=host:port               for tuttiCommInitFromEnv: where rank 0 listens
 *                                         (derived from the step under srun when unset)
 *   TUTTI_RANK, TUTTI_WORLD_SIZE          for tuttiCommInitFromEnv (else the launcher's variables)
 * docs/architecture.md lists the rest (slicing and transport tuning).
 */
#ifndef TUTTI_TUTTI_H_
#define TUTTI_TUTTI_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TUTTI_MAJOR 0
#define TUTTI_MINOR 1
#define TUTTI_PATCH 0
/* Version code as NCCL composes it for 2.9 and later: major*10000 + minor*100 + patch. */
#define TUTTI_VERSION(X, Y, Z) ((X)*10000 + (Y)*100 + (Z))
#define TUTTI_VERSION_CODE TUTTI_VERSION(TUTTI_MAJOR, TUTTI_MINOR, TUTTI_PATCH)

/* A communicator: one rank's membership of a group of ranks. Opaque. */
typedef struct tuttiComm* tuttiComm_t;
/* A cudaStream_t (or a tuttiEmuStream_t on the emulated device) for device buffers; for host
 * buffers NULL (blocking call) or a tuttiHostStream_t (queued call). */
typedef void* tuttiStream_t;

/* The unique id names one communicator being created: the root's bootstrap address and a random
 * secret that every rank must present. Made by one process with tuttiGetUniqueId and given to
 * every rank (by MPI_Bcast, a file, ...). 128 bytes, like NCCL's. */
#define TUTTI_UNIQUE_ID_BYTES 128
typedef struct {
  char internal[TUTTI_UNIQUE_ID_BYTES];
} tuttiUniqueId;

/* In C++ the enums below have int as their fixed underlying type (as a C enum is an int), so that
 * any int a caller passes (an out-of-range type or op included) is a value of the type that the
 * argument checks can refuse, not undefined behaviour. The ABI is the same in C and C++. */
#ifdef __cplusplus
#define TUTTI_ENUM_INT : int
#else
#define TUTTI_ENUM_INT
#endif

typedef enum TUTTI_ENUM_INT {
  tuttiSuccess = 0,
  tuttiUnhandledCudaError = 1, /* a CUDA call failed */
  tuttiSystemError = 2,        /* a system call failed (socket, mmap, fork, out of memory) */
  tuttiInternalError = 3,      /* a bug in Tutti, or peers that disagree on a call */
  tuttiInvalidArgument = 4,    /* a bad argument: the message names it */
  tuttiInvalidUsage = 5,       /* a call at the wrong time (e.g. on a communicator in error) */
  tuttiRemoteError = 6,        /* a peer failed (died, stopped, aborted): the message names it */
  tuttiInProgress = 7,         /* non-blocking operation still running */
  tuttiTimeout = 8,            /* a wait exceeded the timeout (TUTTI_TIMEOUT_MS) */
  tuttiNumResults = 9
} tuttiResult_t;

/* Data types. Reduced floating types (fp16, bf16, fp8) are reduced in float32 and rounded to
 * nearest even when stored. fp8 formats are the OCP 8-bit floating point specification's E4M3FN
 * (bias 7, no infinities, max 448, NaN = S.1111.111) and E5M2 (bias 15, IEEE-like). A value too
 * large for the format becomes NaN (E4M3FN) or infinity (E5M2), as in PyTorch and ml_dtypes. */
typedef enum TUTTI_ENUM_INT {
  tuttiInt8 = 0,
  tuttiChar = 0,
  tuttiUint8 = 1,
  tuttiInt32 = 2,
  tuttiInt = 2,
  tuttiUint32 = 3,
  tuttiInt64 = 4,
  tuttiUint64 = 5,
  tuttiFloat16 = 6,
  tuttiHalf = 6,
  tuttiFloat32 = 7,
  tuttiFloat = 7,
  tuttiFloat64 = 8,
  tuttiDouble = 8,
  tuttiBfloat16 = 9,
  tuttiFloat8e4m3 = 10,
  tuttiFloat8e5m2 = 11,
  tuttiNumTypes = 12
} tuttiDataType_t;

/* Reduction ops. Integer Sum and Prod wrap around (two's complement). Avg is the Sum divided by
 * the number of ranks once, at the end: for integers a truncating division (toward zero), for
 * floating types a division rounded to nearest even in the reduction type (float32 for fp16,
 * bf16 and fp8). Max and Min of floating types follow fmax/fmin (a NaN loses to a number). */
typedef enum TUTTI_ENUM_INT {
  tuttiSum = 0,
  tuttiProd = 1,
  tuttiMax = 2,
  tuttiMin = 3,
  tuttiAvg = 4,
  tuttiNumOps = 5
} tuttiRedOp_t;

/* Communicator configuration, versioned like NCCL's ncclConfig_t: always start from
 * TUTTI_CONFIG_INITIALIZER, then set the fields you need; unset fields take their environment
 * or built-in default. */
#define TUTTI_CONFIG_UNDEF_INT (-2147483647 - 1)
#define TUTTI_CONFIG_MAGIC 0x74757474u /* "tutt" */
typedef struct {
  size_t size;          /* sizeof(tuttiConfig_t), set by the initializer */
  unsigned int magic;   /* TUTTI_CONFIG_MAGIC, set by the initializer */
  unsigned int version; /* TUTTI_VERSION_CODE of the header compiled against */
  /* Inactivity timeout of every wait, in milliseconds: a wait that sees no progress for this
   * long fails with tuttiTimeout. > 0; default TUTTI_TIMEOUT_MS, else 600000 (10 minutes). */
  int timeoutMs;
  /* Number of TCP sockets per peer and rail, 1..16; default TUTTI_NSOCKS_PERPEER, else 2. */
  int nSocksPerPeer;
  /* Optional name shown in log lines; NULL for none. Copied at init. */
  const char* commName;
} tuttiConfig_t;

#define TUTTI_CONFIG_INITIALIZER                                                           \
  {                                                                                        \
    sizeof(tuttiConfig_t), TUTTI_CONFIG_MAGIC, TUTTI_VERSION_CODE, TUTTI_CONFIG_UNDEF_INT, \
        TUTTI_CONFIG_UNDEF_INT, NULL                                                       \
  }

/* Writes TUTTI_VERSION_CODE of the library into *version.
 * Returns tuttiInvalidArgument if version is NULL. */
tuttiResult_t tuttiGetVersion(int* version);

/* Makes a new unique id and starts, in this process, the root that the ranks of the new
 * communicator meet at: a background thread listening on this host's chosen interface
 * (TUTTI_SOCKET_IFNAME, TUTTI_SOCKET_FAMILY). The thread exits once all ranks have met, or after
 * the timeout (TUTTI_TIMEOUT_MS). Call it in one process; give the id to every rank.
 * Returns tuttiInvalidArgument if uniqueId is NULL; tuttiSystemError if no interface can be
 * used or the listening socket cannot be made. Thread-safe. */
tuttiResult_t tuttiGetUniqueId(tuttiUniqueId* uniqueId);

/* Creates this rank's communicator of nranks ranks. Collective: all nranks ranks must call it
 * with the same id, each with its own rank in [0, nranks). Blocks until all ranks have met and
 * connected, or the timeout elapses.
 * Returns tuttiInvalidArgument (comm NULL, nranks < 1, rank outside [0, nranks), an id that was
 * not made by tuttiGetUniqueId, a config without TUTTI_CONFIG_INITIALIZER or with a field out of
 * range), tuttiSystemError (sockets), tuttiRemoteError (a peer with another secret or rank
 * count, or a peer that failed), tuttiTimeout (not all ranks arrived in time). */
tuttiResult_t tuttiCommInitRank(tuttiComm_t* comm, int nranks, tuttiUniqueId commId, int rank);
tuttiResult_t tuttiCommInitRankConfig(tuttiComm_t* comm, int nranks, tuttiUniqueId commId, int rank,
                                      tuttiConfig_t* config);

/* Creates a communicator from the environment, so that launchers need no code:
 * TUTTI_COMM_ID=host:port (IPv6: [addr]:port) is where rank 0 listens and every rank connects;
 * the rank and size come from TUTTI_RANK/TUTTI_WORLD_SIZE, else OMPI_COMM_WORLD_RANK/_SIZE
 * (mpirun), SLURM_PROCID/SLURM_NTASKS (srun), PMI_RANK/PMI_SIZE, or RANK/WORLD_SIZE (torchrun),
 * first match wins. Under srun (the rank from SLURM_PROCID) TUTTI_COMM_ID may be left unset:
 * every task then derives the same address, the first node of SLURM_STEP_NODELIST (or
 * SLURM_JOB_NODELIST) and a port in [12000, 32000) from SLURM_JOB_ID and SLURM_STEP_ID
 * (docs/launchers.md). Returns what tuttiCommInitRank returns, and tuttiInvalidArgument when
 * TUTTI_COMM_ID (or, under srun, the step's variables) or the rank and size are missing or
 * malformed (the message says which). */
tuttiResult_t tuttiCommInitFromEnv(tuttiComm_t* comm);

/* Frees the communicator once no call is in progress on it. Local: does not wait for other
 * ranks, and tells them this rank left (a peer whose call still needed it fails naming this
 * rank's destroy; a peer that does not is unaffected). Returns tuttiInvalidArgument for a NULL
 * or already destroyed comm. */
tuttiResult_t tuttiCommDestroy(tuttiComm_t comm);

/* Marks the communicator aborted, tells every other rank (their calls in progress and later
 * return tuttiRemoteError naming this rank's abort), closes its connections, unblocks a call in
 * progress on another thread (which then returns tuttiRemoteError), and frees it. Returns
 * tuttiInvalidArgument for a NULL or destroyed comm. */
tuttiResult_t tuttiCommAbort(tuttiComm_t comm);

/* Revokes the communicator (after NCCL 2.28's ncclCommRevoke, with MPI ULFM's MPIX_Comm_revoke
 * reach): a recovery step before tuttiCommShrink. Not collective: one rank calls it.
 *  - On this rank: a call in progress on another thread stops within one 50 ms poll slice and
 *    returns tuttiInvalidUsage; asynchronous calls still queued (host streams) end with
 *    tuttiInvalidUsage without running; the connections close. Returns once the call in
 *    progress has returned.
 *  - On every other rank (told over the bootstrap watch, as failures are; milliseconds): calls
 *    in progress stop and return tuttiInvalidUsage with a message naming this rank ("rank 2
 *    (host h, pid p) revoked the communicator (tuttiCommRevoke)"), and the communicator counts
 *    as revoked there too. If the communicator was in error already (a peer failed), the others
 *    know that failure and are stopped already: the revoke is then this rank's alone.
 *  - From then on every collective, point-to-point call or group on the communicator returns
 *    tuttiInvalidUsage (NCCL's code for calls on a revoked communicator), its message giving
 *    the revoke or the earlier failure; tuttiCommGetAsyncError reports the sticky error. The
 *    bootstrap and its watch stay up: tuttiCommShrink, tuttiCommGetFailedRanks,
 *    tuttiCommDestroy and tuttiCommAbort still work.
 * Returns tuttiSuccess; tuttiInvalidArgument for a NULL or destroyed comm, or one this rank
 * revoked already (as ncclCommRevoke refuses a revoked communicator; one revoked by another rank
 * may be revoked here once). */
tuttiResult_t tuttiCommRevoke(tuttiComm_t comm);

/* Creates newcomm from the ranks of comm not in excludeRanks[0..excludeCount), after NCCL
 * 2.27's ncclCommShrink: they keep their order and are renumbered 0..nranks-excludeCount-1
 * (a survivor's new rank is the number of survivors below its old rank). Collective over the
 * survivors: every rank not excluded calls it with the same list (in any order); excluded ranks
 * do not call it and may be dead. No unique id is needed: the survivors meet through the
 * bootstrap network they share. The lowest survivor opens a new bootstrap root and its address
 * travels over comm's bootstrap watch links (each rank to the ranks at distances 1, 2, 4, ...
 * both ways), which keep the survivors connected when a few ranks are gone; the new
 * communicator's secret derives from comm's and the shrink's number, so no other job or stranger
 * can join. Then it is initialised like a new communicator (transports connected afresh) with
 * comm's configuration (the config and environment comm was created with). Typical use after a
 * failure: tuttiCommGetFailedRanks, then tuttiCommShrink excluding them, then destroy comm.
 * comm may be healthy, in error or revoked, and is left as it was: destroy it (a healthy comm
 * stays usable only while every rank, excluded ones too, keeps to it). No call of this rank runs
 * on comm meanwhile (one in progress on another thread is waited for). Every wait is bounded by
 * comm's timeout (TUTTI_TIMEOUT_MS or config's timeoutMs) per step, as for
 * tuttiCommInitRank. *newcomm is NULL on failure.
 * Returns tuttiInvalidArgument: newcomm NULL, comm NULL or destroyed, excludeCount outside
 * [0, nranks), excludeRanks NULL with excludeCount > 0, an entry outside [0, nranks) or listed
 * twice, the calling rank in the list (the message names the argument and entry);
 * tuttiTimeout: the lowest survivor's address did not arrive within the timeout (it is dead or
 * cut off, or does not call tuttiCommShrink), or a survivor did not arrive at the new root (the
 * message names the missing new ranks and each new rank's old one); tuttiRemoteError: no bootstrap
 * watch link of this rank is open any more, or the new root refused this rank (the survivors passed
 * different lists); tuttiSystemError: sockets. */
tuttiResult_t tuttiCommShrink(tuttiComm_t comm, const int* excludeRanks, int excludeCount,
                              tuttiComm_t* newcomm);

/* The ranks this rank knows have failed, for tuttiCommShrink's excludeRanks: the failed rank of
 * the communicator's verdict (the first failure any rank saw, known on every rank: a killed,
 * stopped or aborted rank), the ranks whose bootstrap watch link to this rank died or fell
 * silent (for TUTTI_HEARTBEAT_TIMEOUT_MS), and the failed ranks the other ranks found, which
 * flood over the watch links like verdicts. Sorted ascending. A revoke names no rank. With one
 * failure every survivor gets the same list. With several at once the lists converge: a killed
 * rank reaches every survivor within milliseconds, a stopped one within the heartbeat timeout;
 * a survivor that asks earlier may list fewer, so wait that long before a shrink after several
 * failures (docs/reliability.md). Once it holds a rank beside the verdict's, the message of a
 * failing or later call (tuttiGetLastError) lists them too.
 * Writes at most maxRanks ranks into ranks and the number known into *count (which may exceed
 * maxRanks; room for nranks - 1 always suffices). Local, thread-safe like
 * tuttiCommGetAsyncError. Returns tuttiInvalidArgument for a NULL or destroyed comm, a NULL
 * count, a negative maxRanks, or ranks NULL with maxRanks > 0. */
tuttiResult_t tuttiCommGetFailedRanks(tuttiComm_t comm, int* ranks, int maxRanks, int* count);

/* Writes the communicator's sticky error into *asyncError: tuttiSuccess while it is healthy,
 * else the first error it met, or the failure of another rank it learned of (a dead, stopped or
 * aborted peer, within TUTTI_HEARTBEAT_TIMEOUT_MS at most) with no call of its own. With an
 * error, tuttiGetLastError(comm) says why from then on (the error of a device call found on its
 * stream, e.g. a p2p barrier's timeout or call mismatch, has no call that returned it). Returns
 * tuttiInvalidArgument for a NULL or destroyed comm or a NULL asyncError. */
tuttiResult_t tuttiCommGetAsyncError(tuttiComm_t comm, tuttiResult_t* asyncError);

/* Writes the communicator's flight recorder: its last TUTTI_FLIGHT_RECORDER operations (default
 * 64), each with its call number, collective, count, type, op, root, algorithm, state (queued,
 * running, completed, failed with the error), start and end times, and the bytes sent to and
 * received from each peer so far. Written to the log at INFO (subsystem COLL), and as JSON to
 * TUTTI_FLIGHT_RECORDER_FILE when it is set (its "%r" replaced by the rank; without "%r",
 * ".rank<N>" appended); tutti-doctor reads the files of every rank and names the rank or link
 * that held a call up. Local: only this rank writes. The same is written, at WARN, whenever an
 * operation of the communicator fails (a timeout included), and on SIGUSR1 when
 * TUTTI_FLIGHT_RECORDER_SIGNAL=1. docs/reliability.md shows the file and the tool.
 * Thread-safe: may be called while a collective runs on the communicator on another thread
 * (what it writes is that call's progress so far) and from several threads at once.
 * Returns tuttiSuccess when written; tuttiInvalidArgument for a NULL or destroyed comm;
 * tuttiInvalidUsage when the recorder is off (TUTTI_FLIGHT_RECORDER=0); tuttiSystemError when
 * TUTTI_FLIGHT_RECORDER_FILE cannot be written (the message names the path and the reason). */
tuttiResult_t tuttiCommDumpState(tuttiComm_t comm);

/* Number of ranks / this rank's index. Return tuttiInvalidArgument for a NULL or destroyed comm
 * or a NULL output pointer. */
tuttiResult_t tuttiCommCount(const tuttiComm_t comm, int* count);
tuttiResult_t tuttiCommUserRank(const tuttiComm_t comm, int* rank);
/* The communicator's device (ncclCommCuDevice): the device its device buffers must be on, or -1
 * when there is no device runtime. tuttiInvalidArgument: device is NULL, or comm is not live. */
tuttiResult_t tuttiCommCuDevice(const tuttiComm_t comm, int* device);

/* A static string naming the result, e.g. "invalid argument". Never NULL. */
const char* tuttiGetErrorString(tuttiResult_t result);

/* The message of the last error: of the communicator when comm is a live communicator, of the
 * calling thread when comm is NULL (e.g. after a failed init). "" when there was none. Valid
 * until the next call on the same communicator (or thread). */
const char* tuttiGetLastError(tuttiComm_t comm);

/* All-reduce: every rank's recvbuff[i] = op over ranks r of rank r's sendbuff[i],
 * for i in [0, count). sendbuff and recvbuff hold count elements; in place when
 * sendbuff == recvbuff. Algorithm: chosen per call by a cost model (ring, recursive doubling
 * or double binary tree; docs/algorithms.md) unless TUTTI_ALGO pins one; results are
 * bit-identical on every rank. Bus bandwidth factor 2(n-1)/n (nccl-tests PERFORMANCE.md).
 * Returns tuttiInvalidArgument (NULL or destroyed comm, datatype or op out of range, NULL
 * sendbuff or recvbuff with count > 0, buffers that overlap without being equal),
 * tuttiInvalidUsage (a stream that is neither NULL nor a live host stream, or a communicator
 * already in error),
 * tuttiSystemError, tuttiRemoteError (a peer was lost), tuttiTimeout. */
tuttiResult_t tuttiAllReduce(const void* sendbuff, void* recvbuff, size_t count,
                             tuttiDataType_t datatype, tuttiRedOp_t op, tuttiComm_t comm,
                             tuttiStream_t stream);

/* All-gather: recvbuff[r*sendcount + i] = rank r's sendbuff[i] for every rank r and
 * i in [0, sendcount). sendbuff holds sendcount elements, recvbuff nranks*sendcount; in place
 * when sendbuff == recvbuff + rank*sendcount. Bus bandwidth factor (n-1)/n.
 * Returns the same errors as tuttiAllReduce (no op to check). */
tuttiResult_t tuttiAllGather(const void* sendbuff, void* recvbuff, size_t sendcount,
                             tuttiDataType_t datatype, tuttiComm_t comm, tuttiStream_t stream);

/* Reduce-scatter: recvbuff[i] = op over ranks r of rank r's sendbuff[rank*recvcount + i] for
 * i in [0, recvcount). sendbuff holds nranks*recvcount elements, recvbuff recvcount; in place
 * when recvbuff == sendbuff + rank*recvcount. Bus bandwidth factor (n-1)/n.
 * Returns the same errors as tuttiAllReduce. */
tuttiResult_t tuttiReduceScatter(const void* sendbuff, void* recvbuff, size_t recvcount,
                                 tuttiDataType_t datatype, tuttiRedOp_t op, tuttiComm_t comm,
                                 tuttiStream_t stream);

/* Rooted collectives (broadcast, reduce, gather, scatter) and all-to-all follow NCCL 2.28's
 * signatures and rules. A buffer a rank does not use is ignored and may be NULL: broadcast's and
 * scatter's sendbuff off the root, reduce's and gather's recvbuff off the root; every buffer may
 * be NULL when count is 0. Send buffers are never written (a rank off the root that passes
 * sendbuff == recvbuff to tuttiReduce keeps its input). Copies move every bit pattern unchanged
 * (NaN payloads, infinities, subnormals). All ranks must call with the same count, datatype, op
 * and root. Each returns tuttiInvalidArgument (NULL or destroyed comm; datatype, or op where
 * there is one, out of range; root outside [0, nranks); a NULL buffer the rank uses with
 * count > 0; buffers that overlap without being the in-place layout named below),
 * tuttiInvalidUsage (a stream that is neither NULL nor a live host stream, or a communicator
 * already in error), tuttiSystemError, tuttiRemoteError (a peer was lost) or tuttiTimeout, like
 * tuttiAllReduce.
 * Thread-safety as every call on a communicator: one thread at a time (top of this file). */

/* Broadcast: every rank's recvbuff[i] = the root's sendbuff[i] for i in [0, count). sendbuff
 * (count elements) is read on the root only; recvbuff holds count elements on every rank; in
 * place when sendbuff == recvbuff on the root. Algorithm: a pipelined chain along the ring
 * ("ring") or a binomial tree ("binomial"), chosen by the cost model (docs/algorithms.md).
 * Bus bandwidth factor 1 (nccl-tests PERFORMANCE.md). */
tuttiResult_t tuttiBroadcast(const void* sendbuff, void* recvbuff, size_t count,
                             tuttiDataType_t datatype, int root, tuttiComm_t comm,
                             tuttiStream_t stream);

/* Reduce: the root's recvbuff[i] = op over ranks r of rank r's sendbuff[i], for i in
 * [0, count). sendbuff holds count elements on every rank; recvbuff count elements, written on
 * the root only; in place when sendbuff == recvbuff. Avg as tuttiRedOp_t says. Algorithm: a
 * pipelined chain ("ring") or a binomial tree ("binomial"), chosen by the cost model. Bus
 * bandwidth factor 1. */
tuttiResult_t tuttiReduce(const void* sendbuff, void* recvbuff, size_t count,
                          tuttiDataType_t datatype, tuttiRedOp_t op, int root, tuttiComm_t comm,
                          tuttiStream_t stream);

/* All-to-all: recvbuff[j*count + i] = rank j's sendbuff[rank*count + i] for every rank j and
 * i in [0, count): count elements per peer, as NCCL 2.28's ncclAlltoAll. sendbuff and recvbuff
 * hold nranks*count elements; in place when sendbuff == recvbuff (the input is then copied aside
 * first, nranks*count elements of temporary memory). Algorithm "direct" (every pair exchanges
 * directly, in pairwise-exchange order). Bus bandwidth factor (n-1)/n. */
tuttiResult_t tuttiAlltoAll(const void* sendbuff, void* recvbuff, size_t count,
                            tuttiDataType_t datatype, tuttiComm_t comm, tuttiStream_t stream);

/* Gather: the root's recvbuff[r*count + i] = rank r's sendbuff[i] for every rank r and i in
 * [0, count). sendbuff holds count elements on every rank; recvbuff nranks*count elements,
 * written on the root only; in place when sendbuff == recvbuff + root*count on the root.
 * Algorithm "direct". Bus bandwidth factor (n-1)/n. */
tuttiResult_t tuttiGather(const void* sendbuff, void* recvbuff, size_t count,
                          tuttiDataType_t datatype, int root, tuttiComm_t comm,
                          tuttiStream_t stream);

/* Scatter: every rank's recvbuff[i] = the root's sendbuff[rank*count + i] for i in [0, count).
 * sendbuff holds nranks*count elements, read on the root only; recvbuff count elements on every
 * rank; in place when recvbuff == sendbuff + root*count on the root. Algorithm "direct". Bus
 * bandwidth factor (n-1)/n. */
tuttiResult_t tuttiScatter(const void* sendbuff, void* recvbuff, size_t count,
                           tuttiDataType_t datatype, int root, tuttiComm_t comm,
                           tuttiStream_t stream);

/* Point-to-point, NCCL's shape. tuttiSend sends count elements of sendbuff to rank peer;
 * tuttiRecv receives count elements from rank peer into recvbuff. Both ends must name each
 * other with the same count and datatype size; several messages between two ranks are matched
 * in the order each end issues them. Outside a group each call is a group of its own: it
 * returns once its transfer is complete (so two ranks that both send first, outside a group,
 * may wait for each other, as in NCCL). Bytes move unchanged.
 *
 * Streams. With a NULL stream the call (or the group, at tuttiGroupEnd) is blocking; when
 * asynchronous calls are queued on the communicator it runs after them, on the communicator's
 * progress thread, and returns when it completed. With a tuttiHostStream_t (cast to
 * tuttiStream_t) the group is queued at tuttiGroupEnd (a call outside a group: at the call) as
 * one call of that stream, like a collective on a host stream (below): it returns at once, the
 * group runs on the progress thread in the communicator's issue order, and the stream's
 * synchronize, events and callbacks see it complete. Its send buffers are read and its receive
 * buffers written only when it runs, so they must stay valid, unchanged and unread until then.
 * Device buffers take a device stream (NULL: the device's default stream), as collectives do:
 * the group is enqueued on it at tuttiGroupEnd (a call outside a group: at the call), its sends
 * staged to page-locked host memory, the exchange run on the progress thread, its receives
 * written back on the stream; completion is the stream's. A communicator's calls in one group
 * are all device calls or all host calls (calls of 0 elements count as either).
 * Ranks whose queued groups name each other must issue them in an order that lets each group
 * find its peers' (as for collectives, a communicator's calls run one at a time in issue order):
 * put the sends and receives that pair up into one group.
 *
 * Groups. tuttiGroupStart opens a group; tuttiSend and tuttiRecv inside it only check their
 * arguments and are recorded; the outermost tuttiGroupEnd runs them, all of one communicator's
 * together (every send and receive in flight at once), so grouped sends and receives of any
 * sizes to any peers, the rank itself included, form an all-to-all-v without deadlock. Groups
 * nest: inner tuttiGroupEnd calls only close a level. An empty group succeeds. Collectives
 * called inside a group run when called, not at tuttiGroupEnd. Calls on several communicators
 * in one group run one communicator after the other, in the order each first appears (make
 * each communicator's calls complete on their own). One communicator's calls in a group share
 * one stream (NULL, the same host stream or the same device stream). A group belongs to the
 * calling thread.
 *
 * tuttiSend and tuttiRecv return tuttiInvalidArgument (NULL or destroyed comm, datatype out of
 * range, peer outside [0, nranks), a NULL buffer with count > 0, a device buffer of another
 * device than the communicator's, or with a host stream, or a stream that is not live; nothing
 * is recorded) and tuttiInvalidUsage (host buffers with a stream that is neither NULL nor a live
 * host stream);
 * outside a group also what tuttiGroupEnd returns. tuttiGroupEnd returns tuttiInvalidUsage
 * without a matching tuttiGroupStart, when a rank's sends to itself and receives from itself do
 * not pair up (as many, the same sizes in order), when one communicator's calls name different
 * streams or mix device and host buffers, or when their host stream was destroyed before
 * tuttiGroupEnd (nothing of that communicator's calls is queued or run); else tuttiSuccess or the
 * first communicator's failure (tuttiSystemError, tuttiRemoteError, tuttiTimeout, sticky as for
 * collectives; a message count or size that differs between the ends is tuttiInternalError). For a
 * group queued on a host stream these failures come later, as the queued call's result (stream,
 * event, callback). The recorded calls are dropped either way. */
tuttiResult_t tuttiSend(const void* sendbuff, size_t count, tuttiDataType_t datatype, int peer,
                        tuttiComm_t comm, tuttiStream_t stream);
tuttiResult_t tuttiRecv(void* recvbuff, size_t count, tuttiDataType_t datatype, int peer,
                        tuttiComm_t comm, tuttiStream_t stream);
tuttiResult_t tuttiGroupStart(void);
tuttiResult_t tuttiGroupEnd(void);

/* Device memory that maps cheaply between processes (ncclMemAlloc's purpose): *ptr gets size
 * bytes on the calling thread's current device. With the CUDA runtime this is cudaMalloc memory
 * in this build (exportable through CUDA IPC); with TUTTI_DEVICE=emulated it is a shared-memory
 * file mapped here (tutti_emulated.h). size 0 gives a valid, unique pointer.
 * tuttiInvalidArgument: ptr is NULL. tuttiInvalidUsage: no device runtime (no GPU or driver and
 * TUTTI_DEVICE is not emulated). tuttiSystemError: the allocation failed (the message says why).
 * Thread-safe. */
tuttiResult_t tuttiMemAlloc(void** ptr, size_t size);
/* Frees memory from tuttiMemAlloc; NULL is a no-op. tuttiInvalidArgument: not such memory (the
 * emulated runtime checks; CUDA's cudaFree reports what it finds). Thread-safe. */
tuttiResult_t tuttiMemFree(void* ptr);

/* Registered windows (NCCL 2.27's ncclCommWindowRegister): every rank of the communicator hands
 * Tutti a buffer of the same size, so that
 *   - device collectives on buffers inside a device window read and write the ranks' buffers
 *     directly instead of copying the data through Tutti's own memory first, and
 *   - peers can put into a host window with tuttiPutSignal (one-sided, see below).
 *
 * tuttiCommWindowRegister is collective: every rank calls it, in the same order with respect to
 * the communicator's other registrations, with a buffer of `size` bytes (the same on every rank),
 * all of host memory or all of device memory of the communicator's device (the same kind on
 * every rank), and the same winFlags. The memory must stay allocated until the window is
 * deregistered. *win gets the window's handle, valid on this communicator until
 * tuttiCommWindowDeregister.
 *   winFlags  TUTTI_WIN_DEFAULT: the window is recorded, and calls on it run as on unregistered
 *             memory (NCCL allows any offset into such a window; Tutti would have to exchange
 *             the offsets per call to use it, which it does not do yet).
 *             TUTTI_WIN_COLL_SYMMETRIC: the caller guarantees that every rank passes a call's
 *             buffers at the same offset into the window (NCCL_WIN_COLL_SYMMETRIC's promise).
 *             Calls whose buffers lie in such a device window, on a communicator of one host
 *             that uses mapped peer memory (docs/device.md), read the peers' buffers directly.
 *             Ranks that break the promise get tuttiInvalidUsage naming both ranks' offsets (the
 *             collective mismatch check, TUTTI_CHECK_MISMATCH), as for calls that differ.
 *             Host collectives do not read windows; either flag serves tuttiPutSignal.
 * Device windows: where the peers' buffers cannot be mapped (ranks on several hosts,
 * TUTTI_P2P_DISABLE, memory CUDA IPC cannot export), registration still succeeds and calls run
 * as on unregistered memory; INFO says why. Memory from tuttiMemAlloc can always be mapped; other
 * device memory (a cudaMallocAsync pool's, for one) may not be.
 * Host windows (pageable, pinned or managed host memory): each rank registers the buffer with
 * the transport of each of its connections that has a one-sided put (shm, ucx), kept registered
 * until deregistration, and sends each peer what that peer needs to put into it (its address and
 * key); peers connected by a transport without puts cannot put into it: tcp, and shm without
 * cross-memory attach (TUTTI_SHM_CMA; off by default on a host with more ranks than CPUs, and
 * where ptrace rules forbid it). Registration waits for the communicator's queued
 * host-stream calls first (at most TUTTI_TIMEOUT_MS).
 * Errors: tuttiInvalidArgument (NULL or destroyed comm, buff NULL, size 0, win NULL, winFlags
 * other than the two above, a buffer that is neither host memory nor memory of the
 * communicator's device, or not `size` bytes of one allocation); tuttiInvalidUsage (ranks passed
 * different sizes, flags or memory kinds: every rank gets it, naming both); tuttiSystemError (a
 * transport could not register host memory: every rank fails, naming the rank); tuttiTimeout and
 * tuttiRemoteError (a peer did not take part within TUTTI_TIMEOUT_MS, or failed); and the
 * communicator's sticky error, whatever its code, as its calls return it. Not thread-safe with
 * other calls on the communicator.
 *
 * tuttiCommWindowDeregister is collective too: every rank calls it for the same window. It waits
 * until the device calls queued on the communicator's mapped peer memory have run (at most
 * TUTTI_TIMEOUT_MS), then every rank unmaps the peers' buffers (or releases its host
 * registrations) and drops the handle, or, when some rank's calls are still queued, none does;
 * the memory may be freed after it returns tuttiSuccess. Errors: tuttiInvalidArgument (NULL or
 * destroyed comm, a win that is not a live window of this communicator); tuttiTimeout (some
 * rank's calls still queued after TUTTI_TIMEOUT_MS: the window stays registered on every rank; or
 * a peer did not take part), tuttiRemoteError (a peer failed). */
#define TUTTI_WIN_DEFAULT 0x00
#define TUTTI_WIN_COLL_SYMMETRIC 0x01
typedef struct tuttiWindow* tuttiWindow_t;
tuttiResult_t tuttiCommWindowRegister(tuttiComm_t comm, void* buff, size_t size, tuttiWindow_t* win,
                                      int winFlags);
tuttiResult_t tuttiCommWindowDeregister(tuttiComm_t comm, tuttiWindow_t win);

/* One-sided communication (NCCL 2.29's ncclPutSignal and ncclWaitSignal) on host windows.
 *
 * tuttiPutSignal writes count elements of datatype from localbuff into rank `peer`'s buffer of
 * the registered host window peerWin, peerWinOffset bytes from its start, and then raises the
 * peer's signal sigIdx for this rank by one: a peer that has seen the signal (tuttiWaitSignal)
 * sees the data. The peer takes no part: its call may be anywhere, or none. It returns once
 * localbuff may be reused and the signal is raised (the data and the signal reached the peer's
 * memory or its transport's queue to it). Puts from one rank to one peer raise its signals in the
 * order issued. peer may be this rank (a copy and a signal). count 0 raises the signal alone.
 *   localbuff      host memory, count elements; NULL only when count is 0
 *   peerWin        a host window this communicator registered (tuttiCommWindowRegister)
 *   peerWinOffset  bytes; peerWinOffset + count * size of datatype <= the window's size
 *   sigIdx         0 <= sigIdx < TUTTI_NUM_SIGNALS
 *   ctx, flags     0 (NCCL's RMA context and flags; Tutti has one context)
 *   stream         NULL: the call blocks (host streams and device streams: not supported yet)
 * Errors: tuttiInvalidArgument (NULL or destroyed comm; a bad datatype, peer, sigIdx, ctx or
 * flags; localbuff NULL with count > 0 or device memory; peerWin not a live window of comm or a
 * device window; the range past the window's end; a stream); tuttiInvalidUsage (called between
 * tuttiGroupStart and tuttiGroupEnd; the connection to peer has no one-sided put, e.g. tcp: the
 * message names the transport); tuttiTimeout (the put did not complete within
 * TUTTI_TIMEOUT_MS), tuttiRemoteError (peer failed or closed): after either the communicator is
 * in error, as after a failed collective; and the communicator's sticky error. Both calls first
 * wait for the communicator's queued host-stream calls (at most TUTTI_TIMEOUT_MS, then
 * tuttiTimeout). Not thread-safe with other calls on the communicator.
 *
 * tuttiWaitSignal waits until, for each descriptor, opCnt more puts of rank `peer` have raised
 * this rank's signal sigIdx than earlier waits consumed, then consumes them: a wait for opCnt 1
 * after each of the peer's puts returns once per put. Descriptors naming the same (peer, sigIdx)
 * add up. nDesc 0 returns at once.
 *   signalDescs    nDesc descriptors {opCnt >= 0, peer, sigIdx, ctx 0}
 *   stream         NULL: the call blocks
 * Errors: tuttiInvalidArgument (NULL or destroyed comm; nDesc < 0; signalDescs NULL with nDesc >
 * 0; a descriptor's opCnt < 0, bad peer, sigIdx or ctx, naming its index; a stream);
 * tuttiInvalidUsage (inside a group; a descriptor's peer is connected by a transport without
 * puts); tuttiTimeout (no awaited signal arrived for TUTTI_TIMEOUT_MS: the message names the
 * first peer and signal short and how many arrived; nothing is consumed, and the communicator
 * goes on); tuttiRemoteError (a peer failed, as the communicator's failure detection says);
 * the communicator's sticky error. Not thread-safe with other calls on the communicator. */
#define TUTTI_NUM_SIGNALS 8
typedef struct {
  int opCnt;
  int peer;
  int sigIdx;
  int ctx;
} tuttiWaitSignalDesc_t;
tuttiResult_t tuttiPutSignal(const void* localbuff, size_t count, tuttiDataType_t datatype,
                             int peer, tuttiWindow_t peerWin, size_t peerWinOffset, int sigIdx,
                             int ctx, unsigned int flags, tuttiComm_t comm, tuttiStream_t stream);
tuttiResult_t tuttiWaitSignal(int nDesc, const tuttiWaitSignalDesc_t* signalDescs, tuttiComm_t comm,
                              tuttiStream_t stream);

/* Host streams: queued (non-blocking) collectives on host buffers.
 *
 * A host stream is an ordered queue of collective calls on host buffers (a group of tuttiSend
 * and tuttiRecv counts as one call, see above). Passed as the stream
 * argument of a collective (cast to tuttiStream_t), the call checks its arguments, queues the
 * collective on its communicator's progress thread and returns tuttiSuccess at once. Calls queued
 * on one stream run in the order queued, across communicators too (a call waits for the previous
 * call on its stream); the calls of one communicator run in the order issued, from any stream,
 * and a blocking call runs after those issued before it, so every rank must issue a
 * communicator's calls in the same order, as with NCCL. The buffers of a queued call must stay
 * valid, its send buffer unchanged and its receive buffer unread, until the call completes.
 *
 * Completion: tuttiHostStreamSynchronize waits for every call queued so far; a host event
 * recorded on a stream marks its last call so far, and tuttiHostEventQuery /
 * tuttiHostEventSynchronize ask about or wait for that call (one event per call gives per-call
 * completion, as the PyTorch backend's Work needs). A queued call that fails makes its
 * communicator's error sticky, as a blocking call's would (tuttiCommGetAsyncError reports it).
 *
 * Thread-safety: streams and events may be used from several threads at once, except that
 * destroying one while another thread uses it is an error of the caller (as with CUDA).
 * Destroying a stream does not wait: its calls still run; destroying a communicator with calls
 * still queued completes them with tuttiInvalidUsage. */
typedef struct tuttiHostStream* tuttiHostStream_t;
typedef struct tuttiHostEvent* tuttiHostEvent_t;

/* Creates an empty host stream. tuttiInvalidArgument: stream is NULL. */
tuttiResult_t tuttiHostStreamCreate(tuttiHostStream_t* stream);
/* Waits until every call queued on the stream so far completed, at most timeoutMs milliseconds
 * (< 0: until then; every call ends by its own inactivity timeout, TUTTI_TIMEOUT_MS). Returns
 * tuttiSuccess, the error of the first call queued on the stream that failed (sticky: every later
 * synchronize or query returns it too), tuttiTimeout (the calls go on), or
 * tuttiInvalidArgument (not a live host stream). */
tuttiResult_t tuttiHostStreamSynchronize(tuttiHostStream_t stream, int timeoutMs);
/* Without waiting: tuttiSuccess when every queued call completed, tuttiInProgress when some have
 * not, else as tuttiHostStreamSynchronize. */
tuttiResult_t tuttiHostStreamQuery(tuttiHostStream_t stream);
/* Destroys the handle; queued calls still run. tuttiInvalidArgument: not a live host stream. */
tuttiResult_t tuttiHostStreamDestroy(tuttiHostStream_t stream);

/* A function a host stream runs when a call completes: the call's result, its error message
 * ("" on success), and the userData given with it. */
typedef void (*tuttiHostCallback_t)(tuttiResult_t result, const char* message, void* userData);
/* Runs fn(result, message, userData) once, when the stream's last call queued so far completed,
 * as cudaLaunchHostFunc does on a CUDA stream: on the thread that completed the call (its
 * communicator's progress thread), after its receive buffer holds the result and before an event
 * marking that call reports it complete (so whoever waits on the event sees what fn did); at
 * once, on the calling thread, with tuttiSuccess when no call was queued, or when the last one
 * already completed (then with its result). fn must not wait for calls of that communicator (the
 * thread that would run them is running fn); it may queue calls. This is how a caller learns of
 * completion without a thread of its own waiting (the PyTorch backend completes its futures so).
 * tuttiInvalidArgument: not a live host stream, or fn NULL. */
tuttiResult_t tuttiHostStreamAddCallback(tuttiHostStream_t stream, tuttiHostCallback_t fn,
                                         void* userData);

/* Creates a host event, complete until first recorded. tuttiInvalidArgument: event is NULL. */
tuttiResult_t tuttiHostEventCreate(tuttiHostEvent_t* event);
/* Marks the stream's last call queued so far (none: the event is complete at once); a later
 * record moves the mark. tuttiInvalidArgument: a handle that is not live. */
tuttiResult_t tuttiHostEventRecord(tuttiHostEvent_t event, tuttiHostStream_t stream);
/* tuttiSuccess when the marked call completed successfully, its error when it failed,
 * tuttiInProgress while it runs or waits; tuttiInvalidArgument: not a live host event. */
tuttiResult_t tuttiHostEventQuery(tuttiHostEvent_t event);
/* Waits for the marked call at most timeoutMs milliseconds (< 0: until it ends): its result, or
 * tuttiTimeout (it goes on), or tuttiInvalidArgument (not a live host event). */
tuttiResult_t tuttiHostEventSynchronize(tuttiHostEvent_t event, int timeoutMs);
/* tuttiInvalidArgument: not a live host event. */
tuttiResult_t tuttiHostEventDestroy(tuttiHostEvent_t event);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TUTTI_TUTTI_H_ */
