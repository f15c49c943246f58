// Topology files: Tutti's text format (text_format.h), NCCL's topology XML (nccl_xml.h) and
// hwloc's XML (hwloc_xml.h), told apart by their content; and the environment variables a
// communicator honours: TUTTI_TOPO_FILE (use this file instead of detecting) and
// TUTTI_TOPO_DUMP_FILE (write what was detected or loaded, in Tutti's format).
#pragma once

#include <string>

#include "base/status.h"
#include "topo/topology.h"

namespace tutti::topo {

enum class TopologyFileFormat { kTutti, kNcclXml, kHwlocXml };
const char* topologyFileFormatName(TopologyFileFormat format);  // "tutti", "nccl-xml", "hwloc-xml"

// XML whose root element is <system> is NCCL's, <topology> hwloc's; anything else is read as
// Tutti's format.
Status detectTopologyFileFormat(const std::string& text, TopologyFileFormat* format);

// Parses text of any of the three formats.
Status parseTopologyText(const std::string& text, Topology* out,
                         TopologyFileFormat* format = nullptr);

Status loadTopologyFile(const std::string& path, Topology* out,
                        TopologyFileFormat* format = nullptr);
Status dumpTopologyFile(const std::string& path, const Topology& topology);

// TUTTI_TOPO_FILE when set (loaded), else detectTopology(). What a communicator's host heads
// call; the communicator writes TUTTI_TOPO_DUMP_FILE itself, once, with every host in it.
Status loadOrDetectHostTopology(Topology* out);
// loadOrDetectHostTopology(); then, when TUTTI_TOPO_DUMP_FILE is
// set, the result is written there.
Status loadOrDetectTopology(Topology* out);

}  // namespace tutti::topo
