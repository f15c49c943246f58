#include "topo/hwloc_probe.h"

#include <fmt/format.h>
#include <hwloc.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/log.h"

namespace tutti::topo {
namespace {

using Type = HwObject::Type;
// hwloc.h declares its attribute structs inside a union: in C++ they are nested types.
using PciAttr = decltype(hwloc_obj_attr_u::pcidev);

class HwlocTopology {
 public:
  HwlocTopology() { ok_ = hwloc_topology_init(&topology_) == 0; }
  ~HwlocTopology() {
    if (ok_) hwloc_topology_destroy(topology_);
  }
  HwlocTopology(const HwlocTopology&) = delete;
  HwlocTopology& operator=(const HwlocTopology&) = delete;
  bool ok() const { return ok_; }
  hwloc_topology_t get() const { return topology_; }

 private:
  hwloc_topology_t topology_{};
  bool ok_ = false;
};

std::string busIdOf(const PciAttr& pci) {
  return fmt::format("{:04x}:{:02x}:{:02x}.{:x}", static_cast<unsigned>(pci.domain),
                     static_cast<unsigned>(pci.bus), static_cast<unsigned>(pci.dev),
                     static_cast<unsigned>(pci.func));
}

int weight(hwloc_const_bitmap_t set) {
  if (set == nullptr) return 0;
  int bits = hwloc_bitmap_weight(set);
  return bits > 0 ? bits : 0;
}

// Processors held by the NUMA nodes converted so far: a NUMA node whose cpuset meets them is
// memory beside them (HBM or CXL attached to a package carries the package's cpuset).
class ClaimedPus {
 public:
  ClaimedPus() : set_(hwloc_bitmap_alloc()) {}
  ~ClaimedPus() { hwloc_bitmap_free(set_); }
  ClaimedPus(const ClaimedPus&) = delete;
  ClaimedPus& operator=(const ClaimedPus&) = delete;
  // Whether set meets what was claimed before; claims it.
  bool claim(hwloc_const_bitmap_t set) {
    if (set_ == nullptr || set == nullptr) return false;
    bool overlap = hwloc_bitmap_intersects(set_, set);
    hwloc_bitmap_or(set_, set_, set);
    return overlap;
  }

 private:
  hwloc_bitmap_t set_;
};

void convert(hwloc_obj_t object, ClaimedPus* claimed, HwObject* out);

void convertChildren(hwloc_obj_t first, ClaimedPus* claimed, HwObject* out) {
  for (hwloc_obj_t child = first; child != nullptr; child = child->next_sibling) {
    if (child->type == HWLOC_OBJ_PU) continue;  // counted from cpusets
    HwObject converted;
    convert(child, claimed, &converted);
    out->children.push_back(std::move(converted));
  }
}

void convert(hwloc_obj_t object, ClaimedPus* claimed, HwObject* out) {
  out->osIndex = object->os_index == HWLOC_UNKNOWN_INDEX ? -1 : static_cast<int>(object->os_index);
  if (object->subtype != nullptr) out->subtype = object->subtype;
  switch (object->type) {
    case HWLOC_OBJ_MACHINE:
      out->type = Type::kMachine;
      out->puCount = weight(object->cpuset);
      break;
    case HWLOC_OBJ_PACKAGE: {
      out->type = Type::kPackage;
      const char* vendor = hwloc_obj_get_info_by_name(object, "CPUVendor");
      const char* family = hwloc_obj_get_info_by_name(object, "CPUFamilyNumber");
      const char* model = hwloc_obj_get_info_by_name(object, "CPUModelNumber");
      if (vendor != nullptr) out->cpuVendor = vendor;
      if (family != nullptr) out->cpuFamily = std::atoi(family);
      if (model != nullptr) out->cpuModel = std::atoi(model);
      break;
    }
    case HWLOC_OBJ_NUMANODE:
      out->type = Type::kNumaNode;
      out->puCount = weight(object->cpuset);
      // Subtypes other than DRAM name memory without processors (HBM, MCDRAM, SPM, GPUMemory).
      out->memoryOnly =
          claimed->claim(object->cpuset) || (!out->subtype.empty() && out->subtype != "DRAM");
      break;
    case HWLOC_OBJ_BRIDGE:
      out->type = Type::kBridge;
      if (object->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_PCI) {
        const PciAttr& pci = object->attr->bridge.upstream.pci;
        out->busId = busIdOf(pci);
        out->pciClass = pci.class_id;
        out->vendorId = pci.vendor_id;
        out->deviceId = pci.device_id;
        out->linkGBps = pci.linkspeed;
      }
      break;
    case HWLOC_OBJ_PCI_DEVICE: {
      out->type = Type::kPciDevice;
      const PciAttr& pci = object->attr->pcidev;
      out->busId = busIdOf(pci);
      out->pciClass = pci.class_id;
      out->vendorId = pci.vendor_id;
      out->deviceId = pci.device_id;
      out->linkGBps = pci.linkspeed;
      break;
    }
    case HWLOC_OBJ_OS_DEVICE:
      out->type = Type::kOsDevice;
      if (object->name != nullptr) out->name = object->name;
      if (object->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK) {
        out->osDeviceKind = HwObject::OsDeviceKind::kNetwork;
      } else if (object->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS) {
        out->osDeviceKind = HwObject::OsDeviceKind::kOpenFabrics;
      }
      break;
    default:
      out->type = Type::kGroup;  // groups, dies, caches, cores: structure only
      break;
  }
  convertChildren(object->memory_first_child, claimed, out);
  convertChildren(object->first_child, claimed, out);
  convertChildren(object->io_first_child, claimed, out);
}

Status load(HwlocTopology& topology, HwObject* machine) {
  if (hwloc_topology_load(topology.get()) != 0) {
    return makeError(tuttiSystemError, "hwloc_topology_load failed: {}", std::strerror(errno));
  }
  hwloc_obj_t root = hwloc_get_root_obj(topology.get());
  if (root == nullptr || root->type != HWLOC_OBJ_MACHINE) {
    return makeError(tuttiInternalError, "hwloc: the root object is not a machine");
  }
  *machine = HwObject();
  ClaimedPus claimed;
  convert(root, &claimed, machine);
  return Status::ok();
}

}  // namespace

Status hwTreeOfThisHostWithHwloc(HwObject* machine) {
  HwlocTopology topology;
  if (!topology.ok()) return makeError(tuttiSystemError, "hwloc_topology_init failed");
  hwloc_topology_set_io_types_filter(topology.get(), HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
#if HWLOC_API_VERSION >= 0x00020100
  // hwloc's "pci" component (libpciaccess) loses 1016 bytes on every load (valgrind, hwloc
  // 2.9.0 on Debian 12), once per communicator. Without it hwloc's linux component reads the
  // same PCI tree from sysfs, missing only the device names, which Tutti does not use.
  hwloc_topology_set_components(topology.get(), HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "pci");
  // Tutti reads no OpenCL or display objects (GPUs come from CUDA and NVML, topo/cuda_probe.h).
  // The "opencl" component asks the OpenCL ICD loader for every platform, which loads each
  // vendor's OpenCL driver in every rank during init, and "gl" opens X displays. The ICD loader
  // (libOpenCL.so.1) also has thread-local storage that is dynamic TLS (loaded with the plugin),
  // whose block GCC 12's LeakSanitizer misreads when it lands 16 bytes into a page: it then
  // scans "0x9de-0x400001ae0" and its tracer dies of SIGSEGV (docs/reliability.md).
  hwloc_topology_set_components(topology.get(), HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "opencl");
  hwloc_topology_set_components(topology.get(), HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "gl");
#endif
  TUTTI_RETURN_IF_ERROR(load(topology, machine));
  // hwloc's own variable (not Tutti's: read as hwloc reads it). hwloc loads it in place of this
  // host, and when it refuses the file it detects this host without a word: say so.
  const char* xmlFile = std::getenv("HWLOC_XMLFILE");
  if (xmlFile != nullptr && *xmlFile != '\0' && hwloc_topology_is_thissystem(topology.get())) {
    TUTTI_WARN(kLogInit,
               "topology: hwloc refused HWLOC_XMLFILE={} and detected this host instead (give "
               "the file to Tutti with TUTTI_TOPO_FILE)",
               xmlFile);
  }
  return Status::ok();
}

}  // namespace tutti::topo
