/*
 * The emulated device: a GPU's programming model on the host, for testing code that hands device
 * buffers and streams to Tutti on machines without a GPU. It is not a GPU and nothing measured on
 * it says anything about one.
 *
 * Select it before the first Tutti call with TUTTI_DEVICE=emulated (each process of a job). Then:
 *   - tuttiMemAlloc returns emulated device memory: a shared-memory file mapped into this process
 *     (other processes can map it; the p2p path does). Tutti tells it from host memory, as CUDA
 *     tells device pointers from host ones, so collectives on it run on the device path.
 *   - Streams (tuttiEmuStream_t, passed to collectives as tuttiStream_t) are ordered queues, each
 *     served by a thread of its own: work queued on a stream runs in the order queued and
 *     asynchronously to the caller, as on a CUDA stream. NULL is the current device's default
 *     stream.
 *   - There are TUTTI_EMULATED_DEVICES devices (default 8); each thread has a current device,
 *     0 until tuttiEmuSetDevice, as with cudaSetDevice.
 * The memory is host memory underneath, so a program can read it directly; code meant for a GPU
 * should copy it back with tuttiEmuMemcpy instead, as it would with cudaMemcpy.
 *
 * Every call returns tuttiInvalidUsage when the emulated device is not the active runtime, and
 * tuttiInvalidArgument for a handle that is not live (the message says which). Thread-safe,
 * except that destroying a stream while another thread queues on it is the caller's error.
 */
#ifndef TUTTI_TUTTI_EMULATED_H_
#define TUTTI_TUTTI_EMULATED_H_

#include <stddef.h>

#include "tutti/tutti.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tuttiEmuStream* tuttiEmuStream_t;

/* Whether the emulated device is the active runtime: *active is 1 or 0. tuttiInvalidArgument:
 * active is NULL. */
tuttiResult_t tuttiEmuIsActive(int* active);
/* The number of emulated devices, and the calling thread's current one (cudaGetDeviceCount,
 * cudaGetDevice, cudaSetDevice). tuttiInvalidArgument: a NULL output, or a device out of
 * [0, count). */
tuttiResult_t tuttiEmuGetDeviceCount(int* count);
tuttiResult_t tuttiEmuGetDevice(int* device);
tuttiResult_t tuttiEmuSetDevice(int device);

/* A stream on the calling thread's current device. tuttiInvalidArgument: stream is NULL. */
tuttiResult_t tuttiEmuStreamCreate(tuttiEmuStream_t* stream);
/* Waits until the work queued so far ran, at most timeoutMs milliseconds (< 0: until it has):
 * tuttiSuccess or tuttiTimeout (the work goes on). */
tuttiResult_t tuttiEmuStreamSynchronize(tuttiEmuStream_t stream, int timeoutMs);
/* Does not wait: queued work still runs, then the stream goes (cudaStreamDestroy). */
tuttiResult_t tuttiEmuStreamDestroy(tuttiEmuStream_t stream);

/* Queues a copy of `bytes` bytes between any two of host and emulated device memory
 * (cudaMemcpyAsync with cudaMemcpyDefault). The buffers must stay valid until it ran. */
tuttiResult_t tuttiEmuMemcpyAsync(void* dst, const void* src, size_t bytes,
                                  tuttiEmuStream_t stream);
/* The same, then waits for the stream (at most TUTTI_TIMEOUT_MS, default 10 minutes). */
tuttiResult_t tuttiEmuMemcpy(void* dst, const void* src, size_t bytes, tuttiEmuStream_t stream);
/* Queues fn(userData), run on the stream's thread in order with the rest of its work
 * (cudaLaunchHostFunc): how a test stands in for its own kernels. fn must not wait for other
 * streams. tuttiInvalidArgument: fn is NULL. */
tuttiResult_t tuttiEmuLaunchHostFunc(tuttiEmuStream_t stream, void (*fn)(void* userData),
                                     void* userData);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TUTTI_TUTTI_EMULATED_H_ */
