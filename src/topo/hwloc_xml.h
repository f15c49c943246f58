// hwloc's XML exports (`lstopo --of xml`, hwloc_topology_export_xml).
#pragma once

#include <string>

#include "base/status.h"
#include "topo/hw_tree.h"
#include "topo/topology.h"
#include "topo/xml_reader.h"

namespace tutti::topo {

// Loads through hwloc's own XML backend (hwloc_topology_set_xmlbuffer) when Tutti is built with
// hwloc; when hwloc is absent or refuses the file (hwloc 2.x cannot import version 3.0 exports),
// Tutti's reader below takes over, logging why at INFO. *viaHwloc (optional) says which read it.
Status topologyFromHwlocXml(const std::string& text, Topology* out, bool* viaHwloc = nullptr);

// Tutti's reader of hwloc XML, formats 1.x, 2.x and 3.0: the root is <topology>; <object> types
// Machine, Package (Socket), Group, NUMANode, Bridge, PCIDev and OSDev are kept, the rest (caches,
// cores, dies) are transparent. PUs are counted from cpusets; PCI class, ids and link speed
// come from pci_type and pci_link_speed; osdev_type is hwloc 2's enum before version 3.0 and
// hwloc 3's bit mask from it.
Status hwTreeFromHwlocXml(const XmlElement& root, HwObject* machine);

}  // namespace tutti::topo
