// Bounds on what a topology file (Tutti text, NCCL XML, hwloc XML) may describe. A file is input
// from outside: a cap turns a huge or hostile one into tuttiInvalidArgument naming the cap,
// before it can exhaust memory or make a quadratic step hang. Each bound is far above any real
// machine; the comment says what real files reach.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/status.h"
#include "topo/topology.h"

namespace tutti::topo {

// Bytes of one file. The largest real files are hwloc exports of big hosts: a 2-socket, 8-GPU
// server with PCI devices is 40-60 KB, a 1,000-PU machine a few MB. The bound is above the
// largest dump the other caps allow (~50 MB: a file of 1,048,576 short links), so that every
// dump Tutti writes reloads; dumpTopologyFile refuses to write a larger one.
constexpr size_t kMaxTopologyFileBytes = size_t{64} << 20;

// XML: elements in one document (an hwloc export has about 6 per PU with its caches and cores:
// 8,192 PUs are ~50,000), attributes on one element (hwloc objects carry ~20), bytes in one
// attribute value (a cpuset of 8,192 PUs is ~2,300 characters), nesting depth (hwloc's deepest
// exports nest ~20: machine, groups, package, caches, core, PU, a chain of PCI bridges).
constexpr int kMaxXmlElements = 1 << 18;
constexpr int kMaxXmlAttributesPerElement = 64;
constexpr size_t kMaxXmlAttributeBytes = size_t{64} << 10;
constexpr int kMaxXmlDepth = 128;

// One host's model: nodes (an 8-GPU server has ~60; a rack-scale host's view a few hundred),
// CPU nodes (the largest single-image machines, SGI UV 3000, had 256 sockets; every pair of CPU
// nodes is an inter-socket link, 32,640 of them at the cap), NVLink bundles per GPU (NVML
// reports at most 18 links).
constexpr int kMaxNodesPerHost = 4096;
constexpr int kMaxCpusPerHost = 256;
constexpr int kMaxNvlinksPerGpu = 64;
// A whole file, all hosts together (after `hosts N` is expanded): 4,096 hosts of 64 nodes. A
// million-device file is refused here.
constexpr int kMaxNodesPerFile = 1 << 18;
constexpr int kMaxLinksPerFile = 1 << 20;

// hwloc distance matrices (NVLinkBandwidth): objects in one matrix (a DGX-2 has 28: 16 GPUs and
// 12 NVSwitches). hwloc itself allocates nbobjs^2 values from this attribute.
constexpr int kMaxDistanceObjects = 1024;

// tuttiInvalidArgument naming the cap a loaded topology exceeds (nodes or CPU nodes of a host,
// nodes or links of the file), with what as the message's prefix; ok otherwise.
Status checkTopologyLimits(const Topology& topology, const char* what);

}  // namespace tutti::topo
