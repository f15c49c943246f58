#include "topo/sysfs_probe.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "topo/builder.h"
#include "topo/link_model.h"

namespace tutti::topo {
namespace {

using Type = HwObject::Type;
using OsKind = HwObject::OsDeviceKind;

// The file's first line without trailing white space; false when unreadable.
bool readLine(const std::string& path, std::string* out) {
  std::ifstream file(path);
  if (!file || !std::getline(file, *out)) return false;
  while (!out->empty() && std::isspace(static_cast<unsigned char>(out->back()))) out->pop_back();
  return true;
}

int64_t readInt(const std::string& path, int64_t fallback) {
  std::string text;
  if (!readLine(path, &text) || text.empty()) return fallback;
  char* end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 0);
  return *end == '\0' ? value : fallback;
}

std::vector<std::string> listDirectory(const std::string& path) {
  std::vector<std::string> names;
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return names;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

std::string resolvedPath(const std::string& path) {
  char buffer[PATH_MAX];
  if (realpath(path.c_str(), buffer) == nullptr) return "";
  return buffer;
}

// "0000:1b:00.0"
bool isBusId(const std::string& text) {
  if (text.size() != 12 || text[4] != ':' || text[7] != ':' || text[10] != '.') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11}) {
    if (!std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

// The PCI functions on a device's sysfs path, from the root down.
std::vector<std::string> busIdsOnPath(const std::string& path) {
  std::vector<std::string> ids;
  std::istringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (isBusId(part)) ids.push_back(part);
  }
  return ids;
}

std::string pciDir(const HostRoots& roots, const std::string& busId) {
  return roots.sys + "/bus/pci/devices/" + busId;
}

void readPciObject(const HostRoots& roots, const std::string& busId, HwObject* object) {
  std::string dir = pciDir(roots, busId);
  object->busId = busId;
  int64_t pciClass = readInt(dir + "/class", -1);
  object->pciClass = pciClass < 0 ? -1 : static_cast<int>(pciClass >> 8);
  object->vendorId = static_cast<int>(readInt(dir + "/vendor", -1));
  object->deviceId = static_cast<int>(readInt(dir + "/device", -1));
  std::string speed;
  if (readLine(dir + "/current_link_speed", &speed)) object->linkGen = pcieGenFromLinkSpeed(speed);
  object->linkWidth =
      static_cast<int>(std::max<int64_t>(readInt(dir + "/current_link_width", 0), 0));
}

// "400 Gb/sec (4X NDR)" -> 400000 Mb/s.
int64_t verbsPortSpeedMbps(const HostRoots& roots, const std::string& device) {
  int64_t best = 0;
  for (const std::string& port :
       listDirectory(roots.sys + "/class/infiniband/" + device + "/ports")) {
    std::string rate;
    if (!readLine(roots.sys + "/class/infiniband/" + device + "/ports/" + port + "/rate", &rate)) {
      continue;
    }
    double gbps = std::strtod(rate.c_str(), nullptr);
    best = std::max(best, static_cast<int64_t>(gbps * 1000));
  }
  return best;
}

// Interfaces and verbs devices by the PCI function they belong to (the last one on the device's
// path: a virtio NIC's interface sits below virtioN below the function).
std::map<std::string, std::vector<HwObject>> osDevicesByBusId(const HostRoots& roots) {
  std::map<std::string, std::vector<HwObject>> byBusId;
  auto add = [&](const std::string& classDir, const std::string& name, OsKind kind) {
    std::vector<std::string> ids = busIdsOnPath(resolvedPath(classDir + "/" + name + "/device"));
    if (ids.empty()) return;  // virtual: lo, veth, bridges, ifb
    HwObject os;
    os.type = Type::kOsDevice;
    os.name = name;
    os.osDeviceKind = kind;
    os.speedMbps = kind == OsKind::kNetwork ? interfaceSpeedMbps(roots, name)
                                            : verbsPortSpeedMbps(roots, name);
    byBusId[ids.back()].push_back(std::move(os));
  };
  for (const std::string& name : listDirectory(roots.sys + "/class/infiniband")) {
    add(roots.sys + "/class/infiniband", name, OsKind::kOpenFabrics);
  }
  for (const std::string& name : listDirectory(roots.sys + "/class/net")) {
    add(roots.sys + "/class/net", name, OsKind::kNetwork);
  }
  return byBusId;
}

void readCpuInfo(const HostRoots& roots, HwObject* package) {
  std::ifstream cpuinfo(roots.proc + "/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
    std::string value = line.substr(colon + 1);
    value.erase(0, std::min(value.find_first_not_of(" \t"), value.size()));
    if (key == "vendor_id" && package->cpuVendor.empty()) package->cpuVendor = value;
    if (key == "cpu family" && package->cpuFamily < 0)
      package->cpuFamily = std::atoi(value.c_str());
    if (key == "model" && package->cpuModel < 0) package->cpuModel = std::atoi(value.c_str());
  }
}

HwObject* numaObject(HwObject* package, int numaId) {
  for (HwObject& child : package->children) {
    if (child.type == Type::kNumaNode && child.osIndex == numaId) return &child;
  }
  return &package->children.front();
}

// Adds the device and the bridges above it, sharing bridges already there.
void insertDevice(const HostRoots& roots, const std::vector<std::string>& path, HwObject* numa,
                  std::vector<HwObject> osDevices) {
  HwObject* at = numa;
  for (size_t i = 0; i < path.size(); ++i) {
    bool last = i + 1 == path.size();
    auto existing = std::find_if(at->children.begin(), at->children.end(),
                                 [&](const HwObject& c) { return c.busId == path[i]; });
    if (existing != at->children.end()) {
      at = &*existing;
      continue;
    }
    HwObject object;
    object.type = last ? Type::kPciDevice : Type::kBridge;
    readPciObject(roots, path[i], &object);
    if (last) object.children = std::move(osDevices);
    at->children.push_back(std::move(object));
    at = &at->children.back();
  }
}

void addDetails(const HostRoots& roots, HwObject* object) {
  if ((object->type == Type::kBridge || object->type == Type::kPciDevice) &&
      !object->busId.empty()) {
    HwObject fromSysfs;
    readPciObject(roots, normalizeBusId(object->busId), &fromSysfs);
    if (fromSysfs.linkGen > 0) object->linkGen = fromSysfs.linkGen;
    if (fromSysfs.linkWidth > 0) object->linkWidth = fromSysfs.linkWidth;
  }
  if (object->type == Type::kOsDevice && object->speedMbps == 0) {
    if (object->osDeviceKind == OsKind::kNetwork) {
      object->speedMbps = interfaceSpeedMbps(roots, object->name);
    } else if (object->osDeviceKind == OsKind::kOpenFabrics) {
      object->speedMbps = verbsPortSpeedMbps(roots, object->name);
    }
  }
  for (HwObject& child : object->children) addDetails(roots, &child);
}

}  // namespace

int countCpuList(const std::string& list) {
  int count = 0;
  std::istringstream ranges(list);
  std::string range;
  while (std::getline(ranges, range, ',')) {
    if (range.empty()) continue;
    char* end = nullptr;
    long first = std::strtol(range.c_str(), &end, 10);
    if (end == range.c_str()) return -1;
    long last = first;
    if (*end == '-') {
      const char* second = end + 1;
      last = std::strtol(second, &end, 10);
      if (end == second) return -1;
    }
    if (*end != '\0' || last < first) return -1;
    count += static_cast<int>(last - first + 1);
  }
  return count;
}

int64_t interfaceSpeedMbps(const HostRoots& roots, const std::string& name) {
  int64_t speed = readInt(roots.sys + "/class/net/" + name + "/speed", 0);
  return speed > 0 ? speed : 0;
}

Status hwTreeOfThisHostWithSysfs(const HostRoots& roots, HwObject* machine) {
  HwObject result;
  result.type = Type::kMachine;
  result.osIndex = 0;
  HwObject package;
  package.type = Type::kPackage;
  readCpuInfo(roots, &package);
  std::string nodeDir = roots.sys + "/devices/system/node";
  for (const std::string& name : listDirectory(nodeDir)) {
    if (name.compare(0, 4, "node") != 0 || name.size() == 4 ||
        name.find_first_not_of("0123456789", 4) != std::string::npos) {
      continue;
    }
    HwObject numa;
    numa.type = Type::kNumaNode;
    numa.osIndex = std::atoi(name.c_str() + 4);
    std::string cpus;
    if (readLine(nodeDir + "/" + name + "/cpulist", &cpus))
      numa.puCount = std::max(countCpuList(cpus), 0);
    package.children.push_back(std::move(numa));
  }
  std::sort(package.children.begin(), package.children.end(),
            [](const HwObject& a, const HwObject& b) { return a.osIndex < b.osIndex; });
  std::string online;
  if (readLine(roots.sys + "/devices/system/cpu/online", &online)) {
    result.puCount = std::max(countCpuList(online), 0);
  }
  if (package.children.empty()) {
    HwObject numa;
    numa.type = Type::kNumaNode;
    numa.osIndex = 0;
    numa.puCount = result.puCount;
    package.children.push_back(std::move(numa));
  }
  std::map<std::string, std::vector<HwObject>> osDevices = osDevicesByBusId(roots);
  for (const std::string& busId : listDirectory(roots.sys + "/bus/pci/devices")) {
    if (!isBusId(busId)) continue;
    std::string dir = pciDir(roots, busId);
    int64_t pciClass = readInt(dir + "/class", -1);
    PciRole role = classifyPci(pciClass < 0 ? -1 : static_cast<int>(pciClass >> 8),
                               static_cast<int>(readInt(dir + "/vendor", -1)));
    if (role != PciRole::kGpu && role != PciRole::kNic && role != PciRole::kNvSwitch) continue;
    std::vector<std::string> path = busIdsOnPath(resolvedPath(dir));
    if (path.empty() || path.back() != busId) path = {busId};
    int numaId = static_cast<int>(readInt(dir + "/numa_node", -1));
    insertDevice(roots, path, numaObject(&package, numaId), std::move(osDevices[busId]));
  }
  result.children.push_back(std::move(package));
  *machine = std::move(result);
  return Status::ok();
}

void addSysfsLinkDetails(const HostRoots& roots, HwObject* machine) { addDetails(roots, machine); }

}  // namespace tutti::topo
