// The communicator's global picture of the machines it spans: each host's topology (detected by
// the host's lowest rank, or read from TUTTI_TOPO_FILE) exchanged at init, so that every rank
// holds the same cluster, host-indexed as hostOfRank numbers hosts.
#pragma once

#include <string>
#include <vector>

#include "core/bootstrap.h"
#include "core/status.h"
#include "topo/topology.h"

namespace tutti {

// Collective over the bootstrap. hostOfRank[r]: rank r's host index (0..H-1, every rank has the
// same vector). The lowest rank of each host loads or detects its host (loadOrDetectHostTopology;
// a TUTTI_TOPO_FILE holding several hosts gives host h its host h modulo their count) and every
// rank receives every host's text. A host whose detection fails, or whose text does not parse, is
// a single CPU node in the picture (logged), never an error: the picture informs the cost model
// and logs, it does not decide correctness. Errors: only the bootstrap's (a lost peer, timeout).
// Rank 0 writes the cluster to TUTTI_TOPO_DUMP_FILE when set.
Status exchangeTopology(Bootstrap& bootstrap, int rank, int nranks,
                        const std::vector<int>& hostOfRank, topo::Topology* cluster);

// One line per host: its ranks, NUMA nodes, GPUs, NICs (with speeds) and NVLink, for the INFO
// log and tools.
std::string describeCluster(const topo::Topology& cluster, const std::vector<int>& hostOfRank);

}  // namespace tutti
