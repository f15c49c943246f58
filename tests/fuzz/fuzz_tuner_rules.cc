// The rules tuner's file (examples/tuner/rules_tuner.c, TUTTI_TUNER_RULES) as a user writes it:
// any file is rules or an init error, and the rules, applied to calls of every collective and
// size, never write past the cost table or leave it without a candidate it had.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tutti/tutti_tuner.h"

extern "C" const tuttiTuner_v1_t tuttiTunerPlugin_v1;

namespace {

void quiet(tuttiTunerLogLevel_t, const char*, ...) {}

constexpr int kAlgorithms = 5;
const char* const kNames[kAlgorithms] = {"ring", "rd", "tree", "binomial", "direct"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return 0;
  const int fd = memfd_create("rules", 0);
  if (fd < 0) std::abort();
  if (size > 0 && write(fd, data, size) != static_cast<ssize_t>(size)) std::abort();
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  setenv("TUTTI_TUNER_RULES", path.c_str(), 1);
  void* context = nullptr;
  const tuttiResult_t init = tuttiTunerPlugin_v1.init(&context, 4, 1, 4, 4, 7, quiet);
  close(fd);
  if (init != tuttiSuccess) {
    if (init != tuttiInvalidArgument && init != tuttiSystemError) std::abort();
    return 0;
  }
  const tuttiTunerFunc_t collectives[] = {
      tuttiTunerBroadcast, tuttiTunerReduce,   tuttiTunerAllGather, tuttiTunerReduceScatter,
      tuttiTunerAllReduce, tuttiTunerAlltoAll, tuttiTunerScatter,   tuttiTunerGather};
  const size_t sizes[] = {0, 1, 1023, 1024, 65536, size_t{1} << 30, ~size_t{0}};
  for (tuttiTunerFunc_t collective : collectives) {
    for (size_t bytes : sizes) {
      // Guards on both sides of the table catch a write past either end.
      double table[kAlgorithms + 2] = {-7, 10, 20, TUTTI_TUNER_IGNORE, 40, 50, -7};
      double* costs = table + 1;
      if (tuttiTunerPlugin_v1.getCollInfo(context, collective, bytes, kAlgorithms, kNames, costs) !=
          tuttiSuccess) {
        std::abort();
      }
      if (table[0] != -7 || table[kAlgorithms + 1] != -7) std::abort();
      int candidates = 0;
      for (int a = 0; a < kAlgorithms; ++a) candidates += costs[a] >= 0 ? 1 : 0;
      if (candidates == 0) std::abort();  // forcing keeps one; nothing else removes any
    }
  }
  if (tuttiTunerPlugin_v1.destroy(context) != tuttiSuccess) std::abort();
  return 0;
}
