#include "topo/topology_file.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/log.h"
#include "base/params.h"
#include "topo/detect.h"
#include "topo/file_limits.h"
#include "topo/hwloc_xml.h"
#include "topo/nccl_xml.h"
#include "topo/text_format.h"
#include "topo/xml_reader.h"

namespace tutti::topo {
namespace {

bool looksLikeXml(const std::string& text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string::npos && text[first] == '<';
}

Status formatOfXml(const XmlElement& root, TopologyFileFormat* format) {
  if (root.name == "system") {
    *format = TopologyFileFormat::kNcclXml;
  } else if (root.name == "topology") {
    *format = TopologyFileFormat::kHwlocXml;
  } else {
    return makeError(tuttiInvalidArgument,
                     "XML with root <{}> is neither NCCL's topology (<system>) nor hwloc's "
                     "(<topology>)",
                     root.name);
  }
  return Status::ok();
}

}  // namespace

const char* topologyFileFormatName(TopologyFileFormat format) {
  switch (format) {
    case TopologyFileFormat::kTutti:
      return "tutti";
    case TopologyFileFormat::kNcclXml:
      return "nccl-xml";
    case TopologyFileFormat::kHwlocXml:
      return "hwloc-xml";
  }
  return "?";
}

Status detectTopologyFileFormat(const std::string& text, TopologyFileFormat* format) {
  if (!looksLikeXml(text)) {
    *format = TopologyFileFormat::kTutti;
    return Status::ok();
  }
  XmlElement root;
  TUTTI_RETURN_IF_ERROR(parseXml(text, &root));
  return formatOfXml(root, format);
}

Status parseTopologyText(const std::string& text, Topology* out, TopologyFileFormat* format) {
  TopologyFileFormat found = TopologyFileFormat::kTutti;
  if (!looksLikeXml(text)) {
    TUTTI_RETURN_IF_ERROR(parse(text, out));
  } else {
    XmlElement root;
    TUTTI_RETURN_IF_ERROR(parseXml(text, &root));
    TUTTI_RETURN_IF_ERROR(formatOfXml(root, &found));
    if (found == TopologyFileFormat::kNcclXml) {
      TUTTI_RETURN_IF_ERROR(topologyFromNcclXml(root, out));
    } else {
      TUTTI_RETURN_IF_ERROR(topologyFromHwlocXml(root, out));
    }
  }
  if (format != nullptr) *format = found;
  return Status::ok();
}

Status loadTopologyFile(const std::string& path, Topology* out, TopologyFileFormat* format) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return systemError("topology file " + path, errno);
  // Read at most one byte past the cap, so that a huge file (or /dev/zero) is refused without
  // being read whole.
  std::string text(kMaxTopologyFileBytes + 1, '\0');
  file.read(&text[0], static_cast<std::streamsize>(text.size()));
  if (file.bad()) return systemError("reading topology file " + path, errno);
  text.resize(static_cast<size_t>(file.gcount()));
  if (text.size() > kMaxTopologyFileBytes) {
    return makeError(tuttiInvalidArgument,
                     "topology file {}: larger than the {} bytes a topology file may have", path,
                     kMaxTopologyFileBytes);
  }
  return parseTopologyText(text, out, format).withContext("topology file " + path);
}

Status dumpTopologyFile(const std::string& path, const Topology& topology) {
  std::string text = serialize(topology);
  if (text.size() > kMaxTopologyFileBytes) {
    return makeError(tuttiInvalidArgument,
                     "topology dump file {}: {} bytes, more than the {} a topology file may have "
                     "(it would not load)",
                     path, text.size(), kMaxTopologyFileBytes);
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) return systemError("topology dump file " + path, errno);
  file << text;
  file.close();
  if (!file) return systemError("writing topology dump file " + path, errno);
  return Status::ok();
}

Status loadOrDetectHostTopology(Topology* out) {
  const char* path = paramEnv("TUTTI_TOPO_FILE");
  if (path != nullptr && *path != '\0') {
    TUTTI_RETURN_IF_ERROR(loadTopologyFile(path, out));
    TUTTI_INFO(kLogInit | kLogEnv, "topology: loaded from TUTTI_TOPO_FILE={}", path);
    return Status::ok();
  }
  return detectTopology(out);
}

Status loadOrDetectTopology(Topology* out) {
  Topology topology;
  TUTTI_RETURN_IF_ERROR(loadOrDetectHostTopology(&topology));
  const char* dumpPath = paramEnv("TUTTI_TOPO_DUMP_FILE");
  if (dumpPath != nullptr && *dumpPath != '\0') {
    TUTTI_RETURN_IF_ERROR(dumpTopologyFile(dumpPath, topology));
    TUTTI_INFO(kLogInit | kLogEnv, "topology: written to TUTTI_TOPO_DUMP_FILE={}", dumpPath);
  }
  *out = std::move(topology);
  return Status::ok();
}

}  // namespace tutti::topo
