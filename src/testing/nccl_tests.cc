#include "testing/nccl_tests.h"

namespace tutti::test {

CallShape callShapeOf(Collective collective, size_t bytes, size_t typeSize, int nranks) {
  const size_t n = static_cast<size_t>(nranks);
  const size_t total = bytes / typeSize;
  switch (collective) {
    case Collective::kAllReduce:
      return {total, total, total};
    case Collective::kAllGather:
      return {total / n, total / n, total / n * n};
    case Collective::kReduceScatter:
      return {total / n, total / n * n, total / n};
  }
  return {};
}

double busBandwidthFactor(Collective collective, int nranks) {
  const double n = nranks;
  return collective == Collective::kAllReduce ? 2.0 * (n - 1) / n : (n - 1) / n;
}

const char* busBandwidthFactorText(Collective collective) {
  return collective == Collective::kAllReduce ? "2(n-1)/n" : "(n-1)/n";
}

}  // namespace tutti::test
