// The communicator's global picture of the machines it spans: each host's topology (detected by
// the host's lowest rank, or read from TUTTI_TOPO_FILE) exchanged at init, so that every rank
// holds the same cluster, host-indexed as hostOfRank numbers hosts.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "core/bootstrap.h"
#include "topo/topology.h"

namespace tutti {

// Collective over the bootstrap. hostOfRank[r]: rank r's host index (0..H-1, every rank has the
// same vector). The lowest rank of each host loads or detects its host (loadOrDetectHostTopology;
// a TUTTI_TOPO_FILE holding several hosts gives host h its host h modulo their count) and every
// rank receives every host's text. A host whose detection fails, or whose text does not parse, is
// a single CPU node in the picture (logged), never an error: the picture informs the cost model
// and logs, it does not decide correctness. Errors: only the bootstrap's (a lost peer, timeout).
// Rank 0 writes the cluster to TUTTI_TOPO_DUMP_FILE when set.
// Where each rank sits in the picture.
struct RankPlace {
  int host = 0;
  int localRank = 0;  // index among its host's ranks, in rank order
  int numa = -1;      // the NUMA node it ran on at init (OS index); -1 unknown
  int cpuNode = -1;   // that NUMA node's CPU node in the cluster; -1 when the picture lacks it
  int nic = -1;       // the NIC node nearest that CPU node (NCCL's path order); -1 none
  int gpu = -1;       // its GPU node; -1: a CPU rank (every rank until device buffers exist)
};

// Collective, as exchangeTopology; also allgathers each rank's NUMA node and places the ranks.
Status exchangeTopology(Bootstrap& bootstrap, int rank, int nranks,
                        const std::vector<int>& hostOfRank, topo::Topology* cluster,
                        std::vector<RankPlace>* places);

// One line per host (its ranks, NUMA nodes, GPUs, NICs with speeds, NVLink) and one per rank
// (host, local rank, NUMA node, nearest NIC), for the INFO log and tools.
std::string describeCluster(const topo::Topology& cluster, const std::vector<int>& hostOfRank,
                            const std::vector<RankPlace>& places);

}  // namespace tutti
