// tutti-reduce-bench: throughput of the host reductions (src/exec/reduce_kernels.h) per data
// type and instruction set, next to memcpy, out of cache and in cache.
//
// For each buffer size (bytes per buffer; default 64 MiB, far beyond the caches, and 256 KiB,
// within L2), each type with op sum (float32 with max too), it times dst = a op b over separate
// buffers with every instruction set this CPU runs, and memcpy(dst, a) of the same bytes. The
// candidates of a row take turns, run after run, so that a noisy machine slows them alike; each
// run makes enough passes to last about 20 ms. Printed, per row, medians over --runs runs:
//   G elem/s     elements of dst per second, 1e9
//   GB/s         memory traffic: bytes read plus bytes written per second, 1e9 (3 x the buffer
//                for a reduction, 2 x for memcpy), as perf/compare/mem_limits.c counts it
//   memcpy GB/s  memcpy's traffic, timed in the same turns
//   vs memcpy    the reduction's GB/s over memcpy's
//
// Usage: tutti-reduce-bench [--runs N] [--size BYTES]... [--type NAME]... [--isa NAME]...
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "exec/datatype.h"
#include "exec/reduce.h"
#include "exec/reduce_kernels.h"

namespace tutti {
namespace {

struct BenchOptions {
  int runs = 7;
  std::vector<size_t> sizes;
  std::vector<tuttiDataType_t> types;
  std::vector<std::string> isas;
};

void printUsage() {
  printf(
      "usage: tutti-reduce-bench [--runs N] [--size BYTES]... [--type NAME]... [--isa NAME]...\n"
      "  --runs N      timed runs per row; the median is printed (default 7)\n"
      "  --size BYTES  bytes per buffer, suffix K or M allowed (default 64M and 256K)\n"
      "  --type NAME   a data type as tutti-perf -d names it (default: all)\n"
      "  --isa NAME    generic or avx2 (default: every one this CPU runs)\n");
}

bool parseSize(const char* text, size_t* bytes) {
  char* end = nullptr;
  const unsigned long long value = strtoull(text, &end, 10);
  if (end == text) return false;
  unsigned long long scale = 1;
  if (*end == 'K' || *end == 'k') scale = 1ull << 10, ++end;
  if (*end == 'M' || *end == 'm') scale = 1ull << 20, ++end;
  if (*end != '\0' || value == 0) return false;
  *bytes = static_cast<size_t>(value * scale);
  return true;
}

// False on --help (with *help set) or an error (message printed).
bool parseOptions(int argc, char** argv, BenchOptions* options, bool* help) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      *help = true;
      return false;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "tutti-reduce-bench: %s needs a value\n", flag.c_str());
      return false;
    }
    const char* value = argv[++i];
    if (flag == "--runs") {
      options->runs = atoi(value);
      if (options->runs < 1) {
        fprintf(stderr, "tutti-reduce-bench: --runs must be at least 1\n");
        return false;
      }
    } else if (flag == "--size") {
      size_t bytes = 0;
      if (!parseSize(value, &bytes)) {
        fprintf(stderr, "tutti-reduce-bench: bad size %s\n", value);
        return false;
      }
      options->sizes.push_back(bytes);
    } else if (flag == "--type") {
      tuttiDataType_t type;
      if (!parseDataType(value, &type)) {
        fprintf(stderr, "tutti-reduce-bench: unknown type %s\n", value);
        return false;
      }
      options->types.push_back(type);
    } else if (flag == "--isa") {
      if (!reduceIsaSupported(value)) {
        fprintf(stderr, "tutti-reduce-bench: instruction set %s unknown or not supported here\n",
                value);
        return false;
      }
      options->isas.push_back(value);
    } else {
      fprintf(stderr, "tutti-reduce-bench: unknown flag %s\n", flag.c_str());
      return false;
    }
  }
  if (options->sizes.empty()) options->sizes = {64u << 20, 256u << 10};
  if (options->types.empty()) {
    for (int type = 0; type < tuttiNumTypes; ++type) {
      options->types.push_back(static_cast<tuttiDataType_t>(type));
    }
  }
  if (options->isas.empty()) {
    for (const char* isa : kReduceIsas) {
      if (reduceIsaSupported(isa)) options->isas.push_back(isa);
    }
  }
  return true;
}

double secondsNow() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Keeps the compiler from dropping stores to memory that nothing reads afterwards.
void keepMemory(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

// Seconds per pass of each candidate: the median over `runs` runs, the candidates taking turns
// within each run, each run of enough passes to last about 20 ms.
std::vector<double> medianSecondsPerPass(int runs,
                                         const std::vector<std::function<void()>>& passes) {
  std::vector<int> passesPerRun;
  for (const auto& pass : passes) {
    const double start = secondsNow();
    pass();  // untimed: first touch, and a guess of the pass time
    const double guess = std::max(secondsNow() - start, 1e-7);
    passesPerRun.push_back(std::max(1, static_cast<int>(0.02 / guess)));
  }
  std::vector<std::vector<double>> perPass(passes.size());
  for (int run = 0; run < runs; ++run) {
    for (size_t c = 0; c < passes.size(); ++c) {
      const double start = secondsNow();
      for (int i = 0; i < passesPerRun[c]; ++i) passes[c]();
      perPass[c].push_back((secondsNow() - start) / passesPerRun[c]);
    }
  }
  std::vector<double> medians;
  for (std::vector<double>& times : perPass) {
    std::sort(times.begin(), times.end());
    medians.push_back(times[times.size() / 2]);
  }
  return medians;
}

// Ordinary values of the type: small numbers with a few fraction bits for the floating types
// (no subnormals, NaNs or overflow, which would time something else), patterns for integers.
void fillBuffer(uint8_t* bytes, size_t count, tuttiDataType_t type, uint32_t seed) {
  const size_t size = dataTypeSize(type);
  for (size_t i = 0; i < count; ++i) {
    const uint32_t mix = static_cast<uint32_t>(i) * 2654435761u + seed;
    const float value = static_cast<float>(static_cast<int>(mix % 201) - 100) / 8.0f;
    uint64_t raw = mix;
    switch (type) {
      case tuttiFloat16:
        raw = floatToHalf(value);
        break;
      case tuttiBfloat16:
        raw = floatToBf16(value);
        break;
      case tuttiFloat8e4m3:
        raw = floatToFp8e4m3(value);
        break;
      case tuttiFloat8e5m2:
        raw = floatToFp8e5m2(value);
        break;
      case tuttiFloat32:
        raw = detail::floatBits(value);
        break;
      case tuttiFloat64: {
        const double wide = value;
        memcpy(&raw, &wide, sizeof(raw));
        break;
      }
      default:
        break;
    }
    memcpy(bytes + i * size, &raw, size);  // little endian: the low bytes
  }
}

std::string sizeText(size_t bytes) {
  char text[32];
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) {
    snprintf(text, sizeof(text), "%zu MiB", bytes >> 20);
  } else {
    snprintf(text, sizeof(text), "%zu KiB", bytes >> 10);
  }
  return text;
}

int runBench(const BenchOptions& options) {
  char date[64];
  const time_t now = time(nullptr);
  strftime(date, sizeof(date), "%Y-%m-%d", localtime(&now));
  printf("# tutti-reduce-bench, %s, default instruction set %s, median of %d runs\n", date,
         reduceIsaName(), options.runs);
  printf("| size/buffer | type | op | isa | G elem/s | GB/s | memcpy GB/s | vs memcpy |\n");
  printf("|---|---|---|---|---:|---:|---:|---:|\n");
  for (size_t bytes : options.sizes) {
    std::vector<uint8_t> a(bytes), b(bytes), dst(bytes), copy(bytes);
    for (tuttiDataType_t type : options.types) {
      const size_t count = bytes / dataTypeSize(type);
      fillBuffer(a.data(), count, type, 1);
      fillBuffer(b.data(), count, type, 7);
      std::vector<tuttiRedOp_t> ops = {tuttiSum};
      if (type == tuttiFloat32) ops.push_back(tuttiMax);
      for (tuttiRedOp_t op : ops) {
        std::vector<std::function<void()>> passes;
        passes.push_back([&] {
          memcpy(copy.data(), a.data(), bytes);
          keepMemory(copy.data());
        });
        for (const std::string& isa : options.isas) {
          passes.push_back([&, isa, count, type, op] {
            reduceArraysIsa(isa.c_str(), dst.data(), a.data(), b.data(), count, type, op, 0);
          });
        }
        const std::vector<double> seconds = medianSecondsPerPass(options.runs, passes);
        const double memcpyGBps = 2.0 * bytes / seconds[0] / 1e9;
        for (size_t i = 0; i < options.isas.size(); ++i) {
          const double gbps = 3.0 * bytes / seconds[i + 1] / 1e9;
          printf("| %s | %s | %s | %s | %.2f | %.1f | %.1f | %.2f |\n", sizeText(bytes).c_str(),
                 dataTypeName(type), redOpName(op), options.isas[i].c_str(),
                 count / seconds[i + 1] / 1e9, gbps, memcpyGBps, gbps / memcpyGBps);
          fflush(stdout);
        }
      }
    }
  }
  return 0;
}

}  // namespace
}  // namespace tutti

int main(int argc, char** argv) {
  tutti::BenchOptions options;
  bool help = false;
  if (!tutti::parseOptions(argc, argv, &options, &help)) {
    tutti::printUsage();
    return help ? 0 : 2;
  }
  return tutti::runBench(options);
}
