// Algorithm selection: which plan generator serves a call. An alpha-beta-gamma cost model
// (Hockney's alpha-beta with a per-byte reduction term, as in Thakur, Rabenseifner and Gropp,
// IJHPCA 2005) predicts each algorithm's time from its rounds, bytes on the wire and bytes
// reduced per rank; the cheapest wins unless TUTTI_ALGO pins one. The choice is data: what the
// model predicted for every candidate is kept beside it, for logs and tools.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "algo/plan.h"
#include "base/status.h"

namespace tutti {

enum class Algorithm : uint8_t { kRing, kRecursiveDoubling, kTree };
constexpr int kNumAlgorithms = 3;
const char* algorithmName(Algorithm algorithm);  // "ring", "rd", "tree"
std::optional<Algorithm> parseAlgorithm(const std::string& name);

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

// Defaults per transport description ("shm/cma", "shm", "tcp", "self"), fitted on the
// project's development machine (2-core VM; docs/performance.md, "Cost model"). Unknown names
// get tcp's.
LinkCost defaultLinkCost(const std::string& transport);

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

// The terms for a call moving `bytes` (the larger buffer, as nccl-tests counts size) over n
// ranks, contiguous on their hosts; nullopt where the algorithm does not apply.
std::optional<CostTerms> costTerms(Algorithm algorithm, Collective collective, int nranks,
                                   size_t bytes, const HostShape& hosts = HostShape());
double timeUs(const CostTerms& terms, const ClusterCost& cost);

// Predicted time (us): timeUs(costTerms(...)); nullopt where the algorithm does not apply.
std::optional<double> predictUs(Algorithm algorithm, Collective collective, int nranks,
                                size_t bytes, const ClusterCost& cost,
                                const HostShape& hosts = HostShape());
inline std::optional<double> predictUs(Algorithm algorithm, Collective collective, int nranks,
                                       size_t bytes, const LinkCost& cost,
                                       const HostShape& hosts = HostShape()) {
  return predictUs(algorithm, collective, nranks, bytes, uniformCost(cost), hosts);
}

// TUTTI_ALGO, parsed. Syntax (NCCL_ALGO's, plus size ranges):
//   "ring"                         every collective uses ring where it applies
//   "^rd"                          never rd
//   "allreduce:rd;allgather:ring"  per collective (allreduce, allgather, reducescatter)
//   "allreduce:0-64K:rd,64K-:ring" per size range of the call's bytes, [lo, hi), K/M/G = 2^10..
// Unnamed collectives and uncovered sizes choose by the model among the allowed algorithms.
class AlgoSpec {
 public:
  static Status parse(const std::string& text, AlgoSpec* out);

  // Algorithms allowed for (collective, bytes); empty means the spec says nothing.
  std::vector<Algorithm> allowed(Collective collective, size_t bytes) const;
  // Whether any rule could ever pick `algorithm` (to connect only the peers that may be needed).
  bool mayUse(Algorithm algorithm) const;

 private:
  struct Rule {
    int collective = -1;  // -1: any
    size_t lo = 0;
    size_t hi = SIZE_MAX;
    std::vector<Algorithm> algorithms;
  };
  std::vector<Rule> rules_;
  std::vector<Algorithm> excluded_;
};

struct Choice {
  Algorithm algorithm = Algorithm::kRing;
  double predictedUs[kNumAlgorithms] = {};      // the model's; < 0: not a candidate
  bool pinned = false;                          // TUTTI_ALGO decided, not the model
  Algorithm modelAlgorithm = Algorithm::kRing;  // the model's choice, before any tuner
  bool tuned = false;                           // a tuner plugin adjusted the costs (tunedUs)
  double tunedUs[kNumAlgorithms] = {};          // the costs after the tuner; < 0: not a candidate
};

class Tuner;  // algo/tuner.h

// The cheapest allowed algorithm that applies; ring when nothing else does. With a tuner, the
// model's predictions go through the tuner plugin first (Tuner::adjust) and the cheapest of its
// costs wins; TUTTI_ALGO pins win over the tuner (it is not consulted where a rule covers the
// call), and the tuner can only re-rank or remove the allowed candidates, never add one.
Choice chooseAlgorithm(const AlgoSpec& spec, Collective collective, int nranks, size_t bytes,
                       const ClusterCost& cost, Tuner* tuner = nullptr,
                       const HostShape& hosts = HostShape());
inline Choice chooseAlgorithm(const AlgoSpec& spec, Collective collective, int nranks, size_t bytes,
                              const LinkCost& cost, Tuner* tuner = nullptr,
                              const HostShape& hosts = HostShape()) {
  return chooseAlgorithm(spec, collective, nranks, bytes, uniformCost(cost), tuner, hosts);
}

// The plan for a choice (ring where the chosen algorithm cannot make one).
// hostOfRank: host index per rank (tree follows it); empty = every rank on one host.
Plan makePlan(Algorithm algorithm, Collective collective, int nranks, int rank, size_t count,
              const std::vector<int>& hostOfRank = {});

// Every peer `rank` may exchange messages with under the algorithms the spec allows: the
// communicator connects these at init. Symmetric, sorted, without `rank`.
std::vector<int> neededPeers(const AlgoSpec& spec, int nranks, int rank,
                             const std::vector<int>& hostOfRank = {});

}  // namespace tutti
