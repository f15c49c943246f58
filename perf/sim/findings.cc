#include "perf/sim/findings.h"

namespace tutti::sim {

void Checker::require(bool ok, const std::string& what) {
  ++findings_->checks;
  if (!ok) findings_->errors.add(context() + what);
}

void Checker::bound(bool ok, double price, const std::string& what) {
  ++findings_->checks;
  if (ok) return;
  if (price == 0) {
    findings_->warnings.add(context() + what + " (priced at 0 here: no effect on time)");
  } else {
    findings_->errors.add(context() + what);
  }
}

std::string Checker::context() const {
  return fmt::format("{} {} {} B: ", collectiveName(collective_), algorithmName(algorithm_),
                     call_.bytes);
}

}  // namespace tutti::sim
