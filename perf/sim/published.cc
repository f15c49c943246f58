#include "perf/sim/published.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "perf/sim/call.h"
#include "perf/sim/job.h"
#include "perf/sim/sample.h"
#include "perf/sim/sweep.h"
#include "topo/topology_file.h"

namespace tutti::sim {
namespace {

// ---------------------------------------------------------------------------------------------
// Published NCCL figures (docs/simulation.md, "Published figures").

struct Published {
  const char* what;
  const char* file;
  bool shared;  // in the shared topologies folder, else the shipped one
  int hosts;
  int nvlinks;  // 0: as the file says
  int sm;       // 0: as the file says
  size_t bytes;
  double gbps;     // the published busbw (per NIC where perNic)
  double gbpsLow;  // the range it gives
  double gbpsHigh;
  bool perNic;
  const char* source;
};

// Sources (URL, who, what it says) are in the footer and docs/simulation.md.
const Published kPublished[] = {
    {"8 x H100 SXM, NVSwitch (DGX H100 file)", "dgx-h100.topo", false, 1, 0, 0, size_t{4} << 30,
     370, 370, 370, false, "[1] [2]"},
    {"8 x H100 SXM, NVSwitch (IBM Cloud gx3d NCCL dump)", "ibm-cloud-gx3d-h100x8.nccl.xml", true, 1,
     0, 0, size_t{4} << 30, 370, 370, 370, false, "[1] [2]"},
    {"8 x H100 SXM, NVSwitch (Azure ND H100 v5 skeleton + 18 NVLinks)", "azure-nd-h100-v5.nccl.xml",
     true, 1, 18, 90, size_t{4} << 30, 370, 370, 370, false, "[1] [2]"},
    {"8 x A100 SXM4, NVSwitch (Azure ND A100 v4 skeleton + 12 NVLinks)",
     "azure-nd-a100-v4.nccl.xml", true, 1, 12, 80, size_t{8} << 30, 230, 230, 230, false, "[3]"},
    {"8 x A100 SXM4, NVSwitch (AWS p4d skeleton + 12 NVLinks)", "aws-p4d.24xlarge.nccl.xml", true,
     1, 12, 80, size_t{8} << 30, 230, 230, 230, false, "[3]"},
    {"2 x DGX H100, 8 x 400G NDR per host, busbw per NIC", "dgx-h100.topo", false, 2, 0, 0,
     size_t{8} << 30, 47, 46, 48, true, "[4]"},
};

const char* kPublishedSources =
    "# [1] https://github.com/NVIDIA/nccl-tests/issues/212 (NCCL maintainer @sjeaugey, NVIDIA,\n"
    "#     2024-05-06): NVLink4 line rate is 450 GB/s; \"with the protocol overhead (~20%) NCCL\n"
    "#     can get an effective NVLink bandwidth of 370GB/s\", seen as busbw with NCCL_ALGO=RING.\n"
    "# [2] https://github.com/NVIDIA/nccl/issues/1455 (a user, 2024-09-19): 8 x H100 SXM,\n"
    "#     all_reduce_perf -b 2G -e 4G, NCCL_ALGO=RING: busbw 365-370 GB/s from 2 to 8 GPUs.\n"
    "# [3] https://github.com/NVIDIA/nccl-tests/issues/149 (@sjeaugey, 2023-07-05): A100's 12\n"
    "#     NVLinks have 25 GB/s line rate per direction, ~20 GB/s effective each, 240 GB/s\n"
    "#     in all; \"some other bottlenecks on the GPUs limits it to ~230GB/s\"; run to 8G.\n"
    "# [4] https://github.com/NVIDIA/nccl-tests/issues/290 (NCCL maintainer @AddyLaddy, NVIDIA,\n"
    "#     2025-03-03): benchmark two nodes with NCCL_ALGO=RING; \"For NDR @ 400Gbps you should\n"
    "#     see 46-48GB/s per NIC\".\n"
    "# The Azure and AWS files are PCIe skeletons without NVLinks or SMs: --nvlinks 12 --sm 80\n"
    "# adds A100's ([3]; NCCL's SM80 figure, 20 GB/s a link), --nvlinks 18 --sm 90 H100's (the\n"
    "# IBM dump's 5+5+4+4 per GPU; SM90 20.6 GB/s a link). Tutti's column is its ring\n"
    "# prediction, the algorithm the figures were taken with; per NIC: busbw / NICs per host.\n";

}  // namespace

int comparePublished(const std::string& shippedDir, const std::string& sharedDir) {
  std::printf(
      "# tutti-sim --compare-published: Tutti's ring all_reduce prediction beside "
      "published NCCL figures (busbw, GB/s)\n");
  std::printf("# %-66s %8s %10s %10s %10s %7s  %s\n", "machine", "ranks", "size", "Tutti",
              "published", "error", "source");
  bool ok = true;
  for (const Published& entry : kPublished) {
    const std::string path = (entry.shared ? sharedDir : shippedDir) + "/" + entry.file;
    topo::Topology host;
    topo::TopologyFileFormat format;
    Status status = topo::loadTopologyFile(path, &host, &format);
    if (!status.isOk()) {
      std::printf("  %-66s skipped: %s\n", entry.what, status.message().c_str());
      continue;
    }
    Job job;
    status = makeJob(host, path, entry.hosts, 0, entry.nvlinks, entry.sm, &job);
    if (!status.isOk()) {
      std::printf("  %-66s ERROR %s\n", entry.what, status.message().c_str());
      ok = false;
      continue;
    }
    const Collective c = Collective::kAllReduce;
    const CallShape call = callShape(c, job.nranks, entry.bytes);
    // The plans of this call are checked as in a sweep.
    const Sample sample = sampleRanks(job);
    Totals totals;
    const Sweep one = sweep(job, sample, c, {entry.bytes}, false, &totals);
    const double us = *one.rows[0].us[static_cast<int>(Algorithm::kRing)];
    double busbw = busbwGBps(c, job.nranks, double(call.bytes), us);
    if (entry.perNic) busbw /= std::max(1, job.cost.nicsPerHost);
    const double error = (busbw - entry.gbps) / entry.gbps * 100;
    const std::string published = entry.gbpsLow == entry.gbpsHigh
                                      ? fmt::format("{:.0f}", entry.gbps)
                                      : fmt::format("{:.0f}-{:.0f}", entry.gbpsLow, entry.gbpsHigh);
    std::printf("  %-66s %8d %10zu %10.1f %10s %+6.1f%%  %s\n", entry.what, job.nranks, call.bytes,
                busbw, published.c_str(), error, entry.source);
    std::printf("  %-66s intra %.1f GB/s, inter %.1f GB/s; model's choice %s\n", "",
                job.cost.intraGBps, job.cost.interGBps, algorithmName(one.rows[0].choice));
    if (!job.machineNote.empty()) std::printf("  %-66s %s\n", "", job.machineNote.c_str());
    for (const std::string& error : totals.findings.errors.lines()) {
      std::printf("# ERROR %s\n", error.c_str());
      ok = false;
    }
  }
  std::printf(
      "# error = (Tutti - published) / published; a published range is compared at its "
      "middle.\n%s",
      kPublishedSources);
  return ok ? 0 : 1;
}

}  // namespace tutti::sim
