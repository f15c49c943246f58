#include "perf/sim/job.h"

#include <fmt/format.h>

#include "topo/builder.h"

namespace tutti::sim {
namespace {

// --sm: the compute capability of GPUs the file leaves unknown (skeleton files).
Status setUnknownSm(topo::Topology* host, int sm, std::string* note) {
  int changed = 0;
  for (topo::Node& node : host->nodes) {
    if (node.kind == topo::NodeKind::kGpu && node.sm == 0) {
      node.sm = sm;
      ++changed;
    }
  }
  if (changed == 0) {
    return makeError(tuttiInvalidArgument, "--sm {}: every GPU of the file has its SM already", sm);
  }
  *note += fmt::format("{}--sm {}: set on {} GPUs the file left unknown.", note->empty() ? "" : " ",
                       sm, changed);
  return Status::ok();
}

// --nvlinks: an NVSwitch fabric the file does not describe (PCIe skeletons), each GPU with this
// many NVLinks to it at NCCL's per-link bandwidth for its SM (link_model.h). One NVSwitch node
// stands for all of them, as NCCL merges them (topo_cost.h).
Status addNvSwitchFabric(topo::Topology* host, int nvlinks, std::string* note) {
  if (host->hasNvlink()) {
    return makeError(tuttiInvalidArgument,
                     "--nvlinks {}: the file describes NVLinks already; it is for files without",
                     nvlinks);
  }
  const std::vector<int> gpus = host->nodesOf(topo::NodeKind::kGpu);
  if (gpus.empty()) return makeError(tuttiInvalidArgument, "--nvlinks: the file has no GPUs");
  topo::Node nvswitch;
  nvswitch.kind = topo::NodeKind::kNvSwitch;
  nvswitch.name = topo::defaultNodeName(topo::NodeKind::kNvSwitch, 0);
  nvswitch.host = 0;
  const int index = host->addNode(nvswitch);
  topo::TopologyBuilder builder(host, 0);
  for (int gpu : gpus) builder.addNvlink(gpu, index, nvlinks, /*mergeSameCount=*/false);
  *note +=
      fmt::format("{}--nvlinks {}: every GPU joined to an NVSwitch by {} NVLinks ({:.1f} GB/s).",
                  note->empty() ? "" : " ", nvlinks, nvlinks, host->links.back().bandwidthGBps);
  return Status::ok();
}

}  // namespace

Status makeJob(topo::Topology host, const std::string& source, int hosts, int gpusPerHost,
               int nvlinks, int sm, Job* job) {
  if (host.hostCount() != 1) {
    return makeError(tuttiInvalidArgument, "{} describes {} hosts; tutti-sim replicates one",
                     source, host.hostCount());
  }
  job->source = source;
  if (sm > 0) TUTTI_RETURN_IF_ERROR(setUnknownSm(&host, sm, &job->machineNote));
  if (nvlinks > 0) TUTTI_RETURN_IF_ERROR(addNvSwitchFabric(&host, nvlinks, &job->machineNote));
  const int gpus = host.gpuCount();
  if (gpusPerHost <= 0) {
    if (gpus == 0) {
      return makeError(tuttiInvalidArgument,
                       "{} has no GPUs: give --gpus-per-host, the CPU ranks per host", source);
    }
    gpusPerHost = gpus;
  }
  if (gpus > 0 && gpusPerHost > gpus) {
    return makeError(tuttiInvalidArgument, "--gpus-per-host {}: {} has {} GPUs", gpusPerHost,
                     source, gpus);
  }
  if (static_cast<long>(hosts) * gpusPerHost < 2) {
    return makeError(tuttiInvalidArgument, "1 rank: nothing to communicate (need 2 or more)");
  }
  job->cluster = hosts > 1 ? topo::replicateHosts(host, hosts) : std::move(host);
  job->hosts = hosts;
  job->perHost = gpusPerHost;
  job->nranks = hosts * gpusPerHost;
  TUTTI_RETURN_IF_ERROR(placeRanks(job->cluster, job->nranks, &job->hostOfRank, &job->gpuOfRank));
  job->shape = hostShapeOf(job->hostOfRank);
  return clusterCostFromTopology(job->cluster, job->hostOfRank, job->gpuOfRank,
                                 defaultCpuClusterCost(), &job->cost);
}

}  // namespace tutti::sim
