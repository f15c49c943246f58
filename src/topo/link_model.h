// Bandwidth and latency of each kind of link, from what a description gives (PCIe generation and
// width, NVLink count and SM generation, NIC speed, CPU model). Tutti uses NCCL's effective
// figures so that NCCL topology files and Tutti's agree; the source of each constant is given.
//
// Units: GB/s (10^9 bytes per second, each direction), microseconds, Mb/s.
#pragma once

#include <cstdint>
#include <string>

namespace tutti::topo {

// PCIe: NCCL src/graph/topo.cc (commit 069a3d4), kvDictPciGen and ncclTopoAddPci: per-lane speed
// in units of 100 Mb/s by generation (Gen1 15, Gen2 30, Gen3 60, Gen4 120, Gen5 240, Gen6 480),
// bandwidth = width * speed / 80 GB/s (Gen3 x16 = 12 GB/s, NCCL's PCI_BW; Gen5 x16 = 48 GB/s).
// A width of 0 counts as 16, and an unknown generation as Gen3, as in NCCL.
constexpr int kPcieDefaultWidth = 16;
constexpr int kPcieMaxGeneration = 6;
constexpr int kPcieDefaultGen = 3;
double pcieBandwidthGBps(int gen, int width);

// The generation of a link speed string as sysfs and NCCL's XML write it: "16.0 GT/s PCIe",
// "16 GT/s", "2.5 GT/s PCIe", "32.0 GT/s PCIe". 0 when not recognized.
int pcieGenFromLinkSpeed(const std::string& linkSpeed);
// The string NCCL's XML writes for a generation ("16.0 GT/s PCIe"); empty for 0.
std::string pcieLinkSpeedString(int gen);

// hwloc XML gives a PCIe link only as GB/s after line encoding (pci_link_speed, e.g. 15.75 for
// Gen3 x16). NCCL's table counts about 3/4 of that (12 of 15.75 GB/s for Gen3 x16, 3 of 4 for
// Gen1 x16), so hwloc's figure is scaled by this factor.
constexpr double kHwlocLinkSpeedToEffective = 0.75;

// NVLink bandwidth per link by SM generation: NCCL src/graph/topo.h (commit 069a3d4),
// SM60_NVLINK_BW 18.0, SM70/SM80 20.0, SM86 12.0, SM90 20.6, SM100 40.1; ncclTopoNVLinkBw picks
// by compute capability and uses the SM80 figure when it is unknown.
double nvlinkBandwidthPerLinkGBps(int sm);
inline double nvlinkBandwidthGBps(int sm, int count) {
  return nvlinkBandwidthPerLinkGBps(sm) * count;
}

// A NIC's bandwidth per port: NCCL ncclTopoAddNet, speed (Mb/s) / 8000; a speed that is unknown
// (0 or negative) counts as 10000 Mb/s, as in NCCL.
constexpr int64_t kNicDefaultSpeedMbps = 10000;
double nicBandwidthGBps(int64_t speedMbps);

// Between two sockets (NUMA nodes of one host): NCCL ncclTopoGetInterCpuBw (topo.cc) and
// topo.h (ncclTopoAddCpu, commit 069a3d4): Intel family 6 from model 0xCF (Emerald Rapids) and
// 0xAD-0xAF (Granite Rapids, Sierra Forest) 40, from 0x8F (Sapphire Rapids) 22, from 0x55
// (Skylake) 10, older 6 (BDW_QPI_BW); AMD 16 (Zen 1-2, family 23), 24 (Zen 3-4, family 25), 32
// (Zen 5, family 26), and the same for the family older NCCL releases wrote (base + extended
// family << 4: 0x8F, 0xAF, 0xBF). An unknown vendor gets the Broadwell 6 GB/s where NCCL would
// give LOC_BW (5000), which would make crossing sockets look free.
double interSocketBandwidthGBps(const std::string& cpuVendor, int family, int model);

// Latencies per link, from NCCL src/graph/tuning.cc hwLat (commit 01afd20), Ring/LL column:
// NVLink 0.47 us, PCI 1.0 us, network 2.7 us. NCCL has no figure for the inter-socket link;
// Tutti charges it like a PCIe hop.
constexpr double kNvlinkLatencyUs = 0.47;
constexpr double kPcieLatencyUs = 1.0;
constexpr double kInterSocketLatencyUs = 1.0;
constexpr double kNetLatencyUs = 2.7;

}  // namespace tutti::topo
