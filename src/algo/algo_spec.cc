#include "algo/algo_spec.h"

#include <algorithm>
#include <cctype>

#include "algo/p2p_choice.h"

namespace tutti {
namespace {

constexpr Collective kAllCollectives[] = {Collective::kAllReduce,     Collective::kAllGather,
                                          Collective::kReduceScatter, Collective::kBroadcast,
                                          Collective::kReduce,        Collective::kAllToAll,
                                          Collective::kGather,        Collective::kScatter};

std::string lowered(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  for (char c : text) {
    if (c == separator) {
      parts.push_back(part);
      part.clear();
    } else {
      part += c;
    }
  }
  parts.push_back(part);
  return parts;
}

// NCCL spells collectives without underscores; accept both.
int parseCollective(const std::string& name) {
  if (name == "allreduce" || name == "all_reduce") return static_cast<int>(Collective::kAllReduce);
  if (name == "allgather" || name == "all_gather") return static_cast<int>(Collective::kAllGather);
  if (name == "reducescatter" || name == "reduce_scatter") {
    return static_cast<int>(Collective::kReduceScatter);
  }
  for (Collective collective : kAllCollectives) {
    if (name == collectiveName(collective)) return static_cast<int>(collective);
  }
  return -1;
}

bool parseBytes(const std::string& text, size_t* out) {
  if (text.empty()) return false;
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 18) return false;
  size_t value = std::stoull(text.substr(0, digits));
  std::string unit = text.substr(digits);
  int shift = unit.empty() ? 0 : unit == "k" ? 10 : unit == "m" ? 20 : unit == "g" ? 30 : -1;
  if (shift < 0 || (shift > 0 && value > (SIZE_MAX >> shift))) return false;
  *out = value << shift;
  return true;
}

// "ring, rd, tree": the table's names, for error messages.
std::string algorithmNameList() {
  std::string names;
  for (const RegisteredAlgorithm& a : algorithmTable()) {
    names += (names.empty() ? "" : ", ") + std::string(a.entry->name);
  }
  return names;
}

Status parseAlgorithmList(const std::string& spec, const std::string& text,
                          std::vector<Algorithm>* out, std::vector<P2pAlgorithm>* p2p) {
  for (const std::string& name : split(text, '/')) {
    if (std::optional<P2pAlgorithm> p2pAlgorithm = parseP2pAlgorithm(name)) {
      p2p->push_back(*p2pAlgorithm);
      continue;
    }
    std::optional<Algorithm> algorithm = parseAlgorithm(name);
    if (!algorithm) {
      return makeError(tuttiInvalidArgument,
                       "TUTTI_ALGO='{}': unknown algorithm '{}' (have: {}; device buffers on one "
                       "host: oneshot, twoshot)",
                       spec, name, algorithmNameList());
    }
    out->push_back(*algorithm);
  }
  return Status::ok();
}

}  // namespace

Status AlgoSpec::parse(const std::string& text, AlgoSpec* out) {
  AlgoSpec spec;
  std::string body = lowered(text);
  if (body.empty()) {
    *out = spec;
    return Status::ok();
  }
  if (body[0] == '^') {
    for (const std::string& part : split(body.substr(1), ',')) {
      TUTTI_RETURN_IF_ERROR(parseAlgorithmList(text, part, &spec.excluded_, &spec.p2pExcluded_));
    }
    if (std::none_of(algorithmTable().begin(), algorithmTable().end(),
                     [&](const RegisteredAlgorithm& a) { return spec.mayUse(a.id); })) {
      return makeError(tuttiInvalidArgument, "TUTTI_ALGO='{}' excludes every algorithm", text);
    }
    *out = spec;
    return Status::ok();
  }
  for (const std::string& clause : split(body, ';')) {
    if (clause.empty()) continue;
    std::vector<std::string> head = split(clause, ':');
    int collective = -1;
    std::string rest = clause;
    const bool startsWithRange =
        !head[0].empty() && std::isdigit(static_cast<unsigned char>(head[0][0]));
    if (head.size() >= 2 && !startsWithRange) {
      collective = parseCollective(head[0]);
      if (collective < 0) {
        return makeError(tuttiInvalidArgument,
                         "TUTTI_ALGO='{}': unknown collective '{}' (have: allreduce, allgather, "
                         "reducescatter, broadcast, reduce, alltoall, gather, scatter)",
                         text, head[0]);
      }
      rest = clause.substr(head[0].size() + 1);
    }
    for (const std::string& item : split(rest, ',')) {
      Rule rule;
      rule.collective = collective;
      std::vector<std::string> range = split(item, ':');
      std::string names = item;
      if (range.size() == 2) {
        std::vector<std::string> bounds = split(range[0], '-');
        bool ok = bounds.size() == 2 && parseBytes(bounds[0], &rule.lo) &&
                  (bounds[1].empty() || parseBytes(bounds[1], &rule.hi)) && rule.lo < rule.hi;
        if (!ok) {
          return makeError(tuttiInvalidArgument,
                           "TUTTI_ALGO='{}': bad size range '{}' (want LO-HI or LO-, bytes with "
                           "optional K/M/G, LO < HI)",
                           text, range[0]);
        }
        names = range[1];
      } else if (range.size() > 2) {
        return makeError(tuttiInvalidArgument, "TUTTI_ALGO='{}': cannot read '{}'", text, item);
      }
      TUTTI_RETURN_IF_ERROR(parseAlgorithmList(text, names, &rule.algorithms, &rule.p2p));
      spec.rules_.push_back(rule);
    }
  }
  *out = spec;
  return Status::ok();
}

template <typename T>
std::vector<T> AlgoSpec::collect(Collective collective, size_t bytes,
                                 std::vector<T> Rule::*list) const {
  std::vector<T> result;
  for (const Rule& rule : rules_) {
    if ((rule.collective < 0 || rule.collective == static_cast<int>(collective)) &&
        bytes >= rule.lo && bytes < rule.hi) {
      for (T a : rule.*list) {
        if (std::find(result.begin(), result.end(), a) == result.end()) result.push_back(a);
      }
    }
  }
  return result;
}

std::vector<Algorithm> AlgoSpec::allowed(Collective collective, size_t bytes) const {
  return collect(collective, bytes, &Rule::algorithms);
}

bool AlgoSpec::mayUse(Algorithm algorithm) const {
  if (std::find(excluded_.begin(), excluded_.end(), algorithm) != excluded_.end()) return false;
  for (const Rule& rule : rules_) {
    if (std::find(rule.algorithms.begin(), rule.algorithms.end(), algorithm) !=
        rule.algorithms.end()) {
      return true;
    }
  }
  // Sizes no rule covers are the model's to choose, among every algorithm.
  for (Collective collective : kAllCollectives) {
    std::vector<std::pair<size_t, size_t>> ranges;
    for (const Rule& rule : rules_) {
      // A rule naming only p2p algorithms leaves its sizes to the model.
      if (!rule.algorithms.empty() &&
          (rule.collective < 0 || rule.collective == static_cast<int>(collective))) {
        ranges.emplace_back(rule.lo, rule.hi);
      }
    }
    std::sort(ranges.begin(), ranges.end());
    size_t covered = 0;
    for (auto [lo, hi] : ranges) {
      if (lo > covered) break;
      covered = std::max(covered, hi);
    }
    if (covered != SIZE_MAX) return true;
  }
  return false;
}

std::vector<P2pAlgorithm> AlgoSpec::allowedP2p(Collective collective, size_t bytes) const {
  return collect(collective, bytes, &Rule::p2p);
}

bool AlgoSpec::excludesP2p(P2pAlgorithm algorithm) const {
  return std::find(p2pExcluded_.begin(), p2pExcluded_.end(), algorithm) != p2pExcluded_.end();
}

bool AlgoSpec::mayUseP2p() const {
  if (excludesP2p(P2pAlgorithm::kOneShot) && excludesP2p(P2pAlgorithm::kTwoShot)) return false;
  return rules_.empty() ||
         std::any_of(rules_.begin(), rules_.end(), [](const Rule& r) { return !r.p2p.empty(); });
}

}  // namespace tutti
