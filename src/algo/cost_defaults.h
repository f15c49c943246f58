// The cost model's constants where nothing better is known: per transport, fitted on the
// project's development machine. A communicator starts from these and takes the cost file's
// (cost_file.h) where it has an entry for the machine's shape; tools pricing GPU clusters take
// the topology's (cost_topology.h).
#pragma once

#include <string>

#include "algo/cost_model.h"

namespace tutti {

// Defaults per transport description ("shm/cma", "shm", "tcp", "self"), fitted on the
// project's development machine (2-core VM; docs/performance.md, "Cost model"). Unknown names
// get tcp's.
LinkCost defaultLinkCost(const std::string& transport);

// The CPU ranks' costs tools assume when a host has no GPUs: the transports' defaults
// (defaultLinkCost), shared memory with single copy ("shm/cma") inside a host and "tcp" between
// hosts, as a communicator on such hosts starts from.
ClusterCost defaultCpuClusterCost();

}  // namespace tutti
