// The communicator: one rank's membership of a group, owning its bootstrap, transport
// connections and executor. Created collectively by createComm; collectives enter through
// runCollective. The live-communicator registry gives the C API handles that are numbers, not
// addresses, so a destroyed handle is an error even once a new communicator has the address.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "algo/p2p_choice.h"
#include "algo/plan.h"
#include "algo/select.h"
#include "algo/tuner.h"
#include "base/params.h"
#include "base/status.h"
#include "base/unique_id.h"
#include "core/bootstrap.h"
#include "core/comm_topology.h"
#include "core/flight_recorder.h"
#include "core/operation.h"
#include "core/p2p_registration.h"
#include "core/p2p_window.h"
#include "core/peer_watch.h"
#include "core/progress_thread.h"
#include "exec/executor.h"
#include "exec/host_mover.h"
#include "topo/topology.h"
#include "transports/progress_engine.h"
#include "transports/transport.h"

struct tuttiComm {
  int rank = 0;
  int nranks = 1;
  int nhosts = 1;
  std::vector<int> hostOfRank;         // host index per rank, numbered in order of first appearance
  std::vector<std::string> rankHosts;  // host name per rank, for messages naming a rank
  std::vector<int> rankPids;           // process id per rank
  std::string hostname;
  std::string name;  // config->commName
  tutti::Params params;
  // params as loaded from the config and the environment, before init adapted them to the
  // machine: what a communicator shrunk from this one starts from.
  tutti::Params configuredParams;
  tutti::AlgoSpec algoSpec;         // TUTTI_ALGO
  std::string initAlgo;             // TUTTI_ALGO at init, which decided the peers to connect
  std::vector<int> connectedPeers;  // sorted: every peer an algorithm it allowed may need
  // The cost model's inputs: the transport between ranks of a host (intra) and between hosts
  // (inter), from the cost file when it has this machine's shape, else the defaults.
  tutti::ClusterCost clusterCost;
  std::string costSource;          // where clusterCost came from, for logs and tools
  std::string intraTransport;      // the cost file's keys: "shm/cma", "shm" or "tcp"
  std::string interTransport;      // "tcp"
  int ranksOnMachine = 1;          // ranks of this job on this machine (posed hosts share it)
  tutti::topo::Topology topology;  // every host, indexed as hostOfRank numbers them
  std::vector<tutti::RankPlace> rankPlaces;  // each rank's host, NUMA node and nearest NIC
  // TUTTI_TUNER_PLUGIN's plugin, when every rank loaded it; destroyed (plugin destroy, dlclose)
  // with the communicator.
  std::unique_ptr<tutti::Tuner> tuner;
  std::set<std::pair<int, int>> loggedChoices;  // (collective, log2 size) already logged
  // Recent (collective, count, element size) -> choice and plan: training loops repeat the same
  // calls, and a small call should not pay for planning.
  struct CachedPlan {
    tutti::Collective collective;
    size_t count;
    size_t elemSize;
    int root;
    tutti::Choice choice;
    tutti::Plan plan;
    uint8_t descriptorAlgorithm = 0;  // the plan's algorithm as the call descriptor states it
    std::vector<int> peers;           // plan.peers(), for the flight recorder
  };
  std::vector<CachedPlan> planCache;
  size_t planCacheNext = 0;  // the entry to replace next

  std::atomic<bool> aborted{false};
  // Revoked (core/comm_failure.h): by this rank's tuttiCommRevoke or by another rank's. Calls
  // then fail with tuttiInvalidUsage; shrink and destroy still work.
  std::atomic<bool> revoked{false};
  bool revokedHere = false;  // this rank called tuttiCommRevoke (a second call is an error)
  uint32_t shrinks = 0;      // tuttiCommShrink calls so far: each meeting's number
  std::atomic<int> asyncError{tuttiSuccess};  // sticky error (setStickyError)
  std::mutex callMutex;                       // held while a call runs; abort waits for it

  std::mutex errorMutex;
  std::string lastError;
  const char* lastErrorInstead = nullptr;  // said instead when memory for lastError ran out
  std::string stickyMessage;               // why asyncError was set: every later call says it

  std::unique_ptr<tutti::Bootstrap> bootstrap;
  std::vector<std::unique_ptr<tutti::Transport>> transports;
  std::string transportNames;  // e.g. "shm", "tcp", "shm+tcp"
  // Requests of one-sided calls that failed while posted (core/one_sided.h): a closed
  // connection may still complete them, so they outlive the connections (declared before them).
  std::vector<std::unique_ptr<tutti::TransferRequest>> abandonedRequests;
  std::vector<std::unique_ptr<tutti::Connection>> ownedConnections;
  std::vector<tutti::Connection*> connections;  // by peer rank; nullptr where none
  tutti::HostMover hostMover;
  // The calling thread's engine and executor (host calls with a NULL stream run there).
  std::unique_ptr<tutti::ProgressEngine> engine;
  std::unique_ptr<tutti::Executor> executor;
  // The progress thread's own, for asynchronous operations.
  std::unique_ptr<tutti::ProgressEngine> asyncEngine;
  std::unique_ptr<tutti::Executor> asyncExecutor;
  uint64_t operationsIssued = 0;  // operations run so far (blocking and queued)
  // Sequence numbers handed out at issue, from 1 (the callers hold callMutex): every call gets
  // the next one whether it runs at once or is queued, so queued operations' numbers rise
  // strictly in the order they will run.
  uint64_t sequenceIssued = 0;
  // Device buffers (core/device_collective.h): the communicator's device (-1 without a device
  // runtime) and the pinned word its streams wait on, raised to each device operation's sequence.
  int device = -1;
  uint64_t* streamFlag = nullptr;
  // The p2p path (core/p2p_collective.h), decided at init: 1 windows mapped, -1 not available
  // (every device call is staged), 0 before init got there. p2pCost prices its algorithms
  // (algo/p2p_choice.h).
  int p2pState = 0;
  // Registered windows (core/p2p_registration.h): destroyed after p2p, whose destructor waits for
  // the calls that may read them.
  tutti::WindowRegistry windows;
  // One-sided signals (core/one_sided.h): per (peer, signal), peer * TUTTI_NUM_SIGNALS + signal,
  // the puts that earlier tuttiWaitSignal calls consumed; and this rank's puts to itself.
  std::vector<uint64_t> signalsWaited;
  uint64_t selfSignals[TUTTI_NUM_SIGNALS] = {};
  std::unique_ptr<tutti::P2pWindow> p2p;
  tutti::P2pCost p2pCost;
  // The last TUTTI_FLIGHT_RECORDER operations (core/flight_recorder.h), made with the
  // communicator.
  std::unique_ptr<tutti::FlightRecorder> recorder;
  // The bootstrap watch (core/comm_failure.h); destroyed after the progress thread (an
  // operation's failure may announce), before the connections (its goodbye goes first).
  std::unique_ptr<tutti::PeerWatch> watch;
  // Last member: destroyed first, so that an operation it is running still has the rest.
  std::unique_ptr<tutti::ProgressThread> progressThread;
};

namespace tutti {

// Collective: every rank of the id calls it. Registers the new communicator as live; *out gets
// its handle.
Status createComm(const UniqueIdContents& id, int nranks, int rank, const tuttiConfig_t* config,
                  tuttiComm** out);
// The same with the parameters given, not loaded (a shrunk communicator takes its parent's).
Status createCommWithParams(const UniqueIdContents& id, int nranks, int rank, const Params& params,
                            const std::string& name, tuttiComm** out);

// Runs one collective on host buffers on the calling thread (arguments already validated; the
// caller holds callMutex). A transport failure makes the communicator's error sticky and
// closes its connections so peers fail fast too.
Status runCollective(tuttiComm* comm, const CollectiveArgs& args);

// Issues a collective to the communicator's progress thread (started on first use) and returns
// at once; *out completes when it ran. Operations run in the order issued, after every
// asynchronous one issued before, and after `after` (the previous call on the same host stream,
// nullptr: none). The caller holds callMutex.
Status issueCollective(tuttiComm* comm, const CollectiveArgs& args, std::shared_ptr<Operation>* out,
                       std::shared_ptr<const Operation> after = nullptr);

// Runs one communicator's point-to-point calls of a group together, as one plan
// (algo/peer_exchange.h), on the calling thread: the sends' data is packed into one buffer and
// the receives land in another, unpacked after. The caller holds callMutex and no asynchronous
// operation is pending (else it issues the group as a kSendRecv operation: issueCollective with
// args.peerCalls, which the progress thread runs the same way). tuttiInvalidUsage when the rank's
// calls to itself do not pair up; transport failures are sticky as for collectives.
Status runPeerCalls(tuttiComm* comm, const std::vector<PeerCall>& calls);
// What runPeerCalls refuses before it moves anything (tuttiInvalidUsage: the rank's calls to
// itself do not pair up), so that a queued group is refused when issued, not when it runs.
Status checkPeerCalls(const tuttiComm* comm, const std::vector<PeerCall>& calls);

// Asynchronous operations issued and not complete (a blocking call must queue behind them).
size_t pendingOperations(const tuttiComm* comm);

// Closes connections so that peers see this rank lost.
void closeConnections(tuttiComm* comm);
// Makes status the communicator's sticky error unless it has one (thread-safe).
void setStickyError(tuttiComm* comm, const Status& status);
// The sticky error as the status of a call named `what`, or ok.
Status stickyStatus(tuttiComm* comm, const char* what);

// Registry of live communicators (core/comm_registry.cc). The C API's tuttiComm_t is a handle,
// not the address of a tuttiComm: resolve it here before touching the communicator.
// Registers comm as live and returns its handle, never the same as an earlier communicator's.
tuttiComm_t registerComm(tuttiComm* comm);
// Removes the handle's communicator and returns it; nullptr when the handle is not live.
tuttiComm* unregisterComm(tuttiComm_t handle);
// Under the registry lock: false when the handle is not live; else runs fn(comm) and returns
// true. Whatever keeps comm alive after fn returns is fn's business (the C API takes callMutex).
template <typename Fn>
bool withLiveComm(tuttiComm_t handle, Fn&& fn);
std::mutex& registryMutex();
tuttiComm* resolveLocked(tuttiComm_t handle);
// Every live handle (each may be destroyed before the caller resolves it).
std::vector<tuttiComm_t> liveHandles();
// The communicator of a live handle, or nullptr; for tests and tools that know it stays alive.
tuttiComm* liveComm(tuttiComm_t handle);

template <typename Fn>
bool withLiveComm(tuttiComm_t handle, Fn&& fn) {
  std::lock_guard<std::mutex> lock(registryMutex());
  tuttiComm* comm = resolveLocked(handle);
  if (comm == nullptr) return false;
  fn(comm);
  return true;
}

}  // namespace tutti
