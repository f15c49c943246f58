// Creating a communicator: meet at the bootstrap, learn who is where, exchange the cluster
// picture, agree on a tuner, adapt waiting to the machine, connect every peer an algorithm may
// need over the transport the registry picks, and agree on the cost model's constants. Every
// step is collective and ends alike on every rank.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <new>
#include <stdexcept>

#include "algo/select.h"
#include "base/log.h"
#include "base/params.h"
#include "core/builtin_transports.h"
#include "core/comm.h"
#include "core/comm_cost.h"
#include "core/comm_failure.h"
#include "core/comm_topology.h"
#include "core/device_collective.h"
#include "core/flight_dump.h"
#include "core/p2p_collective.h"
#include "transports/shm/shm_params.h"

namespace tutti {
namespace {

// What ranks tell each other at init: which host they are on.
struct PeerInfo {
  char hostname[64];
  uint64_t hostHash;     // the host as the job sees it (TUTTI_HOSTID may pose one)
  uint64_t machineHash;  // the machine the rank really runs on
  int32_t pid;
  int32_t pad;
};

uint64_t fnv1a(const std::string& text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

// Same machine = same hostname and boot id.
uint64_t machineIdentity(const std::string& hostname) {
  std::string bootId;
  std::ifstream file("/proc/sys/kernel/random/boot_id");
  std::getline(file, bootId);
  return fnv1a(hostname + "/" + bootId);
}

// Same host = same machine, unless TUTTI_HOSTID lets one machine pose as several hosts.
uint64_t hostIdentity(const std::string& hostname) {
  if (const char* forced = paramEnv("TUTTI_HOSTID")) return fnv1a(std::string("id:") + forced);
  return machineIdentity(hostname);
}

// TUTTI_TUNER_PLUGIN. Collective (every rank takes part, set or not): ranks that would choose
// with different plugins, or some with one and some without, would run different algorithms
// for the same call, so the plugin is kept only where every rank loaded the same one.
Status loadTuner(tuttiComm* comm, const UniqueIdContents& id, const std::vector<PeerInfo>& peers) {
  std::map<uint64_t, int> ranksPerHost;
  for (const PeerInfo& peer : peers) ++ranksPerHost[peer.hostHash];
  TunerShape shape;
  shape.nranks = comm->nranks;
  shape.nhosts = comm->nhosts;
  shape.minRanksPerHost = comm->nranks;
  shape.maxRanksPerHost = 0;
  for (auto [host, count] : ranksPerHost) {
    shape.minRanksPerHost = std::min(shape.minRanksPerHost, count);
    shape.maxRanksPerHost = std::max(shape.maxRanksPerHost, count);
  }
  shape.commId = fnv1a(std::string(reinterpret_cast<const char*>(id.secret), kSecretBytes));
  comm->tuner = Tuner::load(comm->params.tunerPlugin, shape);
  std::vector<uint64_t> loaded(comm->nranks, 0);
  if (comm->tuner) {
    loaded[comm->rank] = fnv1a(comm->tuner->name() + "/" + comm->tuner->abiName()) | 1;
  }
  TUTTI_RETURN_IF_ERROR(comm->bootstrap->allGather(loaded.data(), sizeof(uint64_t)));
  if (comm->tuner && std::any_of(loaded.begin(), loaded.end(),
                                 [&](uint64_t other) { return other != loaded[comm->rank]; })) {
    TUTTI_WARN(kLogInit | kLogColl,
               "tuner plugin '{}' is not loaded alike on every rank; every rank ignores it",
               comm->tuner->name());
    comm->tuner.reset();
  } else if (!comm->tuner &&
             std::any_of(loaded.begin(), loaded.end(), [](uint64_t other) { return other != 0; })) {
    TUTTI_WARN(kLogInit | kLogColl,
               "a tuner plugin is loaded on other ranks but not here; every rank ignores it");
  }
  return Status::ok();
}

// Connects every needed peer over the first transport of the preference order that can connect
// the pair (TUTTI_TRANSPORT narrows and orders it; tcp stays the last resort for pairs none of
// the listed transports can connect). A transport whose collective setup fails hands its peers to
// the next one that can take them, alike on every rank. The choice depends only on data every
// rank holds (host identities, parameters set alike on every rank), so both ends of a pair
// choose the same.
Status connectPeers(tuttiComm* comm, const std::vector<PeerInfo>& peers,
                    const std::vector<int>& needed) {
  const TransportRegistry& registry = builtinTransports();
  std::vector<const TransportEntry*> order;
  TUTTI_RETURN_IF_ERROR(registry.preference(comm->params.transport, &order));
  // tcp, the transport that reaches every rank, is the last resort of any list.
  auto isTcp = [](const TransportEntry& entry) { return std::string(entry.name) == "tcp"; };
  if (std::none_of(order.begin(), order.end(),
                   [&](const TransportEntry* e) { return isTcp(*e); })) {
    const auto& entries = registry.entries();
    order.push_back(&*std::find_if(entries.begin(), entries.end(), isTcp));
  }
  std::vector<RankDescriptor> ranks;
  for (const PeerInfo& peer : peers) {
    ranks.push_back(RankDescriptor{peer.hostHash, peer.machineHash, peer.pid, 0});
  }
  const RankDescriptor& self = ranks[comm->rank];
  RankDescriptor elsewhere = self;
  elsewhere.hostHash = ~self.hostHash;
  std::vector<int> choice =
      TransportRegistry::choosePerPeer(order, comm->params, ranks, comm->rank, needed);
  comm->intraTransport.clear();
  comm->interTransport.clear();
  for (size_t t = 0; t < order.size(); ++t) {
    std::vector<int> mine;
    for (size_t i = 0; i < needed.size(); ++i) {
      if (choice[i] == static_cast<int>(t)) mine.push_back(needed[i]);
    }
    std::unique_ptr<Transport> transport;
    TUTTI_RETURN_IF_ERROR(order[t]->create(comm->params, &transport));
    std::vector<std::unique_ptr<Connection>> connections;
    // Collective: every rank calls every transport of the order, with or without peers.
    Status status = transport->connect(*comm->bootstrap, mine, &connections);
    if (!status.isOk()) {
      bool handedOn = true;
      for (size_t i = 0; i < needed.size(); ++i) {
        if (choice[i] != static_cast<int>(t)) continue;
        choice[i] = -1;
        for (size_t next = t + 1; next < order.size() && choice[i] < 0; ++next) {
          if (order[next]->canConnect(comm->params, self, ranks[needed[i]])) {
            choice[i] = static_cast<int>(next);
          }
        }
        handedOn = handedOn && choice[i] >= 0;
      }
      if (!handedOn || t + 1 == order.size()) return status;
      TUTTI_WARN(kLogInit | kLogNet, "{} unavailable, falling back to {}: {}", order[t]->name,
                 order[t + 1]->name, status.message());
      continue;
    }
    // The cost file's keys: what pairs inside a host and between hosts travel over.
    if (comm->intraTransport.empty() && order[t]->canConnect(comm->params, self, self)) {
      comm->intraTransport = transport->description();
    }
    if (comm->interTransport.empty() && order[t]->canConnect(comm->params, self, elsewhere)) {
      comm->interTransport = transport->description();
    }
    if (!mine.empty()) {
      comm->transportNames += (comm->transportNames.empty() ? "" : "+") + transport->description();
    }
    for (auto& connection : connections) comm->ownedConnections.push_back(std::move(connection));
    comm->transports.push_back(std::move(transport));
  }
  if (comm->transportNames.empty()) comm->transportNames = "self";
  return Status::ok();
}

// Who is where: every rank's host and machine identity, allgathered; the host index of every
// rank, the host count and the ranks sharing this machine's cores.
Status identifyRanks(tuttiComm* comm, std::vector<PeerInfo>* peers, int* localRanks) {
  char host[64] = {0};
  gethostname(host, sizeof(host) - 1);
  comm->hostname = host;
  peers->assign(comm->nranks, PeerInfo{});
  PeerInfo& self = (*peers)[comm->rank];
  std::snprintf(self.hostname, sizeof(self.hostname), "%s", host);
  self.hostHash = hostIdentity(host);
  self.machineHash = machineIdentity(host);
  self.pid = getpid();
  TUTTI_RETURN_IF_ERROR(comm->bootstrap->allGather(peers->data(), sizeof(PeerInfo)));
  for (PeerInfo& peer : *peers) {
    peer.hostname[sizeof(peer.hostname) - 1] = '\0';
    comm->rankHosts.push_back(peer.hostname);
    comm->rankPids.push_back(peer.pid);
  }
  std::vector<uint64_t> hostIds;  // by host index, in order of first appearance
  for (const PeerInfo& peer : *peers) {
    auto known = std::find(hostIds.begin(), hostIds.end(), peer.hostHash);
    comm->hostOfRank.push_back(static_cast<int>(known - hostIds.begin()));
    if (known == hostIds.end()) hostIds.push_back(peer.hostHash);
  }
  comm->nhosts = static_cast<int>(hostIds.size());
  *localRanks =
      static_cast<int>(std::count_if(peers->begin(), peers->end(), [&](const PeerInfo& peer) {
        return peer.hostHash == self.hostHash;
      }));
  comm->ranksOnMachine =
      static_cast<int>(std::count_if(peers->begin(), peers->end(), [&](const PeerInfo& peer) {
        return peer.machineHash == self.machineHash;
      }));
  return Status::ok();
}

// Spinning only pays when every rank on the machine has a core: oversubscribed, a spinning
// rank takes the core its peer needs to make progress. Yielding instead hands the core over at
// once, and a rank whose message arrives runs again without the doorbell's wake-up (measured in
// docs/performance.md). Variables the user set win.
void adaptToOversubscription(tuttiComm* comm, long cpus) {
  if (cpus <= 0 || comm->ranksOnMachine <= cpus) return;
  if (paramEnv("TUTTI_SPIN_US") == nullptr) comm->params.spinUs = 0;
  if (paramEnv("TUTTI_YIELD_US") == nullptr) comm->params.yieldUs = 2000;
  // A single-copy send waits until its receiver runs; through the FIFOs the sender goes on
  // while its peer waits for a core (2 MiB all-reduce on 4 ranks, 2 cores: 2.1 -> 1.5 ms).
  if (paramEnv("TUTTI_SHM_CMA") == nullptr) comm->params.settings["TUTTI_SHM_CMA"] = "0";
}

Status createCommSteps(const UniqueIdContents& id, int nranks, int rank, const Params& params,
                       const std::string& name, tuttiComm** out) {
  auto comm = std::make_unique<tuttiComm>();
  comm->rank = rank;
  comm->nranks = nranks;
  setLogRank(rank);
  comm->params = params;
  comm->configuredParams = params;
  for (const TransportEntry& entry : builtinTransports().entries()) {
    TUTTI_RETURN_IF_ERROR(entry.checkParams(comm->params));
  }
  TUTTI_RETURN_IF_ERROR(AlgoSpec::parse(comm->params.algo, &comm->algoSpec));
  comm->name = name;

  TUTTI_RETURN_IF_ERROR(
      Bootstrap::create(id, rank, nranks, comm->params, &comm->aborted, &comm->bootstrap));

  std::vector<PeerInfo> peers;
  int localRanks = 0;
  TUTTI_RETURN_IF_ERROR(identifyRanks(comm.get(), &peers, &localRanks));
  TUTTI_RETURN_IF_ERROR(chooseCommDevice(comm.get()));
  TUTTI_RETURN_IF_ERROR(exchangeTopology(*comm->bootstrap, rank, nranks, comm->hostOfRank,
                                         &comm->topology, &comm->rankPlaces));
  if (rank == 0) {
    TUTTI_INFO(kLogInit, "cluster of {} host(s):\n{}", comm->nhosts,
               describeCluster(comm->topology, comm->hostOfRank, comm->rankPlaces));
  }
  TUTTI_RETURN_IF_ERROR(loadTuner(comm.get(), id, peers));
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  adaptToOversubscription(comm.get(), cpus);
  TUTTI_INFO(kLogInit,
             "rank {}: {} rank(s) on this host, {} on this machine, {} CPUs: spin {} us, then "
             "yield {} us, before blocking",
             rank, localRanks, comm->ranksOnMachine, cpus, comm->params.spinUs,
             comm->params.yieldUs);

  // Every peer of every algorithm TUTTI_ALGO leaves possible, so that a call never connects.
  std::vector<int> needed = neededPeers(comm->algoSpec, nranks, rank, comm->hostOfRank);
  comm->connectedPeers = needed;
  comm->initAlgo = comm->params.algo;
  TUTTI_RETURN_IF_ERROR(connectPeers(comm.get(), peers, needed));
  const int cpuCount = cpus > 0 ? static_cast<int>(cpus) : 0;
  ShmParams shm;  // the single-copy threshold prices the rendezvous level of the cost model
  TUTTI_RETURN_IF_ERROR(loadShmParams(comm->params, &shm));
  TUTTI_RETURN_IF_ERROR(resolveClusterCost(
      *comm->bootstrap, rank, nranks, CostKey{comm->intraTransport, comm->ranksOnMachine, cpuCount},
      CostKey{comm->interTransport, comm->ranksOnMachine, cpuCount}, shm.cmaMinBytes,
      cpuCount > 0 ? static_cast<double>(comm->ranksOnMachine) / cpuCount : 1.0, &comm->clusterCost,
      &comm->costSource));
  TUTTI_INFO(kLogInit, "cost model: {}", comm->costSource);
  // Device calls over peers' mapped memory, when they may use it: collective, so at init.
  TUTTI_RETURN_IF_ERROR(prepareP2p(comm.get()));
  comm->connections.assign(nranks, nullptr);
  for (auto& connection : comm->ownedConnections) {
    comm->connections[connection->peer()] = connection.get();
  }
  comm->engine = std::make_unique<ProgressEngine>(
      WaitPolicy{comm->params.spinUs, comm->params.yieldUs, comm->params.timeoutMs},
      &comm->aborted);
  comm->executor = std::make_unique<Executor>(comm->params, &comm->hostMover);
  comm->recorder = std::make_unique<FlightRecorder>(comm->params.flightRecorder, nranks);
  if (comm->params.flightRecorderSignal) TUTTI_RETURN_IF_ERROR(watchFlightRecorderSignal());
  // Last: from here on a failure of any rank is every rank's (core/comm_failure.h).
  TUTTI_RETURN_IF_ERROR(startWatch(comm.get()));
  // No rank returns (and may destroy its communicator, closing its bootstrap links) while another
  // still sets up: the setup waits take a closed link for a rank gone (SetupChannel::checkPeers).
  TUTTI_RETURN_IF_ERROR(comm->bootstrap->barrier().withContext("init: the last barrier"));
  comm->bootstrap->endSetup();
  comm->executor->setWitness(comm->watch.get());  // stalled calls publish theirs there
  TUTTI_INFO(kLogInit, "comm {} rank {} nranks {} nhosts {} transport {} ready{}",
             static_cast<const void*>(comm.get()), rank, nranks, comm->nhosts, comm->transportNames,
             comm->name.empty() ? "" : " name " + comm->name);
  *out = registerComm(comm.release());
  return Status::ok();
}

}  // namespace

Status createComm(const UniqueIdContents& id, int nranks, int rank, const tuttiConfig_t* config,
                  tuttiComm** out) {
  Params params;
  TUTTI_RETURN_IF_ERROR(loadParams(config, &params));
  const std::string name = config != nullptr && config->commName != nullptr ? config->commName : "";
  return createCommWithParams(id, nranks, rank, params, name, out);
}

Status createCommWithParams(const UniqueIdContents& id, int nranks, int rank, const Params& params,
                            const std::string& name, tuttiComm** out) {
  // No exception may cross the C API: one that escapes init (memory exhausted) is an error.
  try {
    Status status = createCommSteps(id, nranks, rank, params, name, out);
    if (status.code() == tuttiTimeout && params.initTimeoutMs > 0) {
      return status.withContext(
          fmt::format("init (TUTTI_INIT_TIMEOUT_MS={}: every wait of init ends by then)",
                      params.initTimeoutMs));
    }
    return status;
  } catch (const std::bad_alloc&) {
    return makeError(tuttiSystemError,
                     "rank {}: out of memory (std::bad_alloc) while creating a communicator of "
                     "{} ranks: the process's memory, or its limit (ulimit -v, the cgroup's "
                     "memory.max), is exhausted",
                     rank, nranks);
  } catch (const std::exception& e) {
    return makeError(tuttiInternalError, "rank {}: creating a communicator: {}", rank, e.what());
  }
}

}  // namespace tutti
