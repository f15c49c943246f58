// What the topology-file fuzz targets check of a load: it succeeded or is tuttiInvalidArgument,
// and what loaded dumps to Tutti's format and reloads to the same model. Aborts otherwise.
#pragma once

#include <cstdlib>

#include "base/status.h"
#include "topo/text_format.h"
#include "topo/topology.h"

inline void checkTopologyLoad(const tutti::Status& status, const tutti::topo::Topology& loaded) {
  if (!status.isOk()) {
    if (status.code() != tuttiInvalidArgument) std::abort();
    return;
  }
  tutti::topo::Topology again;
  if (!tutti::topo::parse(tutti::topo::serialize(loaded), &again).isOk() || again != loaded) {
    std::abort();
  }
}
