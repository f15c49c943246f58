// The cost file (TUTTI_COST_FILE), which tutti-perf --calibrate writes and users edit: anything
// parses or is tuttiInvalidArgument; what parses is written back to text that parses to the same
// entries.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "algo/cost_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tutti;
  if (size > 16384) return 0;
  std::vector<CostEntry> entries;
  Status status = parseCosts(std::string(reinterpret_cast<const char*>(data), size), &entries);
  if (!status.isOk()) {
    if (status.code() != tuttiInvalidArgument) std::abort();
    return 0;
  }
  std::vector<CostEntry> again;
  if (!parseCosts(serializeCosts(entries), &again).isOk() || again.size() != entries.size()) {
    std::abort();
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!(again[i].key == entries[i].key)) std::abort();
  }
  return 0;
}
