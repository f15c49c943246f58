#include "core/comm_cost.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "base/log.h"

namespace tutti {
namespace {

// What a rank tells the others: its costs and whether each came from the file.
struct SharedCost {
  ClusterCost cost;
  uint8_t intraFromFile;
  uint8_t interFromFile;
  uint8_t pad[6];
};

}  // namespace

Status resolveClusterCost(Bootstrap& bootstrap, int rank, int nranks, const CostKey& intraKey,
                          const CostKey& interKey, size_t shmCmaMinBytes, double ranksPerCore,
                          ClusterCost* out, std::string* source) {
  const std::string path = defaultCostFilePath();
  std::vector<CostEntry> entries;
  if (!path.empty()) {
    Status loaded = loadCostFile(path, &entries);
    if (!loaded.isOk()) {
      TUTTI_WARN(kLogInit, "cost file ignored, the cost model uses its defaults: {}",
                 loaded.message());
      entries.clear();
    }
  }
  std::vector<SharedCost> all(nranks);
  SharedCost& mine = all[rank];
  std::optional<LinkCost> intra = findCost(entries, intraKey);
  std::optional<LinkCost> inter = findCost(entries, interKey);
  mine.cost.intra = intra ? *intra : defaultLinkCost(intraKey.transport);
  mine.cost.inter = inter ? *inter : defaultLinkCost(interKey.transport);
  mine.intraFromFile = intra.has_value();
  mine.interFromFile = inter.has_value();
  if (mine.cost.intra.rendezvousBytes != SIZE_MAX) mine.cost.intra.rendezvousBytes = shmCmaMinBytes;
  mine.cost.ranksPerCore = ranksPerCore;
  TUTTI_RETURN_IF_ERROR(bootstrap.allGather(all.data(), sizeof(SharedCost)));
  *out = all[0].cost;
  auto describe = [&](const CostKey& key, bool fromFile) {
    return fmt::format("{} ({} ranks, {} CPUs): {}", key.transport, key.ranks, key.cpus,
                       fromFile ? "cost file" : "defaults");
  };
  *source = fmt::format("intra {}; inter {}{}", describe(intraKey, all[0].intraFromFile),
                        describe(interKey, all[0].interFromFile),
                        all[0].intraFromFile || all[0].interFromFile
                            ? (rank == 0 ? " " + path : std::string(" rank 0's"))
                            : std::string());
  return Status::ok();
}

}  // namespace tutti
