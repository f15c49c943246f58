// NCCL's topology XML (what NCCL_TOPO_FILE reads and NCCL_TOPO_DUMP_FILE writes): complete dumps
// and the PCIe skeletons cloud vendors publish. Units as NCCL writes them: net speed in Mb/s,
// PCIe link_speed strings ("16.0 GT/s PCIe", "16 GT/s") with link_width in lanes, nvlink count
// and target bus id, gpu sm = compute capability x 10.
#pragma once

#include "base/status.h"
#include "topo/topology.h"
#include "topo/xml_reader.h"

namespace tutti::topo {

// The document's root must be <system>. Each <cpu> becomes a CPU node (PUs counted from its
// affinity mask), each <pci> bridge that leads to a GPU, NIC or NVSwitch a PCIe switch, a <pci>
// with a <gpu> (or of GPU class) a GPU, with a <nic> (or of network class) a NIC whose ports are
// its <net> children, and each NVLink target of class 0x068000 an NVSwitch. CPUs with different
// host_hash attributes become different hosts. What a skeleton leaves out stays unknown (NIC
// speed, SM generation).
Status topologyFromNcclXml(const XmlElement& root, Topology* out);

}  // namespace tutti::topo
