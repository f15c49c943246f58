// Tutti's topology text (TUTTI_TOPO_FILE, and what ranks exchange at init): anything parses or is
// tuttiInvalidArgument; what parses is dumped to text that parses and dumps to the same text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "topo/text_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tutti;
  if (size > 16384) return 0;
  topo::Topology topology;
  Status status = topo::parse(std::string(reinterpret_cast<const char*>(data), size), &topology);
  if (!status.isOk()) {
    if (status.code() != tuttiInvalidArgument) std::abort();
    return 0;
  }
  const std::string text = topo::serialize(topology);
  topo::Topology again;
  if (!topo::parse(text, &again).isOk() || topo::serialize(again) != text) std::abort();
  return 0;
}
