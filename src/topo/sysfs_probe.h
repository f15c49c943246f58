// This host from Linux's /sys and /proc, without hwloc: NUMA nodes and their CPUs, the PCI tree
// above each GPU, NIC and NVSwitch (from the sysfs path of the device), network interfaces and
// verbs devices with their PCI functions. Roots are parameters so that tests can lay out a fake
// /sys in a temporary directory.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "topo/hw_tree.h"

namespace tutti::topo {

struct HostRoots {
  std::string sys = "/sys";
  std::string proc = "/proc";
};

// NUMA nodes from SYS/devices/system/node/node*/cpulist (one node holding SYS/devices/system/cpu/
// online when there are none), the CPU's vendor, family and model from PROC/cpuinfo, PCI devices
// from SYS/bus/pci/devices, interfaces from SYS/class/net (those without a device, such as lo,
// veth, bridges and ifb, are not NICs), verbs devices from SYS/class/infiniband.
Status hwTreeOfThisHostWithSysfs(const HostRoots& roots, HwObject* machine);

// Fills what hwloc leaves out: each PCI object's generation and width (current_link_speed,
// current_link_width) and each interface's speed, from sysfs.
void addSysfsLinkDetails(const HostRoots& roots, HwObject* machine);

// SYS/class/net/NAME/speed in Mb/s; 0 when unreadable or -1 (unknown, as virtual and down
// interfaces report it).
int64_t interfaceSpeedMbps(const HostRoots& roots, const std::string& name);

// Processors in a kernel CPU list ("0-3,8-11,16"); -1 when malformed.
int countCpuList(const std::string& list);

}  // namespace tutti::topo
