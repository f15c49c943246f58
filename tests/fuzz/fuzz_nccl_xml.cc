// NCCL's topology XML (TUTTI_TOPO_FILE, tutti-topo --file): anything loads or is
// tuttiInvalidArgument; what loads dumps to Tutti's format and reloads to the same model.
#include <cstddef>
#include <cstdint>
#include <string>

#include "topo/nccl_xml.h"
#include "topo/xml_reader.h"
#include "topology_loaded.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tutti;
  if (size > 65536) return 0;
  topo::XmlElement root;
  topo::Topology topology;
  Status status = topo::parseXml(std::string(reinterpret_cast<const char*>(data), size), &root);
  if (status.isOk()) status = topo::topologyFromNcclXml(root, &topology);
  checkTopologyLoad(status, topology);
  return 0;
}
