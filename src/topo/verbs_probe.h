// Verbs devices (InfiniBand HCAs and RoCE NICs) from libibverbs, loaded at run time with
// dlopen("libibverbs.so.1") so that Tutti neither links nor needs rdma-core: each device's name,
// its PCI function and its ports (link layer, state, rate). The query is built where CMake found
// <infiniband/verbs.h>; elsewhere it says so and finds nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tutti::topo {

// ibv_port_attr's link_layer (IBV_LINK_LAYER_*): Ethernet is RoCE.
enum class VerbsLinkLayer { kUnspecified, kInfiniband, kEthernet };

struct VerbsPort {
  int number = 0;       // 1-based, as verbs numbers ports
  bool active = false;  // state IBV_PORT_ACTIVE
  VerbsLinkLayer linkLayer = VerbsLinkLayer::kUnspecified;
  int activeWidth = 0;  // ibv_port_attr's encodings (see ibRateMbps)
  int activeSpeed = 0;
  // An active port's data rate: ibv_query_port_speed's where libibverbs has it (recent rdma-core,
  // right for XDR), else ibRateMbps(activeSpeed, activeWidth); 0 for other ports.
  int64_t rateMbps = 0;
};

struct VerbsDevice {
  std::string name;   // "mlx5_0"
  std::string busId;  // its PCI function, "0000:1b:00.0"; empty when it has none (soft RoCE)
  std::vector<VerbsPort> ports;
};

// A port's data rate in Mb/s from ibv_port_attr's active_speed and active_width, as NCCL computes
// it (ncclIbSpeed(speed) * ncclIbWidth(width), src/transport/net_ib.cc): per lane SDR 2500, DDR
// 5000, QDR and FDR10 10000, FDR 14000, EDR 25000, HDR 50000, NDR 100000, XDR 200000 for speed
// bits 1, 2, 4, ... 256; width bits 1, 2, 4, 8, 16 are 1x, 4x, 8x, 12x, 2x lanes. The lowest bit
// set decides; a bit past the end of a table counts as its last entry, as in NCCL. NDR 4x is
// 400000. 0 when speed or width is 0 (unknown), where NCCL would read the last entries.
int64_t ibRateMbps(int activeSpeed, int activeWidth);

// The PCI function ("0000:1b:00.0", lower case) a sysfs class device such as a verbs device's
// ibdev_path ("/sys/class/infiniband/mlx5_0") belongs to: the last component of its resolved
// `device` link when that is a PCI address; empty otherwise (no link, or a virtual parent).
std::string pciBusIdOfClassDevice(const std::string& classDevicePath);

// Whether this build has the verbs query (CMake found <infiniband/verbs.h>).
bool builtWithVerbs();

// The verbs devices of this host, in libibverbs' order. True when libibverbs loaded and listed
// its devices, none included (a kernel without RDMA support, ENOSYS, has none). False, with *why
// set and no devices, when the query is not built, the library is absent or lacks a function, or
// listing fails. A device that cannot be opened or queried is listed without ports.
bool queryVerbsDevices(std::vector<VerbsDevice>* devices, std::string* why);

}  // namespace tutti::topo
