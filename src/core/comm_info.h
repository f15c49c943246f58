// A read-only description of a live communicator for tools in this repository (tutti-perf,
// tutti-topo): what the header of a perf run names.
#pragma once

#include <string>
#include <vector>

#include "algo/plan.h"
#include "algo/select.h"
#include "base/status.h"
#include "tutti/tutti.h"

namespace tutti {

struct CommInfo {
  int nranks = 0;
  int rank = 0;
  int nhosts = 0;         // distinct hosts among the ranks
  std::string hostname;   // this rank's host
  std::string transport;  // transports in use, e.g. "tcp" or "self" for one rank
  std::string algorithm;  // algorithms available for the three collectives, e.g. "ring"
  int nSocksPerPeer = 0;
  int timeoutMs = 0;
  // The cost model's key (algo/cost_file.h): the transport between ranks of a host ("shm/cma",
  // "shm", or "tcp" where shared memory is off) and between hosts ("tcp"), the ranks of this
  // job on this machine (posed hosts, TUTTI_HOSTID, do not count: they share the machine) and
  // the machine's online CPUs.
  std::string intraTransport;
  std::string interTransport;
  int ranksOnMachine = 0;
  int cpus = 0;
  ClusterCost cost;        // what the model uses
  std::string costSource;  // "defaults" or the cost file it came from
  std::vector<int> hostOfRank;
  std::string cluster;  // every host's topology in brief (describeCluster), alike on all ranks
};

// Returns tuttiInvalidArgument for a NULL or destroyed comm or a NULL info.
Status getCommInfo(tuttiComm_t comm, CommInfo* info);

// The choice the communicator would make for a call (TUTTI_ALGO, cost model, tuner), without
// running it. count and type as the collective takes them. Same errors as getCommInfo.
Status explainChoice(tuttiComm_t comm, Collective collective, size_t count, tuttiDataType_t type,
                     Choice* out);

// Replaces the communicator's TUTTI_ALGO for later calls (tutti-perf --algo). Every rank must
// set the same text between the same calls, or ranks run different plans. The communicator
// connected at init only the peers its TUTTI_ALGO then allowed: a spec reaching outside them is
// refused with tuttiInvalidArgument, as is text AlgoSpec::parse refuses.
Status setAlgoSpec(tuttiComm_t comm, const std::string& text);

}  // namespace tutti
