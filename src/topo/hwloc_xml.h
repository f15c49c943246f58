// hwloc's XML exports (`lstopo --of xml`, hwloc_topology_export_xml).
#pragma once

#include <string>

#include "base/status.h"
#include "topo/hw_tree.h"
#include "topo/topology.h"
#include "topo/xml_reader.h"

namespace tutti::topo {

// Loads with Tutti's reader below, never through libhwloc (whose importer trusts its input), in
// builds with or without hwloc; the caps of file_limits.h apply.
Status topologyFromHwlocXml(const std::string& text, Topology* out);
// The same, of a document already parsed.
Status topologyFromHwlocXml(const XmlElement& root, Topology* out);

// Tutti's reader of hwloc XML, formats 1.x, 2.x and 3.0: the root is <topology>; <object> types
// Machine, Package (Socket), Group, NUMANode, Bridge, PCIDev and OSDev are kept, the rest (caches,
// cores, dies) are transparent. PUs are counted from cpusets; PCI class, ids and link speed
// come from pci_type and pci_link_speed; osdev_type is hwloc 2's enum before version 3.0 and
// hwloc 3's bit mask from it. Subtypes are kept (NVSwitch on PCI devices; a NUMA node of a
// subtype other than DRAM, or whose PUs an earlier NUMA node holds, is memory-only). The
// NVLinkBandwidth distance matrix (<distances2hetero> or <distances2>, objects by gp_index, an
// OS device standing for its PCI device) gives the machine's NVLinks; a matrix whose counts do not
// match nbobjs, or of more than kMaxDistanceObjects objects, is an error.
Status hwTreeFromHwlocXml(const XmlElement& root, HwObject* machine);

}  // namespace tutti::topo
