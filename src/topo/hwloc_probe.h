// The hardware tree from hwloc's API. Compiled only when CMake finds hwloc (TUTTI_HAVE_HWLOC);
// callers test that macro.
#pragma once

#include <string>

#include "base/status.h"
#include "topo/hw_tree.h"

namespace tutti::topo {

#if TUTTI_HAVE_HWLOC
// This host, with I/O devices (hwloc's "important" I/O filter: GPUs, NICs, the bridges above).
Status hwTreeOfThisHostWithHwloc(HwObject* machine);

// An hwloc XML export through hwloc's own XML backend (hwloc_topology_set_xmlbuffer).
Status hwTreeFromHwlocXmlWithHwloc(const std::string& text, HwObject* machine);
#endif

}  // namespace tutti::topo
