// Tutti's own topology file format: one line per node and per link, `#` starts a comment,
// human-editable; docs/topology.md describes it. serialize() and parse() are also what a
// communicator exchanges between ranks (each rank's view of its host).
#pragma once

#include <string>

#include "base/status.h"
#include "topo/topology.h"

namespace tutti::topo {

constexpr int kTextFormatVersion = 1;

// The text of a topology. A cluster of identical hosts is written as one host and `hosts N`;
// different hosts each get a `host K` section. parse(serialize(t)) == t when t's nodes and links
// are grouped by host (groupByHost; every loader returns that form).
std::string serialize(const Topology& topology);

// Reads the text into *out (replacing it). Errors are tuttiInvalidArgument naming the line.
Status parse(const std::string& text, Topology* out);

}  // namespace tutti::topo
