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
    case Collective::kScatter:
      return {total / n, total / n * n, total / n};
    case Collective::kBroadcast:
    case Collective::kReduce:
    case Collective::kSendRecv:
      return {total, total, total};
    case Collective::kAllToAll:
      return {total / n, total / n * n, total / n * n};
    case Collective::kGather:
      return {total / n, total / n, total / n * n};
  }
  return {};
}

double busBandwidthFactor(Collective collective, int nranks) {
  const double n = nranks;
  switch (collective) {
    case Collective::kAllReduce:
      return 2.0 * (n - 1) / n;
    case Collective::kBroadcast:
    case Collective::kReduce:
    case Collective::kSendRecv:
      return 1.0;
    default:
      return (n - 1) / n;
  }
}

const char* busBandwidthFactorText(Collective collective) {
  switch (collective) {
    case Collective::kAllReduce:
      return "2(n-1)/n";
    case Collective::kBroadcast:
    case Collective::kReduce:
    case Collective::kSendRecv:
      return "1";
    default:
      return "(n-1)/n";
  }
}

}  // namespace tutti::test
