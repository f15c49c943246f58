// A read-only description of a live communicator for tools in this repository (tutti-perf,
// tutti-topo): what the header of a perf run names.
#pragma once

#include <string>

#include "core/status.h"
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
};

// Returns tuttiInvalidArgument for a NULL or destroyed comm or a NULL info.
Status getCommInfo(tuttiComm_t comm, CommInfo* info);

}  // namespace tutti
