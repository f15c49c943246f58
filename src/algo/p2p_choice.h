// The algorithms of the p2p path (device buffers of ranks on one host, peers' device memory
// mapped: core/p2p_collective.h), their cost and the choice between them and the staged path.
//   oneshot  all-reduce: every rank reduces every rank's window into its receive buffer (one
//            pass, n - 1 remote reads of the whole message per rank); all-gather: every rank
//            copies every rank's block; reduce-scatter: every rank reduces its block of every
//            rank's window. The direct algorithms of the p2p path.
//   twoshot  all-reduce only: a reduce-scatter through the windows (each rank reduces its 1/n
//            slice of every window), then an all-gather of the reduced slices, reading peers'.
// They are not plans of the algorithm table (algo/algorithm.h): they run as stream work on
// mapped device memory, not as messages over transports, so the table's plans, peers and tuner
// indices do not describe them. TUTTI_ALGO names them beside the table's algorithms.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "algo/algo_spec.h"
#include "algo/plan.h"
#include "topo/topology.h"

namespace tutti {

enum class P2pAlgorithm : uint8_t { kOneShot, kTwoShot };

const char* p2pAlgorithmName(P2pAlgorithm algorithm);  // "oneshot", "twoshot"
std::optional<P2pAlgorithm> parseP2pAlgorithm(const std::string& name);

// The p2p path's costs: a barrier's latency (one flag written into every peer's memory and one
// read back) and the bandwidth of one rank's reads of peers' memory. The defaults are estimates
// for GPUs linked by NVLink (a kernel launch and a flag round trip; a few NVLinks), not
// measurements; p2pCostFromTopology replaces them from the host's topology where it can.
struct P2pCost {
  double barrierUs = 5.0;
  double gbps = 100.0;
};

// The costs for the ranks of one host (host 0 of `cluster`) whose devices have CUDA indices
// devices[r]: the bandwidth between their GPUs as clusterCostFromTopology prices it (NVLinks
// through NVSwitches, direct NVLink, PCIe, through the CPU), and the default barrier plus two
// path latencies (a flag there and back). False, *out unchanged, when a device is not a GPU of
// the topology with that index, or two ranks share a GPU (their reads stay in one GPU's memory,
// which the topology does not price); *basis says why or what was taken.
bool p2pCostFromTopology(const topo::Topology& cluster, const std::vector<int>& devices,
                         P2pCost* out, std::string* basis);

// Predicted time (us) of one call moving `bytes` (the larger buffer) over n ranks; nullopt where
// the algorithm does not serve the collective. oneshot all-reduce: 2 barriers, a copy into the
// window and n - 1 remote reads of the message; twoshot: 3 barriers, the copy, and
// 2 (n - 1) / n of the message read remotely. So oneshot wins for 2 ranks at every size and
// below barrierUs x bandwidth x n / ((n - 1)(n - 2)) bytes otherwise.
std::optional<double> p2pPredictUs(P2pAlgorithm algorithm, Collective collective, int nranks,
                                   size_t bytes, const P2pCost& cost);

// The p2p algorithm for a call that may take the p2p path, or nullopt for the staged path. The
// spec decides first: p2p algorithms it names for (collective, bytes) are the candidates; when it
// names only table algorithms there (TUTTI_ALGO=ring), the staged path; when it names none, both
// p2p algorithms less those it excludes (^oneshot). Among the candidates the cheapest by
// p2pPredictUs (oneshot on a tie); all-gather and reduce-scatter have only oneshot.
std::optional<P2pAlgorithm> chooseP2pAlgorithm(const AlgoSpec& spec, Collective collective,
                                               int nranks, size_t bytes, const P2pCost& cost);

}  // namespace tutti
