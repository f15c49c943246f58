// The one way Tutti's tools write JSON: a document built with nlohmann::json, written with two
// spaces of indentation and keys in sorted order, so that every tool's files look alike and a
// reader (perf/compare, scripts) needs one parser, not one per hand-made layout.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace tutti::test {

// Writes document to path followed by a newline; false when the file cannot be written.
bool writeJsonFile(const std::string& path, const nlohmann::json& document);

}  // namespace tutti::test
