#include "core/comm.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <unordered_set>

#include "algo/select.h"
#include "base/log.h"
#include "core/builtin_transports.h"
#include "core/comm_cost.h"
#include "core/comm_info.h"
#include "core/comm_topology.h"
#include "exec/datatype.h"

namespace tutti {
namespace {

std::unordered_set<const tuttiComm*>& registry() {
  static std::unordered_set<const tuttiComm*> live;
  return live;
}

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
  if (const char* forced = std::getenv("TUTTI_HOSTID")) return fnv1a(std::string("id:") + forced);
  return machineIdentity(hostname);
}

// The algorithm for a call of `bytes` per rank's buffer (the larger one for all-gather and
// reduce-scatter, as nccl-tests counts size), logged at INFO the first time per size class.
Choice chooseAndLog(tuttiComm* comm, Collective collective, size_t countBytes) {
  const size_t bytes =
      collective == Collective::kAllReduce ? countBytes : countBytes * comm->nranks;
  Choice choice =
      chooseAlgorithm(comm->algoSpec, collective, comm->nranks, bytes, comm->clusterCost,
                      comm->tuner.get(), hostShapeOf(comm->hostOfRank));
  int sizeClass = 0;
  while (sizeClass < 63 && (size_t{2} << sizeClass) <= bytes) ++sizeClass;
  if (comm->loggedChoices.insert({static_cast<int>(collective), sizeClass}).second) {
    std::string candidates;
    for (int a = 0; a < kNumAlgorithms; ++a) {
      if (choice.predictedUs[a] < 0) continue;
      candidates += fmt::format(" {} {:.1f} us", algorithmName(static_cast<Algorithm>(a)),
                                choice.predictedUs[a]);
    }
    std::string source = choice.pinned ? "TUTTI_ALGO" : "cost model";
    if (choice.tuned) {
      source = choice.algorithm != choice.modelAlgorithm
                   ? fmt::format("tuner '{}' changed the model's {}", comm->tuner->name(),
                                 algorithmName(choice.modelAlgorithm))
                   : fmt::format("cost model, tuner '{}' agreed", comm->tuner->name());
      candidates += "; tuner:";
      for (int a = 0; a < kNumAlgorithms; ++a) {
        if (choice.predictedUs[a] < 0) continue;
        candidates +=
            fmt::format(" {} {}", algorithmName(static_cast<Algorithm>(a)),
                        choice.tunedUs[a] < 0 ? std::string("ignored")
                                              : fmt::format("{:.1f} us", choice.tunedUs[a]));
      }
    }
    TUTTI_INFO(kLogColl, "{} {} bytes: {} ({}; predicted:{})", collectiveName(collective), bytes,
               algorithmName(choice.algorithm), source, candidates);
  }
  return choice;
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
  if (std::none_of(order.begin(), order.end(),
                   [](const TransportEntry* entry) { return std::string(entry->name) == "tcp"; })) {
    order.push_back(&registry.entries().back());
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
    std::unique_ptr<Transport> transport = order[t]->create(comm->params);
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

}  // namespace

std::mutex& registryMutex() {
  static std::mutex mutex;
  return mutex;
}

bool isLiveLocked(const tuttiComm* comm) { return registry().count(comm) != 0; }

void registerComm(tuttiComm* comm) {
  std::lock_guard<std::mutex> lock(registryMutex());
  registry().insert(comm);
}

bool unregisterComm(tuttiComm* comm) {
  std::lock_guard<std::mutex> lock(registryMutex());
  return registry().erase(comm) != 0;
}

void closeConnections(tuttiComm* comm) {
  for (auto& connection : comm->ownedConnections) connection->shutdown();
}

Status createComm(const UniqueIdContents& id, int nranks, int rank, const tuttiConfig_t* config,
                  tuttiComm** out) {
  auto comm = std::make_unique<tuttiComm>();
  comm->rank = rank;
  comm->nranks = nranks;
  setLogRank(rank);
  TUTTI_RETURN_IF_ERROR(loadParams(config, &comm->params));
  TUTTI_RETURN_IF_ERROR(AlgoSpec::parse(comm->params.algo, &comm->algoSpec));
  if (config != nullptr && config->commName != nullptr) comm->name = config->commName;

  TUTTI_RETURN_IF_ERROR(
      Bootstrap::create(id, rank, nranks, comm->params, &comm->aborted, &comm->bootstrap));

  char host[64] = {0};
  gethostname(host, sizeof(host) - 1);
  comm->hostname = host;
  std::vector<PeerInfo> peers(nranks);
  PeerInfo& self = peers[rank];
  std::snprintf(self.hostname, sizeof(self.hostname), "%s", host);
  self.hostHash = hostIdentity(host);
  self.machineHash = machineIdentity(host);
  self.pid = getpid();
  TUTTI_RETURN_IF_ERROR(comm->bootstrap->allGather(peers.data(), sizeof(PeerInfo)));
  std::set<uint64_t> hosts;
  int localRanks = 0;
  std::vector<uint64_t> hostIds;  // by host index
  for (const PeerInfo& peer : peers) {
    auto known = std::find(hostIds.begin(), hostIds.end(), peer.hostHash);
    comm->hostOfRank.push_back(static_cast<int>(known - hostIds.begin()));
    if (known == hostIds.end()) hostIds.push_back(peer.hostHash);
  }
  for (const PeerInfo& peer : peers) {
    hosts.insert(peer.hostHash);
    if (peer.hostHash == self.hostHash) ++localRanks;
  }
  comm->nhosts = static_cast<int>(hosts.size());
  comm->ranksOnMachine =
      static_cast<int>(std::count_if(peers.begin(), peers.end(), [&](const PeerInfo& peer) {
        return peer.machineHash == self.machineHash;
      }));
  TUTTI_RETURN_IF_ERROR(exchangeTopology(*comm->bootstrap, rank, nranks, comm->hostOfRank,
                                         &comm->topology, &comm->rankPlaces));
  if (rank == 0) {
    TUTTI_INFO(kLogInit, "cluster of {} host(s):\n{}", comm->nhosts,
               describeCluster(comm->topology, comm->hostOfRank, comm->rankPlaces));
  }
  TUTTI_RETURN_IF_ERROR(loadTuner(comm.get(), id, peers));
  // Spinning only pays when every rank on the machine has a core: oversubscribed, a spinning
  // rank takes the core its peer needs to make progress. Yielding instead hands the core over
  // at once, and a rank whose message arrives runs again without the doorbell's wake-up
  // (measured in docs/performance.md).
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus > 0 && comm->ranksOnMachine > cpus) {
    if (std::getenv("TUTTI_SPIN_US") == nullptr) comm->params.spinUs = 0;
    if (std::getenv("TUTTI_YIELD_US") == nullptr) comm->params.yieldUs = 2000;
    // A single-copy send waits until its receiver runs; through the FIFOs the sender goes on
    // while its peer waits for a core (2 MiB all-reduce on 4 ranks, 2 cores: 2.1 -> 1.5 ms).
    if (std::getenv("TUTTI_SHM_CMA") == nullptr) comm->params.shmCma = false;
  }
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
  TUTTI_RETURN_IF_ERROR(resolveClusterCost(
      *comm->bootstrap, rank, nranks, CostKey{comm->intraTransport, comm->ranksOnMachine, cpuCount},
      CostKey{comm->interTransport, comm->ranksOnMachine, cpuCount}, comm->params.shmCmaMinBytes,
      cpuCount > 0 ? static_cast<double>(comm->ranksOnMachine) / cpuCount : 1.0, &comm->clusterCost,
      &comm->costSource));
  TUTTI_INFO(kLogInit, "cost model: {}", comm->costSource);
  comm->connections.assign(nranks, nullptr);
  for (auto& connection : comm->ownedConnections) {
    comm->connections[connection->peer()] = connection.get();
  }
  comm->engine = std::make_unique<ProgressEngine>(
      WaitPolicy{comm->params.spinUs, comm->params.yieldUs, comm->params.timeoutMs},
      &comm->aborted);
  comm->executor = std::make_unique<Executor>(comm->params, &comm->hostMover);
  TUTTI_INFO(kLogInit, "comm {} rank {} nranks {} nhosts {} transport {} ready{}",
             static_cast<const void*>(comm.get()), rank, nranks, comm->nhosts, comm->transportNames,
             comm->name.empty() ? "" : " name " + comm->name);
  *out = comm.release();
  registerComm(*out);
  return Status::ok();
}

namespace {

// One collective on one thread's executor and engine.
Status runOn(tuttiComm* comm, const CollectiveArgs& args, Executor& executor,
             ProgressEngine& engine) {
  const Collective collective = args.collective;
  const size_t count = args.count;
  const tuttiDataType_t type = args.type;
  const tuttiRedOp_t op = args.op;
  ++comm->operationsIssued;
  setLogRank(comm->rank);
  const size_t elemSize = dataTypeSize(type);
  tuttiComm::CachedPlan* cached = nullptr;
  for (tuttiComm::CachedPlan& entry : comm->planCache) {
    if (entry.collective == collective && entry.count == count && entry.elemSize == elemSize) {
      cached = &entry;
      break;
    }
  }
  if (cached == nullptr) {
    constexpr size_t kPlanCacheEntries = 16;
    Choice choice = chooseAndLog(comm, collective, count * elemSize);
    tuttiComm::CachedPlan entry{
        collective, count, elemSize, choice,
        makePlan(choice.algorithm, collective, comm->nranks, comm->rank, count, comm->hostOfRank)};
    if (comm->planCache.size() < kPlanCacheEntries) {
      comm->planCache.push_back(std::move(entry));
      cached = &comm->planCache.back();
    } else {
      cached = &comm->planCache[comm->planCacheNext];
      *cached = std::move(entry);
      comm->planCacheNext = (comm->planCacheNext + 1) % kPlanCacheEntries;
    }
  }
  const Plan& plan = cached->plan;
  TUTTI_TRACE(kLogColl, "{} count {} type {} op {}: {} plan, {} steps", collectiveName(collective),
              count, static_cast<int>(type), static_cast<int>(op), plan.algorithm,
              plan.steps.size());
  CallBuffers buffers{args.send, args.recv, MemoryKind::kHost, -1};
  Status status = executor.run(plan, buffers, type, op, comm->connections, engine);
  if (!status.isOk()) {
    int expected = tuttiSuccess;
    comm->asyncError.compare_exchange_strong(expected, status.code());
    closeConnections(comm);
    TUTTI_WARN(kLogColl, "{}", status.message());
  }
  return status;
}

}  // namespace

Status runCollective(tuttiComm* comm, const CollectiveArgs& args) {
  return runOn(comm, args, *comm->executor, *comm->engine);
}

size_t pendingOperations(const tuttiComm* comm) {
  return comm->progressThread ? comm->progressThread->pending() : 0;
}

Status issueCollective(tuttiComm* comm, const CollectiveArgs& args,
                       std::shared_ptr<Operation>* out) {
  if (!comm->progressThread) {
    comm->asyncEngine = std::make_unique<ProgressEngine>(
        WaitPolicy{comm->params.spinUs, comm->params.yieldUs, comm->params.timeoutMs},
        &comm->aborted);
    comm->asyncExecutor = std::make_unique<Executor>(comm->params, &comm->hostMover);
    comm->progressThread = std::make_unique<ProgressThread>([comm](const CollectiveArgs& queued) {
      std::lock_guard<std::mutex> lock(comm->callMutex);
      // An error of an earlier operation is sticky, as it is for blocking calls.
      const int sticky = comm->asyncError.load();
      if (sticky != tuttiSuccess) {
        return Status(static_cast<tuttiResult_t>(sticky),
                      fmt::format("{}: communicator is in error since an earlier call",
                                  collectiveName(queued.collective)));
      }
      return runOn(comm, queued, *comm->asyncExecutor, *comm->asyncEngine);
    });
  }
  *out = std::make_shared<Operation>(args, comm->operationsIssued + pendingOperations(comm) + 1);
  comm->progressThread->enqueue(*out);
  return Status::ok();
}

Status getCommInfo(tuttiComm_t comm, CommInfo* info) {
  if (info == nullptr) return makeError(tuttiInvalidArgument, "info is NULL");
  bool live = withLiveComm(comm, [&](tuttiComm* c) {
    info->nranks = c->nranks;
    info->rank = c->rank;
    info->nhosts = c->nhosts;
    info->hostname = c->hostname;
    info->transport = c->transportNames;
    info->algorithm.clear();
    for (int i = 0; i < kNumAlgorithms; ++i) {
      const auto a = static_cast<Algorithm>(i);
      if (!c->algoSpec.mayUse(a)) continue;
      info->algorithm += (info->algorithm.empty() ? "" : ",") + std::string(algorithmName(a));
    }
    info->nSocksPerPeer = c->params.nSocksPerPeer;
    info->timeoutMs = c->params.timeoutMs;
    info->intraTransport = c->intraTransport;
    info->interTransport = c->interTransport;
    info->ranksOnMachine = c->ranksOnMachine;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    info->cpus = cpus > 0 ? static_cast<int>(cpus) : 0;
    info->cost = c->clusterCost;
    info->costSource = c->costSource;
    info->hostOfRank = c->hostOfRank;
    info->cluster = describeCluster(c->topology, c->hostOfRank, c->rankPlaces);
  });
  if (!live) return makeError(tuttiInvalidArgument, "comm is NULL or not a live communicator");
  return Status::ok();
}

Status explainChoice(tuttiComm_t comm, Collective collective, size_t count, tuttiDataType_t type,
                     Choice* out) {
  if (out == nullptr) return makeError(tuttiInvalidArgument, "out is NULL");
  bool live = withLiveComm(comm, [&](tuttiComm* c) {
    const size_t countBytes = count * dataTypeSize(type);
    const size_t bytes = collective == Collective::kAllReduce ? countBytes : countBytes * c->nranks;
    *out = chooseAlgorithm(c->algoSpec, collective, c->nranks, bytes, c->clusterCost,
                           c->tuner.get(), hostShapeOf(c->hostOfRank));
  });
  if (!live) return makeError(tuttiInvalidArgument, "comm is NULL or not a live communicator");
  return Status::ok();
}

Status setAlgoSpec(tuttiComm_t comm, const std::string& text) {
  AlgoSpec spec;
  TUTTI_RETURN_IF_ERROR(AlgoSpec::parse(text, &spec));
  Status status = Status::ok();
  bool live = withLiveComm(comm, [&](tuttiComm* c) {
    // Every peer the new spec may need must be connected already (at init, for the spec then).
    std::vector<int> want = neededPeers(spec, c->nranks, c->rank, c->hostOfRank);
    if (!std::includes(c->connectedPeers.begin(), c->connectedPeers.end(), want.begin(),
                       want.end())) {
      status = makeError(tuttiInvalidArgument,
                         "algorithm spec '{}' needs peers the communicator did not connect (its "
                         "TUTTI_ALGO at init was '{}')",
                         text, c->initAlgo);
      return;
    }
    std::lock_guard<std::mutex> lock(c->callMutex);
    c->algoSpec = spec;
    c->params.algo = text;
    c->planCache.clear();
    c->planCacheNext = 0;
    c->loggedChoices.clear();
  });
  if (!live) return makeError(tuttiInvalidArgument, "comm is NULL or not a live communicator");
  return status;
}

}  // namespace tutti
