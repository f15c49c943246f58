// hwloc's XML (TUTTI_TOPO_FILE, tutti-topo --file), read by Tutti's own reader: anything loads or
// is tuttiInvalidArgument; what loads dumps to Tutti's format and reloads to the same model.
#include <cstddef>
#include <cstdint>
#include <string>

#include "topo/hwloc_xml.h"
#include "topology_loaded.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tutti;
  if (size > 65536) return 0;
  topo::Topology topology;
  Status status =
      topo::topologyFromHwlocXml(std::string(reinterpret_cast<const char*>(data), size), &topology);
  checkTopologyLoad(status, topology);
  return 0;
}
