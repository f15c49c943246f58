#include "algo/cost_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "base/params.h"

namespace tutti {
namespace {

constexpr int kVersion = 1;
constexpr const char* kHeaderWord = "tutti-costs";
constexpr const char* kFieldNames =
    "transport, ranks, cpus, alpha_us, beta_ns_per_byte, gamma_ns_per_byte, rendezvous_bytes, "
    "rendezvous_alpha_us";

std::string trimmed(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

// The checks a value must pass both when read and when written, so that whatever
// storeCostEntry writes parses again. Empty: fine; else what is wrong, for a message.
std::string transportProblem(const std::string& transport) {
  if (transport.empty()) return "the transport is empty";
  if (transport.find_first_of(" \t\r\n=#") != std::string::npos) {
    return "a transport may not hold spaces, '=' or '#'";
  }
  return "";
}

std::string countProblem(int value) { return value >= 1 ? "" : "want an integer >= 1"; }

std::string costProblem(double value) {
  return std::isfinite(value) && value >= 0 ? "" : "want a finite number >= 0";
}

std::string keyText(const CostKey& key) {
  return fmt::format("transport={} ranks={} cpus={}", key.transport, key.ranks, key.cpus);
}

Status checkEntry(const CostEntry& entry) {
  const LinkCost& cost = entry.cost;
  const std::pair<const char*, std::string> problems[] = {
      {"transport", transportProblem(entry.key.transport)},
      {"ranks", countProblem(entry.key.ranks)},
      {"cpus", countProblem(entry.key.cpus)},
      {"alpha_us", costProblem(cost.alphaUs)},
      {"beta_ns_per_byte", costProblem(cost.betaNsPerByte)},
      {"gamma_ns_per_byte", costProblem(cost.gammaNsPerByte)},
      {"rendezvous_alpha_us", costProblem(cost.rendezvousAlphaUs)},
  };
  for (const auto& [field, problem] : problems) {
    if (!problem.empty()) {
      return makeError(tuttiInvalidArgument, "cost entry {}: {}: {}", keyText(entry.key), field,
                       problem);
    }
  }
  return Status::ok();
}

bool parseInt(const std::string& text, long long* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = value;
  return true;
}

bool parseDouble(const std::string& text, double* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (*end != '\0') return false;
  *out = value;
  return true;
}

// One `cost` line's fields (the words after "cost") into an entry; messages name the field.
Status parseEntryFields(const std::vector<std::string>& fields, CostEntry* entry) {
  std::vector<std::string> seen;
  bool haveRendezvousBytes = false;
  bool haveRendezvousAlpha = false;
  for (const std::string& field : fields) {
    const size_t equals = field.find('=');
    if (equals == std::string::npos) {
      return makeError(tuttiInvalidArgument, "'{}' is not field=value", field);
    }
    const std::string name = field.substr(0, equals);
    const std::string value = field.substr(equals + 1);
    for (const std::string& earlier : seen) {
      if (earlier == name) return makeError(tuttiInvalidArgument, "field '{}' given twice", name);
    }
    seen.push_back(name);
    std::string problem;
    long long integer = 0;
    double number = 0;
    if (name == "transport") {
      entry->key.transport = value;
      problem = transportProblem(value);
    } else if (name == "ranks" || name == "cpus") {
      const bool ok = parseInt(value, &integer) && integer >= 1 && integer <= 1 << 30;
      (name == "ranks" ? entry->key.ranks : entry->key.cpus) = static_cast<int>(integer);
      problem = ok ? "" : countProblem(0);
    } else if (name == "rendezvous_bytes") {
      const bool ok = parseInt(value, &integer) && integer >= 1;
      entry->cost.rendezvousBytes = static_cast<size_t>(integer);
      haveRendezvousBytes = true;
      problem = ok ? "" : "want an integer >= 1";
    } else {
      double* target = name == "alpha_us"              ? &entry->cost.alphaUs
                       : name == "beta_ns_per_byte"    ? &entry->cost.betaNsPerByte
                       : name == "gamma_ns_per_byte"   ? &entry->cost.gammaNsPerByte
                       : name == "rendezvous_alpha_us" ? &entry->cost.rendezvousAlphaUs
                                                       : nullptr;
      if (target == nullptr) {
        return makeError(tuttiInvalidArgument, "unknown field '{}' (fields: {})", name,
                         kFieldNames);
      }
      haveRendezvousAlpha = haveRendezvousAlpha || name == "rendezvous_alpha_us";
      problem = parseDouble(value, &number) ? costProblem(number) : costProblem(-1);
      *target = number;
    }
    if (!problem.empty()) {
      return makeError(tuttiInvalidArgument, "{}='{}': {}", name, value, problem);
    }
  }
  for (const char* required : {"transport", "ranks", "cpus"}) {
    if (std::find(seen.begin(), seen.end(), required) == seen.end()) {
      return makeError(tuttiInvalidArgument, "missing key field '{}'", required);
    }
  }
  for (const char* required : {"alpha_us", "beta_ns_per_byte", "gamma_ns_per_byte"}) {
    if (std::find(seen.begin(), seen.end(), required) == seen.end()) {
      return makeError(tuttiInvalidArgument, "missing field '{}'", required);
    }
  }
  if (haveRendezvousBytes != haveRendezvousAlpha) {
    return makeError(tuttiInvalidArgument,
                     "rendezvous_bytes and rendezvous_alpha_us come together or not at all");
  }
  return Status::ok();
}

Status makeDirectories(const std::string& dir) {
  if (dir.empty()) return Status::ok();
  for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    const std::string prefix = dir.substr(0, slash);
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return systemError("creating directory " + prefix, errno);
    }
    if (slash == std::string::npos) break;
  }
  struct stat info;
  if (stat(dir.c_str(), &info) != 0) return systemError("directory " + dir, errno);
  if (!S_ISDIR(info.st_mode)) {
    return makeError(tuttiSystemError, "{} exists and is not a directory", dir);
  }
  return Status::ok();
}

Status writeAll(int fd, const std::string& text, const std::string& path) {
  for (size_t done = 0; done < text.size();) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return systemError("writing " + path, errno);
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) return systemError("writing " + path, errno);
  return Status::ok();
}

}  // namespace

std::string costEntryLine(const CostEntry& entry) {
  const LinkCost& cost = entry.cost;
  std::string line =
      fmt::format("cost {} alpha_us={} beta_ns_per_byte={} gamma_ns_per_byte={}",
                  keyText(entry.key), cost.alphaUs, cost.betaNsPerByte, cost.gammaNsPerByte);
  if (cost.rendezvousBytes != SIZE_MAX) {
    line += fmt::format(" rendezvous_bytes={} rendezvous_alpha_us={}", cost.rendezvousBytes,
                        cost.rendezvousAlphaUs);
  }
  std::string comment = entry.comment;
  for (char& c : comment) {
    if (c == '\n' || c == '\r') c = ' ';  // the comment must stay on the entry's line
  }
  comment = trimmed(comment);
  if (!comment.empty()) line += " # " + comment;
  return line;
}

std::string serializeCosts(const std::vector<CostEntry>& entries) {
  std::string text = fmt::format(
      "{} {}\n# The cost model's constants per (transport, ranks on the machine, CPUs): alpha "
      "per message round (us), beta per byte sent (ns), gamma per byte reduced (ns).\n",
      kHeaderWord, kVersion);
  for (const CostEntry& entry : entries) text += costEntryLine(entry) + "\n";
  return text;
}

Status parseCosts(const std::string& text, std::vector<CostEntry>* out) {
  std::vector<CostEntry> entries;
  std::vector<int> entryLines;
  bool haveHeader = false;
  std::istringstream in(text);
  int lineNumber = 0;
  for (std::string line; std::getline(in, line);) {
    ++lineNumber;
    const size_t hash = line.find('#');
    const std::string comment = hash == std::string::npos ? "" : trimmed(line.substr(hash + 1));
    const std::vector<std::string> tokens = words(line.substr(0, hash));
    if (tokens.empty()) continue;
    if (!haveHeader) {
      long long version = 0;
      if (tokens[0] != kHeaderWord || tokens.size() != 2 || !parseInt(tokens[1], &version) ||
          version < 1) {
        return makeError(tuttiInvalidArgument,
                         "line {}: want the header '{} {}' before anything else", lineNumber,
                         kHeaderWord, kVersion);
      }
      if (version > kVersion) {
        return makeError(tuttiInvalidArgument,
                         "line {}: version {} is newer than this Tutti reads ({})", lineNumber,
                         version, kVersion);
      }
      haveHeader = true;
      continue;
    }
    if (tokens[0] != "cost") {
      return makeError(tuttiInvalidArgument, "line {}: unknown record '{}' (want 'cost')",
                       lineNumber, tokens[0]);
    }
    CostEntry entry;
    entry.comment = comment;
    Status status = parseEntryFields({tokens.begin() + 1, tokens.end()}, &entry);
    if (!status.isOk()) {
      return makeError(tuttiInvalidArgument, "line {}: {}", lineNumber, status.message());
    }
    for (size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].key == entry.key) {
        return makeError(tuttiInvalidArgument, "line {}: entry {} repeats line {}", lineNumber,
                         keyText(entry.key), entryLines[i]);
      }
    }
    entries.push_back(entry);
    entryLines.push_back(lineNumber);
  }
  if (!haveHeader) {
    return makeError(tuttiInvalidArgument, "no header line '{} {}'", kHeaderWord, kVersion);
  }
  *out = std::move(entries);
  return Status::ok();
}

std::optional<LinkCost> findCost(const std::vector<CostEntry>& entries, const CostKey& key) {
  for (const CostEntry& entry : entries) {
    if (entry.key == key) return entry.cost;
  }
  return std::nullopt;
}

std::string defaultCostFilePath() {
  if (const char* file = paramEnv("TUTTI_COST_FILE")) return file;
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/tutti/costs";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') return std::string(home) + "/.config/tutti/costs";
  return "";
}

Status loadCostFile(const std::string& path, std::vector<CostEntry>* out) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    out->clear();
    return Status::ok();
  }
  if (fd < 0) return systemError("cost file " + path, errno);
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status error = systemError("reading cost file " + path, errno);
      close(fd);
      return error;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return parseCosts(text, out).withContext("cost file " + path);
}

Status storeCostEntry(const std::string& path, const CostEntry& entry) {
  if (path.empty()) return makeError(tuttiInvalidArgument, "no cost file path");
  TUTTI_RETURN_IF_ERROR(checkEntry(entry));
  std::vector<CostEntry> entries;
  TUTTI_RETURN_IF_ERROR(loadCostFile(path, &entries).withContext("not rewriting it"));
  bool replaced = false;
  for (CostEntry& existing : entries) {
    if (existing.key == entry.key) {
      existing = entry;
      replaced = true;
    }
  }
  if (!replaced) entries.push_back(entry);
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    TUTTI_RETURN_IF_ERROR(makeDirectories(path.substr(0, slash)));
  }
  // Beside the file, so that the rename stays on one file system and readers see the old file
  // or the new one, never half of one.
  const std::string temporary = fmt::format("{}.tmp.{}", path, getpid());
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return systemError("creating " + temporary, errno);
  Status status = writeAll(fd, serializeCosts(entries), temporary);
  if (close(fd) != 0 && status.isOk()) status = systemError("writing " + temporary, errno);
  if (status.isOk() && rename(temporary.c_str(), path.c_str()) != 0) {
    status = systemError("renaming " + temporary + " to " + path, errno);
  }
  if (!status.isOk()) unlink(temporary.c_str());
  return status;
}

}  // namespace tutti
