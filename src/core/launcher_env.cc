#include "core/launcher_env.h"

#include <cerrno>
#include <cstdlib>

#include "base/handshake.h"

namespace tutti {
namespace {

struct VariablePair {
  const char* rank;
  const char* size;
};

constexpr VariablePair kPairs[] = {
    {"TUTTI_RANK", "TUTTI_WORLD_SIZE"},
    {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
    {"SLURM_PROCID", "SLURM_NTASKS"},
    {"PMI_RANK", "PMI_SIZE"},
    {"RANK", "WORLD_SIZE"},
};

Status parseNonNegative(const char* name, const char* text, int* out) {
  errno = 0;
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 0 || value > 1 << 24) {
    return makeError(tuttiInvalidArgument, "{}='{}' is not a non-negative integer", name, text);
  }
  *out = static_cast<int>(value);
  return Status::ok();
}

}  // namespace

Status rankFromLauncher(LauncherRank* out, bool* found) {
  *found = false;
  for (const VariablePair& pair : kPairs) {
    const char* rankText = std::getenv(pair.rank);
    const char* sizeText = std::getenv(pair.size);
    if (rankText == nullptr || sizeText == nullptr) continue;
    LauncherRank result;
    TUTTI_RETURN_IF_ERROR(parseNonNegative(pair.rank, rankText, &result.rank));
    TUTTI_RETURN_IF_ERROR(parseNonNegative(pair.size, sizeText, &result.size));
    if (result.size > kMaxRanks) {
      return makeError(tuttiInvalidArgument, "{}={} is more ranks than Tutti supports ({})",
                       pair.size, result.size, kMaxRanks);
    }
    if (result.size < 1 || result.rank >= result.size) {
      return makeError(tuttiInvalidArgument, "{}={} is not a rank of {}={}", pair.rank, result.rank,
                       pair.size, result.size);
    }
    result.source = std::string(pair.rank) + "/" + pair.size;
    *out = result;
    *found = true;
    return Status::ok();
  }
  return Status::ok();
}

}  // namespace tutti
