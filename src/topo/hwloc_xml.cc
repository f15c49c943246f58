#include "topo/hwloc_xml.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "base/log.h"
#include "topo/builder.h"
#include "topo/hwloc_probe.h"

namespace tutti::topo {
namespace {

using Type = HwObject::Type;
using OsKind = HwObject::OsDeviceKind;

int intAttr(const XmlElement& element, const char* key, int fallback) {
  const std::string* text = element.attribute(key);
  if (text == nullptr || text->empty()) return fallback;
  char* end = nullptr;
  long value = std::strtol(text->c_str(), &end, 0);
  return *end == '\0' ? static_cast<int>(value) : fallback;
}

std::string info(const XmlElement& object, const char* name) {
  for (const XmlElement& child : object.children) {
    if (child.name == "info" && child.attributeOr("name", "") == name) {
      return child.attributeOr("value", "");
    }
  }
  return "";
}

// hwloc's OS device types: an enum before XML version 3.0 (hwloc 2: 0 block, 1 GPU, 2 network,
// 3 OpenFabrics, 4 DMA, 5 coprocessor), a bit mask from 3.0 (1 storage, 2 memory, 4 GPU,
// 8 coprocessor, 16 network, 32 OpenFabrics, 64 DMA). OpenFabrics wins over network: a verbs
// device also flagged as network (48) is the HCA, not an interface.
OsKind osDeviceKind(int type, int formatMajor) {
  if (formatMajor >= 3) {
    if (type & 32) return OsKind::kOpenFabrics;
    if (type & 16) return OsKind::kNetwork;
    return OsKind::kOther;
  }
  if (type == 3) return OsKind::kOpenFabrics;
  if (type == 2) return OsKind::kNetwork;
  return OsKind::kOther;
}

void readPci(const XmlElement& element, HwObject* object) {
  object->busId = element.attributeOr("pci_busid", "");
  // "0604 [8086:3408] [0000:0000] 13 00": class, [vendor:device], [subsystem], revision, ...
  std::string type = element.attributeOr("pci_type", "");
  unsigned pciClass = 0, vendor = 0, device = 0;
  int fields = std::sscanf(type.c_str(), "%x [%x:%x]", &pciClass, &vendor, &device);
  if (fields >= 1) object->pciClass = static_cast<int>(pciClass);
  if (fields == 3) {
    object->vendorId = static_cast<int>(vendor);
    object->deviceId = static_cast<int>(device);
  }
  // A float, as hwloc keeps it, so that both readers give the same figure.
  object->linkGBps = std::strtof(element.attributeOr("pci_link_speed", "0").c_str(), nullptr);
}

// Returns false for objects that are dropped with their subtree (PUs: counted from cpusets).
bool convert(const XmlElement& element, int formatMajor, HwObject* out) {
  std::string type = element.attributeOr("type", "");
  out->osIndex = intAttr(element, "os_index", -1);
  if (type == "Machine" || type == "System") {
    out->type = Type::kMachine;
    out->puCount = std::max(countMaskBits(element.attributeOr("cpuset", "")), 0);
  } else if (type == "Package" || type == "Socket") {
    out->type = Type::kPackage;
    out->cpuVendor = info(element, "CPUVendor");
    out->cpuFamily = std::atoi(info(element, "CPUFamilyNumber").c_str());
    out->cpuModel = std::atoi(info(element, "CPUModelNumber").c_str());
    if (info(element, "CPUFamilyNumber").empty()) out->cpuFamily = -1;
    if (info(element, "CPUModelNumber").empty()) out->cpuModel = -1;
  } else if (type == "NUMANode") {
    out->type = Type::kNumaNode;
    out->puCount = std::max(countMaskBits(element.attributeOr("cpuset", "")), 0);
  } else if (type == "Bridge") {
    out->type = Type::kBridge;
    readPci(element, out);
  } else if (type == "PCIDev") {
    out->type = Type::kPciDevice;
    readPci(element, out);
  } else if (type == "OSDev") {
    out->type = Type::kOsDevice;
    out->name = element.attributeOr("name", "");
    out->osDeviceKind = osDeviceKind(intAttr(element, "osdev_type", -1), formatMajor);
  } else if (type == "PU") {
    return false;
  } else {
    out->type = Type::kGroup;  // caches, cores, dies, groups, misc: structure only
  }
  for (const XmlElement& child : element.children) {
    if (child.name != "object") continue;
    HwObject converted;
    if (convert(child, formatMajor, &converted)) out->children.push_back(std::move(converted));
  }
  return true;
}

}  // namespace

Status hwTreeFromHwlocXml(const XmlElement& root, HwObject* machine) {
  if (root.name != "topology") {
    return makeError(tuttiInvalidArgument,
                     "hwloc XML: the root element is <{}>, expected <topology>", root.name);
  }
  int formatMajor = std::atoi(root.attributeOr("version", "1").c_str());
  for (const XmlElement& child : root.children) {
    if (child.name != "object") continue;
    HwObject converted;
    convert(child, formatMajor, &converted);
    if (converted.type != Type::kMachine) {
      return makeError(tuttiInvalidArgument, "hwloc XML line {}: the top object is not a Machine",
                       child.line);
    }
    *machine = std::move(converted);
    return Status::ok();
  }
  return makeError(tuttiInvalidArgument, "hwloc XML: no Machine object");
}

Status topologyFromHwlocXml(const std::string& text, Topology* out, bool* viaHwloc) {
  HwObject machine;
  if (viaHwloc != nullptr) *viaHwloc = false;
#if TUTTI_HAVE_HWLOC
  Status hwloc = hwTreeFromHwlocXmlWithHwloc(text, &machine);
  if (hwloc.isOk()) {
    if (viaHwloc != nullptr) *viaHwloc = true;
    return topologyFromHwTree(machine, out);
  }
  TUTTI_INFO(kLogInit,
             "topology: hwloc could not load the XML ({}); reading it with Tutti's reader",
             hwloc.message());
#endif
  XmlElement root;
  TUTTI_RETURN_IF_ERROR(parseXml(text, &root));
  TUTTI_RETURN_IF_ERROR(hwTreeFromHwlocXml(root, &machine));
  return topologyFromHwTree(machine, out);
}

}  // namespace tutti::topo
