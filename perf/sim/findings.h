// What the plan checks found: each relation counted, the ones that fail grouped by wording.
#pragma once

#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

#include "algo/plan.h"
#include "algo/select.h"
#include "perf/sim/call.h"

namespace tutti::sim {

// Problems grouped by their wording with the numbers left out (one relation, every size and
// rank it fails at): the first instance and how many there were.
struct Problems {
  struct Entry {
    std::string first;
    long count = 0;
  };
  std::vector<Entry> entries;
  std::map<std::string, size_t> byPattern;

  void add(const std::string& message) {
    std::string pattern;
    for (char c : message) {
      const bool digit = c >= '0' && c <= '9';
      if (!digit || pattern.empty() || pattern.back() != '#') pattern += digit ? '#' : c;
    }
    auto [it, inserted] = byPattern.emplace(pattern, entries.size());
    if (inserted) entries.push_back({message, 0});
    ++entries[it->second].count;
  }
  bool empty() const { return entries.empty(); }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const Entry& entry : entries) {
      out.push_back(entry.count == 1
                        ? entry.first
                        : fmt::format("{} (and {} more like it)", entry.first, entry.count - 1));
    }
    return out;
  }
};

struct Findings {
  long checks = 0;
  Problems errors;
  Problems warnings;
};

// Records the checks of one call (collective, algorithm, size) into findings.
class Checker {
 public:
  Checker(Collective collective, Algorithm algorithm, const CallShape& call, Findings* findings)
      : collective_(collective), algorithm_(algorithm), call_(call), findings_(findings) {}

  // A relation the model's derivation claims: false is an error.
  void require(bool ok, const std::string& what);
  // An upper bound the model relies on; where the term is priced at 0 in this cost, breaking it
  // cannot change a prediction: a warning.
  void bound(bool ok, double price, const std::string& what);

 private:
  std::string context() const;
  Collective collective_;
  Algorithm algorithm_;
  CallShape call_;
  Findings* findings_;
};

}  // namespace tutti::sim
