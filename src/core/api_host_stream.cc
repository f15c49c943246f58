// The C API of host streams and host events (tutti.h): handle checks and results; the queues
// themselves are core/host_stream.
#include <memory>

#include "core/api_result.h"
#include "core/host_stream.h"

using namespace tutti;

namespace {

Status notLive(const char* what, const void* handle) {
  if (handle == nullptr) return makeError(tuttiInvalidArgument, "{} is NULL", what);
  return makeError(tuttiInvalidArgument, "{} {} is not live (destroyed or never created)", what,
                   handle);
}

HostStream* liveStream(tuttiHostStream_t handle) {
  return liveHostStreams().contains(handle) ? reinterpret_cast<HostStream*>(handle) : nullptr;
}

HostEvent* liveEvent(tuttiHostEvent_t handle) {
  return liveHostEvents().contains(handle) ? reinterpret_cast<HostEvent*>(handle) : nullptr;
}

template <typename Object, typename Handle>
tuttiResult_t create(Handle* out, const char* what, LiveHandles& live) {
  if (out == nullptr) {
    return finish(makeError(tuttiInvalidArgument, "{} (the output pointer) is NULL", what));
  }
  auto created = std::make_unique<Object>();
  live.add(created.get());  // may run out of memory: the object is freed then
  *out = reinterpret_cast<Handle>(created.release());
  return tuttiSuccess;
}

template <typename Object, typename Handle>
tuttiResult_t destroy(Handle handle, const char* what, LiveHandles& live) {
  if (!live.remove(handle)) return finish(notLive(what, handle));
  // A stream's operations are shared with the progress threads and events: they live on.
  delete reinterpret_cast<Object*>(handle);
  return tuttiSuccess;
}

}  // namespace

TUTTI_PUBLIC tuttiResult_t tuttiHostStreamCreate(tuttiHostStream_t* stream) {
  return guarded(nullptr, "tuttiHostStreamCreate", [&]() -> tuttiResult_t {
    return create<HostStream>(stream, "stream", liveHostStreams());
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiHostStreamSynchronize(tuttiHostStream_t stream, int timeoutMs) {
  return guarded(nullptr, "tuttiHostStreamSynchronize", [&]() -> tuttiResult_t {
    HostStream* live = liveStream(stream);
    if (live == nullptr) return finish(notLive("host stream", stream));
    return finish(live->synchronize(timeoutMs));
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiHostStreamQuery(tuttiHostStream_t stream) {
  return guarded(nullptr, "tuttiHostStreamQuery", [&]() -> tuttiResult_t {
    HostStream* live = liveStream(stream);
    if (live == nullptr) return finish(notLive("host stream", stream));
    Status status = live->query();
    // Still running is an answer, not a failure: no last-error message for it.
    return status.code() == tuttiInProgress ? tuttiInProgress : finish(status);
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiHostStreamDestroy(tuttiHostStream_t stream) {
  return guarded(nullptr, "tuttiHostStreamDestroy", [&]() -> tuttiResult_t {
    return destroy<HostStream>(stream, "host stream", liveHostStreams());
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiHostStreamAddCallback(tuttiHostStream_t stream,
                                                      tuttiHostCallback_t fn, void* userData) {
  return guarded(nullptr, "tuttiHostStreamAddCallback", [&]() -> tuttiResult_t {
    HostStream* live = liveStream(stream);
    if (live == nullptr) return finish(notLive("host stream", stream));
    if (fn == nullptr) return finish(makeError(tuttiInvalidArgument, "fn (the callback) is NULL"));
    live->addCallback([fn, userData](const Status& result) {
      fn(result.code(), result.isOk() ? "" : result.message().c_str(), userData);
    });
    return tuttiSuccess;
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiHostEventCreate(tuttiHostEvent_t* event) {
  return guarded(nullptr, "tuttiHostEventCreate", [&]() -> tuttiResult_t {
    return create<HostEvent>(event, "event", liveHostEvents());
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiHostEventRecord(tuttiHostEvent_t event, tuttiHostStream_t stream) {
  return guarded(nullptr, "tuttiHostEventRecord", [&]() -> tuttiResult_t {
    HostEvent* liveE = liveEvent(event);
    if (liveE == nullptr) return finish(notLive("host event", event));
    HostStream* liveS = liveStream(stream);
    if (liveS == nullptr) return finish(notLive("host stream", stream));
    liveE->record(liveS->last());
    return tuttiSuccess;
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiHostEventQuery(tuttiHostEvent_t event) {
  return guarded(nullptr, "tuttiHostEventQuery", [&]() -> tuttiResult_t {
    HostEvent* live = liveEvent(event);
    if (live == nullptr) return finish(notLive("host event", event));
    Status status = live->query();
    return status.code() == tuttiInProgress ? tuttiInProgress : finish(status);
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiHostEventSynchronize(tuttiHostEvent_t event, int timeoutMs) {
  return guarded(nullptr, "tuttiHostEventSynchronize", [&]() -> tuttiResult_t {
    HostEvent* live = liveEvent(event);
    if (live == nullptr) return finish(notLive("host event", event));
    return finish(live->synchronize(timeoutMs));
  });
}

TUTTI_PUBLIC tuttiResult_t tuttiHostEventDestroy(tuttiHostEvent_t event) {
  return guarded(nullptr, "tuttiHostEventDestroy", [&]() -> tuttiResult_t {
    return destroy<HostEvent>(event, "host event", liveHostEvents());
  });
}
