#include "topo/hwloc_xml.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "base/log.h"
#include "topo/builder.h"
#include "topo/file_limits.h"

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

// A cpuset as hwloc writes it ("0x0000000f,0xffffffff": 32-bit words, most significant first)
// as words, least significant first; false when malformed or infinite ("0xf...f").
bool parseCpuset(const std::string& text, std::vector<uint32_t>* words) {
  words->clear();
  if (text.empty() || text.find("f...f") != std::string::npos) return false;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = std::min(text.find(',', start), text.size());
    std::string chunk = text.substr(start, end - start);
    char* stop = nullptr;
    unsigned long word = std::strtoul(chunk.c_str(), &stop, 16);
    if (chunk.empty() || *stop != '\0') return false;
    words->insert(words->begin(), static_cast<uint32_t>(word));
    start = end + 1;
  }
  return true;
}

// hwloc's NUMA node subtypes other than plain DRAM name memory without processors of its own:
// "HBM" (Sapphire Rapids HBM), "MCDRAM" (Knights Landing), "SPM" (special-purpose memory, CXL),
// "NVM", "GPUMemory" (Grace Hopper).
bool memorySubtype(const std::string& subtype) { return !subtype.empty() && subtype != "DRAM"; }

class Converter {
 public:
  explicit Converter(int formatMajor) : formatMajor_(formatMajor) {}

  // Returns false for objects that are dropped with their subtree (PUs: counted from cpusets).
  bool convert(const XmlElement& element, const std::string& pciAbove, HwObject* out) {
    std::string type = element.attributeOr("type", "");
    out->osIndex = intAttr(element, "os_index", -1);
    out->subtype = element.attributeOr("subtype", "");
    std::string busIdHere = pciAbove;
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
      std::string cpuset = element.attributeOr("cpuset", "");
      out->puCount = std::max(countMaskBits(cpuset), 0);
      out->memoryOnly = memorySubtype(out->subtype) || claimedBefore(cpuset);
    } else if (type == "Bridge") {
      out->type = Type::kBridge;
      readPci(element, out);
      if (!out->busId.empty()) busIdHere = out->busId;
    } else if (type == "PCIDev") {
      out->type = Type::kPciDevice;
      readPci(element, out);
      busIdHere = out->busId;
    } else if (type == "OSDev") {
      out->type = Type::kOsDevice;
      out->name = element.attributeOr("name", "");
      out->osDeviceKind = osDeviceKind(intAttr(element, "osdev_type", -1), formatMajor_);
    } else if (type == "PU") {
      return false;
    } else {
      out->type = Type::kGroup;  // caches, cores, dies, groups, misc: structure only
    }
    // Distance matrices name objects by gp_index; an OS device stands for its PCI device.
    const std::string* gp = element.attribute("gp_index");
    if (gp != nullptr && (type == "PCIDev" || type == "OSDev")) busIdOfGp_[*gp] = busIdHere;
    for (const XmlElement& child : element.children) {
      if (child.name != "object") continue;
      HwObject converted;
      if (convert(child, busIdHere, &converted)) out->children.push_back(std::move(converted));
    }
    return true;
  }

  // The PCI bus id an object of a distance matrix stands for; empty when none.
  std::string busIdOfGp(const std::string& gp) const {
    auto found = busIdOfGp_.find(gp);
    return found == busIdOfGp_.end() ? std::string() : found->second;
  }

 private:
  // Whether an earlier NUMA node already holds one of these processors (in hwloc 2, memory
  // attached to a package carries the package's cpuset: an HBM node beside the DDR one).
  bool claimedBefore(const std::string& cpuset) {
    std::vector<uint32_t> words;
    if (!parseCpuset(cpuset, &words)) return false;
    bool overlap = false;
    for (size_t i = 0; i < words.size() && i < claimed_.size(); ++i) {
      if (words[i] & claimed_[i]) overlap = true;
    }
    if (claimed_.size() < words.size()) claimed_.resize(words.size(), 0);
    for (size_t i = 0; i < words.size(); ++i) claimed_[i] |= words[i];
    return overlap;
  }

  int formatMajor_;
  std::vector<uint32_t> claimed_;
  std::map<std::string, std::string> busIdOfGp_;
};

// The white-space separated words of text, at most limit + 1 of them (enough to tell that there
// are too many).
std::vector<std::string> words(const std::string& text, size_t limit) {
  std::istringstream in(text);
  std::vector<std::string> out;
  std::string word;
  while (out.size() <= limit && in >> word) out.push_back(word);
  return out;
}

// hwloc 2's distance matrices (<distances2> and, for objects of several types, <distances2hetero>):
// nbobjs objects in <indexes> ("OSDev:802" in hetero ones), nbobjs^2 values in <u64values>, each
// possibly split over several elements. Malformed matrices are errors, as they are to hwloc; the
// NVLinkBandwidth one becomes NVLinks between the PCI devices its objects stand for.
Status readDistances(const XmlElement& matrix, const Converter& converter, HwObject* machine) {
  const std::string* nbobjsText = matrix.attribute("nbobjs");
  char* stop = nullptr;
  unsigned long long nbobjs =
      nbobjsText == nullptr ? 0 : std::strtoull(nbobjsText->c_str(), &stop, 10);
  if (nbobjsText == nullptr || *stop != '\0' || nbobjs > kMaxDistanceObjects) {
    return makeError(tuttiInvalidArgument,
                     "hwloc XML line {}: <{}> nbobjs '{}' is not a number of at most {} objects",
                     matrix.line, matrix.name, nbobjsText ? *nbobjsText : "", kMaxDistanceObjects);
  }
  std::vector<std::string> indexes, values;
  for (const XmlElement& child : matrix.children) {
    std::vector<std::string> items = words(child.text, nbobjs * nbobjs);
    std::vector<std::string>* into = child.name == "indexes"     ? &indexes
                                     : child.name == "u64values" ? &values
                                                                 : nullptr;
    if (into == nullptr) continue;
    if (into->size() + items.size() > nbobjs * nbobjs) {
      return makeError(tuttiInvalidArgument,
                       "hwloc XML line {}: <{}> has more {} than {} objects "
                       "allow",
                       child.line, matrix.name, child.name, nbobjs);
    }
    into->insert(into->end(), items.begin(), items.end());
  }
  if (indexes.size() != nbobjs || values.size() != nbobjs * nbobjs) {
    return makeError(tuttiInvalidArgument,
                     "hwloc XML line {}: <{}> of {} objects has {} indexes and {} values (expected "
                     "{} and {})",
                     matrix.line, matrix.name, nbobjs, indexes.size(), values.size(), nbobjs,
                     nbobjs * nbobjs);
  }
  std::set<std::string> distinct(indexes.begin(), indexes.end());
  if (distinct.size() != indexes.size()) {
    return makeError(tuttiInvalidArgument, "hwloc XML line {}: <{}> lists an object twice",
                     matrix.line, matrix.name);
  }
  std::vector<uint64_t> numbers(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    numbers[i] = std::strtoull(values[i].c_str(), &stop, 0);
    if (*stop != '\0') {
      return makeError(tuttiInvalidArgument, "hwloc XML line {}: <{}> value '{}' is not a number",
                       matrix.line, matrix.name, values[i]);
    }
  }
  if (matrix.attributeOr("name", "") != "NVLinkBandwidth") return Status::ok();
  std::vector<std::string> busIds(nbobjs);
  for (size_t i = 0; i < nbobjs; ++i) {
    size_t colon = indexes[i].rfind(':');
    busIds[i] =
        converter.busIdOfGp(colon == std::string::npos ? indexes[i] : indexes[i].substr(colon + 1));
  }
  for (size_t i = 0; i < nbobjs; ++i) {
    for (size_t j = i + 1; j < nbobjs; ++j) {
      uint64_t bandwidth = std::max(numbers[i * nbobjs + j], numbers[j * nbobjs + i]);
      if (bandwidth == 0) continue;
      if (busIds[i].empty() || busIds[j].empty()) {
        TUTTI_INFO(kLogInit,
                   "hwloc XML: NVLinkBandwidth between {} and {} left out (not a PCI "
                   "device)",
                   indexes[i], indexes[j]);
        continue;
      }
      machine->nvlinks.push_back({busIds[i], busIds[j], bandwidth});
    }
  }
  return Status::ok();
}

}  // namespace

Status hwTreeFromHwlocXml(const XmlElement& root, HwObject* machine) {
  if (root.name != "topology") {
    return makeError(tuttiInvalidArgument,
                     "hwloc XML: the root element is <{}>, expected <topology>", root.name);
  }
  int formatMajor = std::atoi(root.attributeOr("version", "1").c_str());
  Converter converter(formatMajor);
  bool haveMachine = false;
  for (const XmlElement& child : root.children) {
    if (child.name != "object" || haveMachine) continue;
    HwObject converted;
    converter.convert(child, "", &converted);
    if (converted.type != Type::kMachine) {
      return makeError(tuttiInvalidArgument, "hwloc XML line {}: the top object is not a Machine",
                       child.line);
    }
    *machine = std::move(converted);
    haveMachine = true;
  }
  if (!haveMachine) return makeError(tuttiInvalidArgument, "hwloc XML: no Machine object");
  for (const XmlElement& child : root.children) {
    if (child.name == "distances2" || child.name == "distances2hetero") {
      TUTTI_RETURN_IF_ERROR(readDistances(child, converter, machine));
    }
  }
  return Status::ok();
}

Status topologyFromHwlocXml(const std::string& text, Topology* out) {
  // Tutti reads hwloc XML itself, never through libhwloc: hwloc's importer trusts its input
  // (hwloc 2.x allocates nbobjs^2 values from a distance matrix's attribute in 32-bit unsigned
  // arithmetic, and a file it cannot load makes it fall back to detecting this host), and a
  // topology file is input from outside. Tutti's reader has the caps of file_limits.h.
  XmlElement root;
  TUTTI_RETURN_IF_ERROR(parseXml(text, &root));
  return topologyFromHwlocXml(root, out);
}

Status topologyFromHwlocXml(const XmlElement& root, Topology* out) {
  HwObject machine;
  TUTTI_RETURN_IF_ERROR(hwTreeFromHwlocXml(root, &machine));
  Topology topology;
  TUTTI_RETURN_IF_ERROR(topologyFromHwTree(machine, &topology));
  TUTTI_RETURN_IF_ERROR(checkTopologyLimits(topology, "hwloc XML"));
  *out = std::move(topology);
  return Status::ok();
}

}  // namespace tutti::topo
