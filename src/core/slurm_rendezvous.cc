#include "core/slurm_rendezvous.h"

#include <cerrno>
#include <cstdlib>

namespace tutti {
namespace {

bool parseId(const char* text, unsigned long* out) {
  if (text == nullptr || *text < '0' || *text > '9') return false;
  errno = 0;
  char* end = nullptr;
  *out = std::strtoul(text, &end, 10);
  return errno == 0 && *end == '\0';
}

}  // namespace

std::string slurmFirstHost(const std::string& nodelist) {
  // Copies up to the first comma outside brackets; inside each bracket keeps only the first
  // number (with its zero padding) of the first range.
  std::string host;
  size_t i = 0;
  while (i < nodelist.size() && nodelist[i] != ',') {
    if (nodelist[i] == ']') return "";
    if (nodelist[i] != '[') {
      host += nodelist[i++];
      continue;
    }
    size_t close = nodelist.find(']', i);
    if (close == std::string::npos) return "";
    size_t first = i + 1;
    size_t stop = first;
    while (stop < close && nodelist[stop] >= '0' && nodelist[stop] <= '9') ++stop;
    if (stop == first || (stop < close && nodelist[stop] != '-' && nodelist[stop] != ',')) {
      return "";
    }
    host.append(nodelist, first, stop - first);
    i = close + 1;
  }
  return host;
}

int slurmRendezvousPort(unsigned long jobId, unsigned long stepId) {
  return 12000 + static_cast<int>((jobId * 64 + stepId % 64) % 20000);
}

std::string slurmCommId(std::string* why) {
  const char* nodelist = std::getenv("SLURM_STEP_NODELIST");
  const char* nodelistName = "SLURM_STEP_NODELIST";
  if (nodelist == nullptr) {
    nodelist = std::getenv("SLURM_JOB_NODELIST");
    nodelistName = "SLURM_JOB_NODELIST";
  }
  if (nodelist == nullptr) {
    *why = "SLURM_STEP_NODELIST is not set";
    return "";
  }
  const std::string host = slurmFirstHost(nodelist);
  if (host.empty()) {
    *why = std::string(nodelistName) + "='" + nodelist + "' is not a Slurm node list";
    return "";
  }
  unsigned long jobId = 0;
  unsigned long stepId = 0;
  for (const auto& [name, value] :
       {std::pair{"SLURM_JOB_ID", &jobId}, {"SLURM_STEP_ID", &stepId}}) {
    const char* text = std::getenv(name);
    if (!parseId(text, value)) {
      *why = std::string(name) +
             (text == nullptr ? " is not set" : std::string("='") + text + "' is not a number");
      return "";
    }
  }
  return host + ":" + std::to_string(slurmRendezvousPort(jobId, stepId));
}

}  // namespace tutti
