// A topology as people read it: a summary line, then per host the PCIe tree below each CPU with
// link speeds, the NVLinks and inter-socket links, and the NIC closest to each GPU. What
// tutti-topo prints and what INFO logs show.
#pragma once

#include <string>

#include "topo/topology.h"

namespace tutti::topo {

// "hosts 1, NUMA nodes 2, PUs 160, GPUs 8, NICs 8, NVSwitches 4, NVLink yes"
std::string summarizeTopology(const Topology& topology);

// The summary line, then the tree of every host.
std::string describeTopology(const Topology& topology);

}  // namespace tutti::topo
