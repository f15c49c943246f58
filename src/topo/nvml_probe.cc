#include "topo/nvml_probe.h"

#include <fmt/format.h>

#include <map>
#include <memory>

#include "base/dynamic_library.h"
#include "topo/builder.h"

namespace tutti::topo {
namespace {

// The parts of nvml.h used here (NVML API, CUDA 11+; nvmlPciInfo_t as nvmlDeviceGetPciInfo_v3
// fills it). NVML_NVLINK_MAX_LINKS is 18 since Hopper; asking about a link a device lacks fails,
// and that link is skipped.
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr unsigned kNvmlNvlinkMaxLinks = 18;
constexpr int kNvmlFeatureEnabled = 1;

struct nvmlPciInfo_t {
  char busIdLegacy[16];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pciDeviceId;
  unsigned int pciSubSystemId;
  char busId[32];
};

struct NvmlApi {
  nvmlReturn_t (*init)();
  nvmlReturn_t (*shutdown)();
  nvmlReturn_t (*getCount)(unsigned int*);
  nvmlReturn_t (*getHandleByIndex)(unsigned int, nvmlDevice_t*);
  nvmlReturn_t (*getPciInfo)(nvmlDevice_t, nvmlPciInfo_t*);
  nvmlReturn_t (*getCudaComputeCapability)(nvmlDevice_t, int*, int*);
  nvmlReturn_t (*getNvLinkState)(nvmlDevice_t, unsigned int, int*);
  nvmlReturn_t (*getNvLinkRemotePciInfo)(nvmlDevice_t, unsigned int, nvmlPciInfo_t*);
};

// Keeps the library loaded (and NVML initialized) for the duration of a query.
class NvmlSession {
 public:
  NvmlSession() = default;
  ~NvmlSession() {
    if (initialized_) api_.shutdown();
  }
  NvmlSession(const NvmlSession&) = delete;
  NvmlSession& operator=(const NvmlSession&) = delete;

  bool open(std::string* why) {
    library_ =
        DynamicLibrary::open("libnvidia-ml.so.1", DynamicLibrary::Lifetime::kUnloadOnClose, why);
    if (!library_) return false;
    const DynamicLibrary& l = *library_;
    const bool bound =
        l.resolve("nvmlInit_v2", &api_.init, why) &&
        l.resolve("nvmlShutdown", &api_.shutdown, why) &&
        l.resolve("nvmlDeviceGetCount_v2", &api_.getCount, why) &&
        l.resolve("nvmlDeviceGetHandleByIndex_v2", &api_.getHandleByIndex, why) &&
        l.resolve("nvmlDeviceGetPciInfo_v3", &api_.getPciInfo, why) &&
        l.resolve("nvmlDeviceGetCudaComputeCapability", &api_.getCudaComputeCapability, why) &&
        l.resolve("nvmlDeviceGetNvLinkState", &api_.getNvLinkState, why) &&
        l.resolve("nvmlDeviceGetNvLinkRemotePciInfo_v2", &api_.getNvLinkRemotePciInfo, why);
    if (!bound) return false;
    nvmlReturn_t result = api_.init();
    if (result != kNvmlSuccess) {
      *why = fmt::format("nvmlInit_v2 returned {}", result);
      return false;
    }
    initialized_ = true;
    return true;
  }

  const NvmlApi& api() const { return api_; }

 private:
  std::unique_ptr<DynamicLibrary> library_;
  bool initialized_ = false;
  NvmlApi api_{};
};

}  // namespace

bool queryNvmlGpus(std::vector<NvmlGpu>* gpus, std::string* why) {
  gpus->clear();
  NvmlSession session;
  if (!session.open(why)) return false;
  const NvmlApi& api = session.api();
  unsigned int count = 0;
  if (api.getCount(&count) != kNvmlSuccess) {
    *why = "nvmlDeviceGetCount_v2 failed";
    return false;
  }
  for (unsigned int i = 0; i < count; ++i) {
    nvmlDevice_t device = nullptr;
    nvmlPciInfo_t pci{};
    if (api.getHandleByIndex(i, &device) != kNvmlSuccess ||
        api.getPciInfo(device, &pci) != kNvmlSuccess) {
      continue;  // a GPU NVML cannot describe (lost, or not ours): leave it out
    }
    NvmlGpu gpu;
    gpu.index = static_cast<int>(i);
    gpu.busId = normalizeBusId(pci.busId);
    int major = 0, minor = 0;
    if (api.getCudaComputeCapability(device, &major, &minor) == kNvmlSuccess) {
      gpu.sm = major * 10 + minor;
    }
    std::map<std::string, int> linksByTarget;
    for (unsigned int link = 0; link < kNvmlNvlinkMaxLinks; ++link) {
      int active = 0;
      if (api.getNvLinkState(device, link, &active) != kNvmlSuccess) continue;
      if (active != kNvmlFeatureEnabled) continue;
      nvmlPciInfo_t remote{};
      if (api.getNvLinkRemotePciInfo(device, link, &remote) != kNvmlSuccess) continue;
      ++linksByTarget[normalizeBusId(remote.busId)];
    }
    gpu.nvlinks.assign(linksByTarget.begin(), linksByTarget.end());
    gpus->push_back(std::move(gpu));
  }
  return true;
}

}  // namespace tutti::topo
