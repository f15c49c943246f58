#include "topo/link_model.h"

#include <cstdlib>

namespace tutti::topo {
namespace {

// Per-lane speed in units of 100 Mb/s, index = generation (NCCL kvDictPciGen).
constexpr int kPcieLaneSpeed[] = {0, 15, 30, 60, 120, 240, 480};

}  // namespace

double pcieBandwidthGBps(int gen, int width) {
  if (gen < 1 || gen > kPcieMaxGeneration) gen = kPcieDefaultGen;
  if (width <= 0) width = kPcieDefaultWidth;
  // In double: an int product overflowed for absurd widths (fuzz_topology_text: width=50717106
  // gave a negative bandwidth that the dump could not reload).
  return static_cast<double>(width) * kPcieLaneSpeed[gen] / 80.0;
}

int pcieGenFromLinkSpeed(const std::string& linkSpeed) {
  // The number before "GT/s" is the transfer rate per lane; each generation doubles it except
  // Gen1 -> Gen2 -> Gen3 (2.5, 5, 8).
  const char* text = linkSpeed.c_str();
  char* end = nullptr;
  double rate = std::strtod(text, &end);
  if (end == text) return 0;
  while (*end == ' ') ++end;
  if (std::string(end).compare(0, 4, "GT/s") != 0) return 0;
  if (rate == 2.5) return 1;
  if (rate == 5) return 2;
  if (rate == 8) return 3;
  if (rate == 16) return 4;
  if (rate == 32) return 5;
  if (rate == 64) return 6;
  return 0;
}

std::string pcieLinkSpeedString(int gen) {
  switch (gen) {
    case 1:
      return "2.5 GT/s PCIe";
    case 2:
      return "5.0 GT/s PCIe";
    case 3:
      return "8.0 GT/s PCIe";
    case 4:
      return "16.0 GT/s PCIe";
    case 5:
      return "32.0 GT/s PCIe";
    case 6:
      return "64.0 GT/s PCIe";
    default:
      return "";
  }
}

double nvlinkBandwidthPerLinkGBps(int sm) {
  if (sm >= 100) return 40.1;
  if (sm >= 90) return 20.6;
  if (sm == 86) return 12.0;
  if (sm >= 70) return 20.0;
  if (sm >= 60) return 18.0;
  return 20.0;  // unknown: NCCL's SM80 figure
}

double nicBandwidthGBps(int64_t speedMbps) {
  if (speedMbps <= 0) speedMbps = kNicDefaultSpeedMbps;
  return speedMbps / 8000.0;
}

double interSocketBandwidthGBps(const std::string& cpuVendor, int family, int model) {
  if (cpuVendor == "GenuineIntel") {
    // Granite Rapids (0xAD, 0xAE) and Sierra Forest (0xAF) are newer than Emerald Rapids with
    // lower model numbers.
    bool emeraldOrLater = model >= 0xCF || model == 0xAD || model == 0xAE || model == 0xAF;
    if (family == 6 && emeraldOrLater) return 40.0;
    if (family == 6 && model >= 0x8F) return 22.0;
    if (family == 6 && model >= 0x55) return 10.0;
    return 6.0;
  }
  if (cpuVendor == "AuthenticAMD") {
    // Older NCCL dumps wrote base family + (extended family << 4): 0x8F Zen 1-2, 0xAF Zen 3-4,
    // 0xBF Zen 5, where CPUID's family is 23, 25, 26.
    if (family == 0xBF || family == 26) return 32.0;
    if (family == 0xAF || family == 25) return 24.0;
    return 16.0;
  }
  return 6.0;
}

}  // namespace tutti::topo
