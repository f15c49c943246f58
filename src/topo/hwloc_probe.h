// The hardware tree from hwloc's API. Compiled only when CMake finds hwloc (TUTTI_HAVE_HWLOC);
// callers test that macro.
#pragma once

#include <string>

#include "base/status.h"
#include "topo/hw_tree.h"

namespace tutti::topo {

#if TUTTI_HAVE_HWLOC
// This host, with I/O devices (hwloc's "important" I/O filter: GPUs, NICs, the bridges above).
// hwloc reads HWLOC_XMLFILE instead when it is set, and detects this host when it cannot load
// that file: that is logged at WARN. Files given to Tutti never go through hwloc (hwloc_xml.h).
Status hwTreeOfThisHostWithHwloc(HwObject* machine);
#endif

}  // namespace tutti::topo
