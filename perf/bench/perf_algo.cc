#include "perf/bench/perf_algo.h"

#include <algorithm>

namespace tutti::perf {

bool parseAlgoList(const std::string& text, std::vector<std::string>* names, std::string* error) {
  std::vector<std::string> parsed;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? comma : comma - start);
    std::string name = item;
    if (item != kAutoAlgo) {
      std::optional<Algorithm> algorithm = parseAlgorithm(item);
      if (!algorithm) {
        *error = "'" + text + "': unknown algorithm '" + item + "' (have: ring, rd, tree, auto)";
        return false;
      }
      name = algorithmName(*algorithm);
    }
    if (std::find(parsed.begin(), parsed.end(), name) != parsed.end()) {
      *error = "'" + text + "': " + name + " is listed twice";
      return false;
    }
    parsed.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  *names = parsed;
  return true;
}

std::string algoSpecText(const std::string& name) { return name == kAutoAlgo ? "" : name; }

const char* verdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kNone:
      return "-";
    case Verdict::kMatch:
      return "yes";
    case Verdict::kNear:
      return "near";
    case Verdict::kMiss:
      return "no";
    case Verdict::kUnmeasured:
      return "no*";
  }
  return "?";
}

void judgeRow(const std::vector<std::string>& names, bool autoIsModel, AlgoRow* row) {
  row->winner = -1;
  row->modelUs.reset();
  row->modelListed = false;
  std::optional<double> autoUs;
  for (size_t i = 0; i < names.size() && i < row->measured.size(); ++i) {
    const std::optional<Measurement>& m = row->measured[i];
    if (!m) continue;
    if (names[i] == kAutoAlgo) {
      autoUs = m->timeUs;
      continue;
    }
    if (row->winner < 0 || m->timeUs < row->measured[row->winner]->timeUs) {
      row->winner = static_cast<int>(i);
    }
    if (names[i] == algorithmName(row->model)) {
      row->modelUs = m->timeUs;
      row->modelListed = true;
    }
  }
  if (!row->modelUs && autoIsModel) row->modelUs = autoUs;
  if (row->pinned || row->winner < 0) {
    row->verdict = Verdict::kNone;
  } else if (names[row->winner] == algorithmName(row->model)) {
    row->verdict = Verdict::kMatch;
  } else if (!row->modelUs) {
    row->verdict = Verdict::kUnmeasured;
  } else {
    const double winnerUs = row->measured[row->winner]->timeUs;
    row->verdict =
        *row->modelUs <= winnerUs * (1 + kNearFraction) ? Verdict::kNear : Verdict::kMiss;
  }
}

AlgoSummary summarize(const std::vector<AlgoRow>& rows) {
  AlgoSummary summary;
  for (const AlgoRow& row : rows) {
    summary.pinned += row.pinned ? 1 : 0;
    if (row.verdict == Verdict::kNone) continue;
    ++summary.compared;
    summary.matched += row.verdict == Verdict::kMatch ? 1 : 0;
    summary.near += row.verdict == Verdict::kMatch || row.verdict == Verdict::kNear ? 1 : 0;
    summary.unmeasured += row.verdict == Verdict::kUnmeasured ? 1 : 0;
    summary.unlisted += row.modelListed ? 0 : 1;
  }
  return summary;
}

}  // namespace tutti::perf
