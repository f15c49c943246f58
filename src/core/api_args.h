// The C API's argument checks: each returns tuttiInvalidArgument (or tuttiInvalidUsage where
// the arguments are well-formed but the use is not) with a message naming the argument and
// why, before anything is queued or sent. The communicator passed is live and its call lock
// held by the caller.
#pragma once

#include <cstddef>

#include "base/status.h"
#include "core/comm.h"
#include "core/operation.h"
#include "tutti/tutti.h"

namespace tutti {

// The error for a handle that is NULL or not a live communicator.
Status liveCommError(tuttiComm_t handle);

// A collective's type, op, root, count (overflow of the buffer size), NULL buffers the rank
// uses, and buffers that overlap without being NCCL's in-place layout.
Status checkCollective(tuttiComm* comm, const CollectiveArgs& args, tuttiStream_t stream);

// A stream of the device runtime (not NULL, not a host stream).
bool isDeviceStream(tuttiStream_t stream);

// Host buffers: NULL (blocking) or a live host stream. Device buffers: a stream of the device
// runtime (NULL: the default stream), never a host stream.
Status checkStream(Collective collective, tuttiStream_t stream, bool onDevice);

// Whether a point-to-point buffer of `count` bytes or elements (0: none) is device memory
// (*onDevice); tuttiInvalidArgument when it is another device's than the communicator's.
Status peerBufferOnDevice(const tuttiComm* comm, const char* name, const void* buffer, size_t count,
                          bool* onDevice);

// The calling thread's tuttiGroupStart nesting depth (core/api.cc): 0 outside a group.
int callerGroupDepth();

// tuttiSend / tuttiRecv: type, peer, count, buffer, device and stream.
Status checkPeerCall(const tuttiComm* comm, bool send, const void* buffer, size_t count, int type,
                     int peer, tuttiStream_t stream);

}  // namespace tutti
