// TUTTI_ALGO as a user types it: anything is a spec or tuttiInvalidArgument, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "algo/algo_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tutti;
  if (size > 4096) return 0;
  AlgoSpec spec;
  Status status = AlgoSpec::parse(std::string(reinterpret_cast<const char*>(data), size), &spec);
  if (!status.isOk() && status.code() != tuttiInvalidArgument) std::abort();
  return 0;
}
