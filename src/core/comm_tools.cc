// The internal API tools use on a live communicator (core/comm_info.h): what it is made of,
// what the model would choose, and switching the algorithm spec between calls.
#include <unistd.h>

#include <algorithm>

#include "algo/select.h"
#include "core/comm.h"
#include "core/comm_info.h"
#include "core/comm_topology.h"
#include "exec/datatype.h"
#include "transports/tcp/tcp_params.h"

namespace tutti {

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
    TcpParams tcp;  // checked at init: loads
    (void)loadTcpParams(c->params, &tcp);
    info->nSocksPerPeer = tcp.socketsPerPeer;
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
    const size_t bytes = callBytes(collective, c->nranks, count, dataTypeSize(type));
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
