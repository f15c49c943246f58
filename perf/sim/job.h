// The job tutti-sim prices: one host's topology replicated to N hosts, ranks host-major on its
// GPUs (or CPU ranks), and the cost model's constants for that cluster.
#pragma once

#include <string>
#include <vector>

#include "algo/cost_topology.h"
#include "algo/select.h"
#include "topo/topology.h"

namespace tutti::sim {

struct Job {
  std::string source;
  topo::Topology cluster;
  int hosts = 0;
  int perHost = 0;
  int nranks = 0;
  std::vector<int> hostOfRank;
  std::vector<int> gpuOfRank;
  HostShape shape;
  TopologyCost cost;
  std::string machineNote;  // what --nvlinks / --sm changed
};

// The cluster of hosts copies of host with gpusPerHost ranks each (0: every GPU); nvlinks and
// sm (0: as the file says) complete skeleton files. source names the file in messages.
Status makeJob(topo::Topology host, const std::string& source, int hosts, int gpusPerHost,
               int nvlinks, int sm, Job* job);

}  // namespace tutti::sim
