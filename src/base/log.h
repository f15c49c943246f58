// Logging as NCCL users know it: TUTTI_DEBUG selects the level, TUTTI_DEBUG_SUBSYS the
// subsystems, TUTTI_DEBUG_FILE the destination (%h host, %p pid). Configured once per process
// from the environment; the logger is one of the two pieces of global state (with the
// parameter defaults).
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>

namespace tutti {

enum class LogLevel : int { kNone = 0, kVersion = 1, kWarn = 2, kInfo = 3, kTrace = 4 };

enum LogSubsys : uint32_t {
  kLogInit = 1u << 0,
  kLogColl = 1u << 1,
  kLogNet = 1u << 2,
  kLogBootstrap = 1u << 3,
  kLogEnv = 1u << 4,
  kLogAlloc = 1u << 5,
  kLogAll = ~0u,
};

bool logEnabled(LogLevel level, uint32_t subsys);
void logWrite(LogLevel level, uint32_t subsys, const std::string& message);

// Parses a TUTTI_DEBUG_SUBSYS value ("INIT,NET", "^COLL"); exposed for tests.
uint32_t parseLogSubsys(const std::string& spec);
// Expands %h and %p in a TUTTI_DEBUG_FILE value; exposed for tests.
std::string expandLogPath(const std::string& pattern);

// The rank shown in log lines written by this thread (-1: none).
void setLogRank(int rank);

}  // namespace tutti

#define TUTTI_LOG(level, subsys, ...)                               \
  do {                                                              \
    if (::tutti::logEnabled(level, subsys))                         \
      ::tutti::logWrite(level, subsys, ::fmt::format(__VA_ARGS__)); \
  } while (0)
#define TUTTI_WARN(subsys, ...) TUTTI_LOG(::tutti::LogLevel::kWarn, subsys, __VA_ARGS__)
#define TUTTI_INFO(subsys, ...) TUTTI_LOG(::tutti::LogLevel::kInfo, subsys, __VA_ARGS__)
#define TUTTI_TRACE(subsys, ...) TUTTI_LOG(::tutti::LogLevel::kTrace, subsys, __VA_ARGS__)
