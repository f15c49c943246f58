// The two-level cost model: an alpha-beta-gamma model (Hockney's alpha-beta with a per-byte
// reduction term, as in Thakur, Rabenseifner and Gropp, IJHPCA 2005) predicts an algorithm's
// time from its rounds, bytes on the wire and bytes reduced per rank, at the costs of a job's
// two levels (inside a host, between hosts). Each algorithm states its terms (CostTerms) in its
// own file; the constants come from cost_defaults.h, cost_file.h or cost_topology.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tutti {

// The path costs the model uses. alphaUs: time of one message round (us); betaNsPerByte: time to
// move one byte to a peer (ns); gammaNsPerByte: time to reduce one byte of input (ns). Messages
// of at least rendezvousBytes take rendezvousAlphaUs per round instead (a single-copy handshake
// costs more than an eager copy).
struct LinkCost {
  double alphaUs = 0;
  double betaNsPerByte = 0;
  double gammaNsPerByte = 0;
  size_t rendezvousBytes = SIZE_MAX;
  double rendezvousAlphaUs = 0;
};

// How the ranks spread over hosts, for the algorithms that follow it (tree). nhosts 1 and
// maxRanksPerHost 0 (= nranks) describe one host.
struct HostShape {
  int nhosts = 1;
  int maxRanksPerHost = 0;
};
HostShape hostShapeOf(const std::vector<int>& hostOfRank);

// The costs of a job's two levels: between ranks of one host (shared memory, NVLink, PCIe) and
// between hosts. inter's beta is per byte a host sends to the network, over every NIC one
// collective can use (NCCL spreads its channels over them); its gamma is unused (reductions
// run on the ranks, at intra's gamma). One host: inter is unused.
// ranksPerCore: the job's ranks on a machine per CPU core. Above 1 the machine is
// oversubscribed: ranks wait for a core, so the bytes every rank moves add up on the machine's
// cores and the busiest rank no longer sets the pace: the bandwidth and reduction terms use the
// average over ranks instead (measured: docs/performance.md, "Cost model").
struct ClusterCost {
  LinkCost intra;
  LinkCost inter;
  double ranksPerCore = 1;
};
inline ClusterCost uniformCost(const LinkCost& cost) { return ClusterCost{cost, cost}; }

// What an algorithm does on its critical path, the inputs of the model: message rounds inside a
// host and rounds that cross hosts (a round waits for its slowest message), the size of one
// round's message (eager or rendezvous), bytes the busiest rank sends to a peer on its host,
// bytes the busiest host sends to the network, and bytes of input the busiest rank reduces.
// Time = intraRounds x intra.alpha + interRounds x inter.alpha
//        + max(intraWireBytes x intra.beta, interWireBytes x inter.beta)
//        + reducedBytes x intra.gamma,
// with the last two terms scaled to the averages over ranks (averageWireBytes over the busiest
// of intraWireBytes and interWireBytes; averageReducedBytes) when ranksPerCore > 1.
struct CostTerms {
  double intraRounds = 0;
  double interRounds = 0;
  double messageBytes = 0;
  double intraWireBytes = 0;
  double interWireBytes = 0;
  double reducedBytes = 0;
  double averageWireBytes = 0;     // sent per rank, averaged over all ranks
  double averageReducedBytes = 0;  // reduced per rank, averaged over all ranks
};

double timeUs(const CostTerms& terms, const ClusterCost& cost);

// The model at one level as a linear form in that level's four constants, for fitting them to
// measured times (tutti-perf --calibrate): with every rank on one host (kIntra) or each on a host
// of its own (kInter) and ranksPerCore <= 1,
//   timeUs(terms, uniformCost(c)) = eagerRounds x c.alphaUs
//                                   + rendezvousRounds x c.rendezvousAlphaUs
//                                   + wireKb x c.betaNsPerByte + reducedKb x c.gammaNsPerByte
// (Kb: thousands of bytes, so that ns per byte gives us). rendezvousBytes is the level's
// threshold: a round whose message reaches it counts as a rendezvous round.
enum class CostLevel { kIntra, kInter };
const char* costLevelName(CostLevel level);  // "intra", "inter"
struct LevelTerms {
  double eagerRounds = 0;
  double rendezvousRounds = 0;
  double wireKb = 0;
  double reducedKb = 0;
};
LevelTerms levelTerms(const CostTerms& terms, CostLevel level, size_t rendezvousBytes);

// The host-level quantities every algorithm's terms start from, for a call moving `bytes` (the
// larger buffer, as nccl-tests counts size) over nranks ranks, contiguous on their hosts.
struct CostShape {
  int nranks = 1;
  double n = 1;     // nranks, for the formulas
  double s = 0;     // bytes
  int nhosts = 1;   // at least 1
  int perHost = 1;  // ranks on the largest host, at most nranks
  bool crossesHosts = false;
};
CostShape costShapeOf(int nranks, size_t bytes, const HostShape& hosts);

}  // namespace tutti
