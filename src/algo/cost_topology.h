// The cost model's link costs (ClusterCost, cost_model.h) from the system model (topo/topology.h):
// what a job's GPUs and NICs let one collective move, priced the way NCCL's topology search
// prices it, so that tools (tutti-sim, tutti-topo --algo-table) can predict GPU clusters that
// this machine is not. CPU ranks keep the transports' calibrated costs: the topology says nothing
// about how fast a host's processes exchange memory.
//
// GPU ranks, between ranks of a host (intra):
//   - NVSwitch systems: when every pair of consecutive ranks of the host's ring (rank order,
//     cyclic) reaches each other over NVLink through an NVSwitch, a GPU's bandwidth is the sum of
//     its NVLinks to NVSwitches. NCCL merges all NVSwitches into one node and adds the bandwidth
//     of every NVLink to it (src/graph/topo.cc, ncclTopoAddNvLinks and ncclTopoConnectNodes,
//     "link->bw += bw"), and spreads its channels over all of them: a DGX H100 GPU has
//     18 x 20.6 GB/s = 370.8 GB/s.
//   - otherwise: the narrowest findPath bandwidth between consecutive ranks of the host's ring
//     (direct NVLink, PCIe, through the CPU).
//   beta = 1 / bandwidth (ns per byte = 1 / GB/s); alpha = the largest path latency between
//   consecutive ranks (sums of NCCL's per-link hwLat figures, link_model.h).
//   gamma = 0: NCCL reduces inside the kernel pass that moves the data (reduceCopy in
//   src/device/common_kernel.h, called from the prims of src/device/prims_simple.h) and its own
//   cost model has no reduction term (src/graph/tuning.cc, ncclTopoTuneModel: latency plus size
//   over the graph's bandwidth). A fused reduction reads two operands and writes one per element
//   moved, 3 x 370.8 GB/s = 1.1 TB/s of HBM traffic on a DGX H100, a third of the H100 SXM's
//   3.35 TB/s HBM3 (NVIDIA H100 Tensor Core GPU datasheet): memory keeps up with NVLink, so
//   reducing adds no time of its own.
// GPU ranks, between hosts (inter, more than one host):
//   a host sends over the NICs local to its ranks' GPUs: for each GPU the NICs at its best path
//   (widest, then best path type; NCCL's ncclTopoGetLocal in src/graph/topo.cc, commit 069a3d4),
//   all of which NCCL spreads its channels over (ncclTopoGetLocalNetType there: without rail
//   information every local NIC serves the GPU, net = channelId % netsPerGpu). A DGX H100 GPU has
//   two (the two NICs behind its PCIe switch); its host uses all eight. What the host can push is
//   the maximum flow from its ranks' GPUs to those NICs, each NIC taking at most its speed x
//   ports and each PCIe or inter-socket link its bandwidth: NCCL's search takes a channel's
//   bandwidth off every link of the GPU -> NIC path and refuses the channel where a link has too
//   little left (src/graph/search.cc, followPath). So a 400 Gb/s NIC (50 GB/s) behind a PCIe
//   Gen5 x16 link (48 GB/s, NCCL's figure) carries 48 GB/s, and two NICs fed by one GPU's link
//   carry that link's bandwidth together. GPUs and NICs do not forward (NVLink relays, NCCL's
//   PXN, are not modelled). The narrowest host sets the cluster's figure. alpha = the NIC's
//   network latency (kNetLatencyUs unless the file gives one) + the largest path latency from a
//   rank's GPU to its closest NIC.
#pragma once

#include <string>
#include <vector>

#include "algo/cost_defaults.h"
#include "algo/cost_model.h"
#include "base/status.h"
#include "topo/topology.h"

namespace tutti {

// A ClusterCost and how it was derived, for tools and logs.
struct TopologyCost {
  ClusterCost cost;
  bool fromTopology = false;  // false: the CPU ranks' fallback was returned
  double intraGBps = 0;       // per GPU, narrowest host; 0 where no host holds two ranks
  double intraLatencyUs = 0;
  std::string intraBasis;  // "NVSwitch: 18 NVLinks = 370.8 GB/s per GPU (host 0 gpu0)"
  double interGBps = 0;    // per host over its NICs, narrowest host; 0 with one host
  double interLatencyUs = 0;
  int nicsPerHost = 0;        // NICs local to the ranks' GPUs on the narrowest host
  double nicGBpsPerHost = 0;  // their speeds summed (the flow to them may be less)
  std::string interBasis;     // "host 0: 8 NICs local to the ranks' GPUs, 400 GB/s; 384 GB/s ..."
};

// The costs of a job whose rank r runs on host hostOfRank[r] of `cluster` with GPU node
// gpuOfRank[r] (an index into cluster.nodes), or on a CPU when gpuOfRank[r] is -1. When every
// rank is a CPU rank, `cpuFallback` is returned as it is (fromTopology false). Errors, all
// tuttiInvalidArgument with a message naming the rank: no ranks; sizes that differ; a host
// outside the cluster; a GPU index outside the nodes or naming another kind of node; a GPU on a
// host other than the rank's; two ranks on one GPU (NCCL refuses that too, "Duplicate GPU
// detected" in init.cc); GPU and CPU ranks mixed; two GPUs of a host with no path between them;
// a GPU with no NIC on its host when the job spans several hosts.
Status clusterCostFromTopology(const topo::Topology& cluster, const std::vector<int>& hostOfRank,
                               const std::vector<int>& gpuOfRank, const ClusterCost& cpuFallback,
                               TopologyCost* out);

// Places nranks ranks on the cluster's hosts in contiguous blocks (host-major, the first
// nranks % hosts hosts one rank more: chunkCount's split) and each rank of a host on the host's
// next GPU, in GPU index order (NVML/CUDA order; node order where an index is unknown). Hosts
// without GPUs get CPU ranks (-1). Errors (tuttiInvalidArgument): nranks < 1, an empty cluster,
// more ranks on a host than it has GPUs, hosts with GPUs and hosts without in one job.
Status placeRanks(const topo::Topology& cluster, int nranks, std::vector<int>* hostOfRank,
                  std::vector<int>* gpuOfRank);

// Two lines, "intra: ..." and "inter: ...", with the costs and their basis, each line starting
// with linePrefix ("# " in tools' headers).
std::string describeTopologyCost(const TopologyCost& cost, const std::string& linePrefix = "");

}  // namespace tutti
