// tutti-perf's command line: nccl-tests' flags (-b -e -i -f -n -w -c -d -o -a) plus -np,
// --json, --csv, --bound, --mem-gbps, --algo, --hosts and --calibrate.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "algo/plan.h"
#include "tutti/tutti.h"

namespace tutti::perf {

// tutti-perf's collectives are the library's; the subcommands are collectiveName's spellings.
using PerfCollective = Collective;
inline Collective collectiveOf(PerfCollective collective) { return collective; }
// The root of tutti-perf's rooted calls: rank 0, as nccl-tests' default (-r 0).
constexpr int kPerfRoot = 0;

struct PerfOptions {
  PerfCollective collective = PerfCollective::kAllReduce;
  std::string collectiveName;
  size_t minBytes = 8;  // a full sweep by default, unlike nccl-tests' single 32M size
  size_t maxBytes = 32u << 20;
  size_t stepBytes = 1u << 20;
  double stepFactor = 2;
  bool linearSteps = false;  // -i without -f: add stepBytes instead of multiplying
  int iters = 20;
  int warmupIters = 5;
  int check = 1;
  int average = 1;  // 0: rank 0, 1: mean, 2: min, 3: max over ranks
  std::vector<tuttiDataType_t> types;
  std::vector<tuttiRedOp_t> ops;
  int localRanks = 2;
  bool localRanksGiven = false;
  std::string jsonPath;
  std::string csvPath;   // "-": the CSV on stdout, the table on stderr
  bool bound = false;    // --bound (or --mem-gbps): the memory-traffic bound columns
  double memGBps = 0;    // --mem-gbps; 0: measured at startup
  std::string typeText;  // -d and -o as given, for the JSON file
  std::string opText;
  bool printParams = false;
  std::vector<std::string> algos;  // --algo: "ring", "rd", "tree", "auto" in the order given
  int hosts = 0;                   // --hosts: hosts the local ranks pose as; 0: not given
  bool calibrate = false;          // --calibrate: fit the cost model's constants instead
  bool device = false;             // --device: device buffers on a stream of the device runtime
  // -R (nccl-tests' option): 0 plain device buffers; 2 in a TUTTI_WIN_COLL_SYMMETRIC window
  // registered with tuttiCommWindowRegister (nccl-tests' ncclCommWindowRegister).
  int registerMode = 0;
  std::string calibratePath;  // the cost file it writes
  std::string commandLine;    // as typed, for the cost file's comment
};

// Parses argv; on --help or an error prints the message and sets *exitCode (0 for help).
// Returns false when the program should exit.
bool parseOptions(int argc, char** argv, PerfOptions* options, int* exitCode);

// "8", "128K", "16M", "1G" (powers of 1024, as nccl-tests reads them).
bool parseSize(const std::string& text, size_t* out);

// The sizes of a sweep, as nccl-tests steps them.
std::vector<size_t> sweepSizes(const PerfOptions& options);

}  // namespace tutti::perf
