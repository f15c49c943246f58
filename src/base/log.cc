#include "base/log.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>

#include "tutti/tutti.h"

namespace tutti {
namespace {

struct LoggerConfig {
  LogLevel level = LogLevel::kNone;
  uint32_t subsys = kLogInit | kLogEnv;  // NCCL's default subsystems
  FILE* out = stdout;
  char host[64] = {0};
};

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

LoggerConfig& config() {
  static LoggerConfig cfg;
  static std::once_flag once;
  std::call_once(once, [] {
    gethostname(cfg.host, sizeof(cfg.host) - 1);
    if (char* dot = std::strchr(cfg.host, '.')) *dot = '\0';
    if (const char* level = std::getenv("TUTTI_DEBUG")) {
      std::string value = upper(level);
      if (value == "VERSION")
        cfg.level = LogLevel::kVersion;
      else if (value == "WARN")
        cfg.level = LogLevel::kWarn;
      else if (value == "INFO")
        cfg.level = LogLevel::kInfo;
      else if (value == "TRACE")
        cfg.level = LogLevel::kTrace;
    }
    if (const char* subsys = std::getenv("TUTTI_DEBUG_SUBSYS")) cfg.subsys = parseLogSubsys(subsys);
    if (const char* path = std::getenv("TUTTI_DEBUG_FILE")) {
      std::string expanded = expandLogPath(path);
      if (FILE* file = std::fopen(expanded.c_str(), "w")) {
        setvbuf(file, nullptr, _IOLBF, 0);
        cfg.out = file;
      }
    }
    if (cfg.level >= LogLevel::kVersion) {
      std::fprintf(cfg.out, "%s:%d:%ld TUTTI INFO Tutti version %d.%d.%d\n", cfg.host, getpid(),
                   static_cast<long>(syscall(SYS_gettid)), TUTTI_MAJOR, TUTTI_MINOR, TUTTI_PATCH);
    }
  });
  return cfg;
}

thread_local int tLogRank = -1;

const char* levelName(LogLevel level) {
  switch (level) {
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kTrace:
      return "TRACE";
    default:
      return "INFO";
  }
}

}  // namespace

uint32_t parseLogSubsys(const std::string& spec) {
  std::string text = upper(spec);
  bool invert = !text.empty() && text[0] == '^';
  if (invert) text.erase(0, 1);
  uint32_t mask = 0;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (item == "INIT")
      mask |= kLogInit;
    else if (item == "COLL")
      mask |= kLogColl;
    else if (item == "NET")
      mask |= kLogNet;
    else if (item == "BOOTSTRAP")
      mask |= kLogBootstrap;
    else if (item == "ENV")
      mask |= kLogEnv;
    else if (item == "ALLOC")
      mask |= kLogAlloc;
    else if (item == "ALL")
      mask |= kLogAll;
  }
  return invert ? ~mask : mask;
}

std::string expandLogPath(const std::string& pattern) {
  char host[64] = {0};
  gethostname(host, sizeof(host) - 1);
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size()) {
      char next = pattern[i + 1];
      if (next == 'h') {
        out += host;
        ++i;
        continue;
      }
      if (next == 'p') {
        out += std::to_string(getpid());
        ++i;
        continue;
      }
    }
    out += pattern[i];
  }
  return out;
}

void setLogRank(int rank) { tLogRank = rank; }

bool logEnabled(LogLevel level, uint32_t subsys) {
  const LoggerConfig& cfg = config();
  if (level > cfg.level) return false;
  return level == LogLevel::kWarn || (cfg.subsys & subsys) != 0;
}

void logWrite(LogLevel level, uint32_t subsys, const std::string& message) {
  LoggerConfig& cfg = config();
  std::string line =
      fmt::format("{}:{}:{} [{}] TUTTI {} {}\n", cfg.host, getpid(),
                  static_cast<long>(syscall(SYS_gettid)), tLogRank, levelName(level), message);
  std::fputs(line.c_str(), cfg.out);  // one call per line keeps lines whole across threads
}

}  // namespace tutti
