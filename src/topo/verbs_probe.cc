#include "topo/verbs_probe.h"

#include <fmt/format.h>
#include <limits.h>
#include <stdlib.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "base/dynamic_library.h"

#if TUTTI_HAVE_IBVERBS
#include <infiniband/verbs.h>
#endif

namespace tutti::topo {
namespace {

// NCCL's ibvSpeeds (Mb/s per lane) and ibvWidths (lanes), indexed by the lowest bit set in
// ibv_port_attr's active_speed and active_width (NCCL src/transport/net_ib/init.cc,
// src/transport/net_ib.cc in older releases). Per-lane figures are nominal data rates, not the
// signalling rates (EDR signals 25.78125 Gb/s a lane, HDR 53.125).
constexpr std::array<int64_t, 9> kLaneMbps = {
    2500,    // SDR
    5000,    // DDR
    10000,   // QDR
    10000,   // FDR10
    14000,   // FDR
    25000,   // EDR
    50000,   // HDR
    100000,  // NDR
    200000,  // XDR
};
constexpr std::array<int64_t, 5> kLanes = {1, 4, 8, 12, 2};

template <size_t N>
int64_t entryOfLowestBit(const std::array<int64_t, N>& table, int bits) {
  size_t index = 0;
  while (index + 1 < N && (bits & (1 << index)) == 0) ++index;
  return table[index];
}

}  // namespace

int64_t ibRateMbps(int activeSpeed, int activeWidth) {
  if (activeSpeed <= 0 || activeWidth <= 0) return 0;
  return entryOfLowestBit(kLaneMbps, activeSpeed) * entryOfLowestBit(kLanes, activeWidth);
}

std::string pciBusIdOfClassDevice(const std::string& classDevicePath) {
  char resolved[PATH_MAX];
  if (realpath((classDevicePath + "/device").c_str(), resolved) == nullptr) return "";
  const char* slash = std::strrchr(resolved, '/');
  const char* last = slash != nullptr ? slash + 1 : resolved;
  unsigned domain = 0, bus = 0, device = 0, function = 0;
  int length = 0;
  if (std::sscanf(last, "%4x:%2x:%2x.%1x%n", &domain, &bus, &device, &function, &length) != 4 ||
      last[length] != '\0' || length != 12) {
    return "";  // a virtual parent (virtio0, a network interface of soft RoCE) or none
  }
  return fmt::format("{:04x}:{:02x}:{:02x}.{:x}", domain, bus, device, function);
}

#if TUTTI_HAVE_IBVERBS

namespace {

// The default version of each libibverbs function; IBVERBS_1.0 ones are for binaries built
// against libibverbs 1.0 (NCCL src/misc/ibvsymbols.cc asks for the same version).
constexpr const char* kVerbsVersion = "IBVERBS_1.1";

struct VerbsApi {
  ibv_device** (*getDeviceList)(int*);
  void (*freeDeviceList)(ibv_device**);
  const char* (*getDeviceName)(ibv_device*);
  ibv_context* (*openDevice)(ibv_device*);
  int (*closeDevice)(ibv_context*);
  int (*queryDevice)(ibv_context*, ibv_device_attr*);
  // The exported ibv_query_port. verbs.h's ibv_query_port() is a macro for an inline function
  // that would call it by name (so would need libibverbs linked); the export fills the fields of
  // ibv_port_attr up to `flags` (rdma-core's _compat_ibv_port_attr, libibverbs/verbs.c), which
  // hold all this probe reads.
  int (*queryPort)(ibv_context*, uint8_t, ibv_port_attr*);
  // rdma-core's newer ibv_query_port_speed (man ibv_query_port_speed): the port's data rate in
  // units of 100 Mb/s, right for XDR and later, which active_speed's 8 bits cannot encode. NCCL
  // asks it first; absent from older libraries (nullptr).
  int (*queryPortSpeed)(ibv_context*, uint32_t, uint64_t*);
};

// libibverbs with its functions resolved into *api; nullptr, with *why set, when it does not
// load or lacks one. Kept loaded: the library keeps the providers it loads (libmlx5, ...) and
// its device cache for the life of the process and is not meant to be unloaded under them.
std::unique_ptr<DynamicLibrary> loadVerbs(VerbsApi* api, std::string* why) {
  auto library =
      DynamicLibrary::open("libibverbs.so.1", DynamicLibrary::Lifetime::kKeepLoaded, why);
  if (!library) return library;
  const char* v = kVerbsVersion;
  const bool complete = library->resolve("ibv_get_device_list", &api->getDeviceList, why, v) &&
                        library->resolve("ibv_free_device_list", &api->freeDeviceList, why, v) &&
                        library->resolve("ibv_get_device_name", &api->getDeviceName, why, v) &&
                        library->resolve("ibv_open_device", &api->openDevice, why, v) &&
                        library->resolve("ibv_close_device", &api->closeDevice, why, v) &&
                        library->resolve("ibv_query_device", &api->queryDevice, why, v) &&
                        library->resolve("ibv_query_port", &api->queryPort, why, v);
  if (!complete) return nullptr;
  std::string optional;  // absent from older libraries: no failure
  library->resolve("ibv_query_port_speed", &api->queryPortSpeed, &optional);
  return library;
}

VerbsLinkLayer linkLayerOf(uint8_t linkLayer) {
  switch (linkLayer) {
    case IBV_LINK_LAYER_INFINIBAND:
      return VerbsLinkLayer::kInfiniband;
    case IBV_LINK_LAYER_ETHERNET:
      return VerbsLinkLayer::kEthernet;
    default:
      return VerbsLinkLayer::kUnspecified;
  }
}

// The ports of an open device; none when the device cannot be queried.
std::vector<VerbsPort> queryPorts(const VerbsApi& api, ibv_context* context) {
  std::vector<VerbsPort> ports;
  ibv_device_attr device{};
  if (api.queryDevice(context, &device) != 0) return ports;
  for (int number = 1; number <= device.phys_port_cnt; ++number) {
    ibv_port_attr attr{};
    if (api.queryPort(context, static_cast<uint8_t>(number), &attr) != 0) continue;
    VerbsPort port;
    port.number = number;
    port.active = attr.state == IBV_PORT_ACTIVE;
    port.linkLayer = linkLayerOf(attr.link_layer);
    port.activeWidth = attr.active_width;
    port.activeSpeed = attr.active_speed;
    if (port.active) {
      uint64_t hundredsOfMbps = 0;
      if (api.queryPortSpeed != nullptr &&
          api.queryPortSpeed(context, static_cast<uint32_t>(number), &hundredsOfMbps) == 0 &&
          hundredsOfMbps > 0) {
        port.rateMbps = static_cast<int64_t>(hundredsOfMbps) * 100;
      } else {
        port.rateMbps = ibRateMbps(port.activeSpeed, port.activeWidth);
      }
    }
    ports.push_back(port);
  }
  return ports;
}

}  // namespace

bool builtWithVerbs() { return true; }

bool queryVerbsDevices(std::vector<VerbsDevice>* devices, std::string* why) {
  devices->clear();
  VerbsApi api{};
  auto library = loadVerbs(&api, why);
  if (!library) return false;
  int count = 0;
  errno = 0;
  ibv_device** list = api.getDeviceList(&count);
  if (list == nullptr) {
    // ENOSYS: the kernel has no RDMA support (no ib_uverbs), so no devices (man
    // ibv_get_device_list).
    if (errno == ENOSYS) return true;
    *why = fmt::format("ibv_get_device_list failed: {}", std::strerror(errno));
    return false;
  }
  for (int i = 0; i < count && list[i] != nullptr; ++i) {
    VerbsDevice device;
    const char* name = api.getDeviceName(list[i]);
    device.name = name != nullptr ? name : list[i]->name;
    device.busId = pciBusIdOfClassDevice(list[i]->ibdev_path);
    if (ibv_context* context = api.openDevice(list[i])) {
      device.ports = queryPorts(api, context);
      api.closeDevice(context);
    }
    devices->push_back(std::move(device));
  }
  api.freeDeviceList(list);
  return true;
}

#else  // !TUTTI_HAVE_IBVERBS

bool builtWithVerbs() { return false; }

bool queryVerbsDevices(std::vector<VerbsDevice>* devices, std::string* why) {
  devices->clear();
  *why = "built without <infiniband/verbs.h>";
  return false;
}

#endif

}  // namespace tutti::topo
