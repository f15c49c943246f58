// Memory as transports see it: named by (pointer, bytes, kind, device), registered through a
// transport once and cached, and exported to a peer for one-sided puts.
//
// Registration is what a network or device transport must do before it can move a buffer (an
// RDMA MR, a CUDA IPC mapping); host transports (tcp, shm) only record the range. The executor
// registers each buffer of a call once per transport and posts slices by (registration,
// offset, bytes), so a transport never looks a pointer up on the data path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"

namespace tutti {

enum class MemoryKind : uint8_t {
  kHost = 0,    // pageable or pinned host memory of this process
  kDevice = 1,  // memory of a GPU (`device` says which)
};

const char* memoryKindName(MemoryKind kind);

struct Memory {
  void* ptr = nullptr;
  size_t bytes = 0;
  MemoryKind kind = MemoryKind::kHost;
  int device = -1;  // the device ordinal for kDevice; -1 for host memory
};

// A transport's registration of one buffer. Owned by the transport's MemoryDomain, valid until
// the domain is destroyed or the registration is evicted (never while a call uses it: the cache
// evicts only between calls, see MemoryDomain::endCall).
struct Registration {
  Memory memory;         // the whole registered range
  uint64_t handle = 0;   // the transport's key for it (an MR's lkey, a mapping id); 0 for host
  uint64_t lastUse = 0;  // the domain's clock at the last lookup (least recently used goes)
  int pins = 0;          // pins not yet undone (MemoryDomain::pin): never evicted while > 0
  bool dropWhenUnpinned = false;  // made by registerPinned: the last unpin deregisters it
  char* base() const { return static_cast<char*>(memory.ptr); }
};

// A range of registered memory: what data calls take.
struct Slice {
  const Registration* registration = nullptr;
  size_t offset = 0;  // bytes from the registration's start
  size_t bytes = 0;
  char* data() const { return registration->base() + offset; }
};

// What a peer needs to put into memory this rank registered. Plain bytes of a fixed size, so
// it can travel over any channel (a setup allgather, a message). The key's meaning is the
// transport's: shm's is the owner's process id and rank (it puts with process_vm_writev at
// `address`); ucx's is the owner's rank and worker and UCX's packed rkey; a verbs transport would
// carry the MR's rkey. kMaxKeyBytes holds a packed UCX rkey for several memory domains (11-12 bytes
// for shared memory and TCP, tens of bytes per RDMA device).
struct RemoteMemory {
  static constexpr size_t kMaxKeyBytes = 232;
  uint64_t address = 0;
  uint64_t bytes = 0;
  uint32_t keyBytes = 0;  // how many bytes of key are in use
  uint32_t reserved = 0;
  uint8_t key[kMaxKeyBytes] = {};
};
static_assert(sizeof(RemoteMemory) == 256, "RemoteMemory travels as 256 plain bytes");

// Registers memory for one transport and caches the registrations: the same buffer (or a range
// inside a registered one, of the same kind and device) is registered once. The cache holds at
// most kCapacity registrations and evicts the least recently used between calls. Used by the
// one thread that runs the communicator's operations.
class MemoryDomain {
 public:
  static constexpr size_t kCapacity = 64;

  virtual ~MemoryDomain();

  // The registration covering `memory`, registering it on a miss. Errors: those of the
  // transport's registration (tuttiInvalidArgument for a kind it cannot move, tuttiSystemError
  // when pinning or mapping fails).
  Status registerMemory(const Memory& memory, const Registration** out);
  // Called between operations: trims the cache to its capacity, least recently used first,
  // keeping pinned registrations (it may then hold more than kCapacity).
  void endCall();
  // A registration of exactly `memory`, made anew and pinned: a registered window's, which peers
  // put into between calls. No lookup, so that memory freed and allocated again at the same
  // address never reuses a stale registration (an old MR or UCX mapping); the cache never
  // evicts it, and the unpin that drops its last pin deregisters and frees it at once.
  Status registerPinned(const Memory& memory, const Registration** out);
  // Keeps a registration of this domain cached (and, where the transport maps memory at export,
  // mapped) until as many unpin calls.
  void pin(const Registration* registration);
  void unpin(const Registration* registration);
  size_t cachedCount() const { return entries_.size(); }
  // Changes whenever a registration is dropped: a caller may keep registrations it looked up
  // for as long as the generation it saw stays the same.
  uint64_t generation() const { return generation_; }
  uint64_t registrationsMade() const { return made_; }

 protected:
  // Fills registration->handle (memory is already set). Host transports accept host memory.
  virtual Status registerNew(Registration* registration);
  // Undoes registerNew.
  virtual void deregister(Registration* registration) {}

 private:
  std::vector<std::unique_ptr<Registration>> entries_;  // newest last
  uint64_t made_ = 0;
  uint64_t clock_ = 0;
  uint64_t generation_ = 0;
};

}  // namespace tutti
