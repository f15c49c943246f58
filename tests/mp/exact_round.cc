#include "mp/exact_round.h"

#include <cstdio>
#include <vector>

#include "testing/exact_data.h"

namespace tutti::test {

long exactRound(tuttiComm_t comm, int rank, int nranks) {
  long wrong = 0;
  for (size_t count : {size_t{5}, size_t{(1u << 20) + 7}}) {
    std::vector<float> send(count * nranks), recv(count * nranks), expected(count * nranks);
    fillContributions(send.data(), tuttiFloat32, tuttiSum, nranks, rank, 0, send.size());
    for (size_t i = 0; i < count; ++i) {
      expectedReduction(&expected[i], tuttiFloat32, tuttiSum, nranks, i);
    }
    if (tuttiAllReduce(send.data(), recv.data(), count, tuttiFloat32, tuttiSum, comm, nullptr) !=
        tuttiSuccess) {
      std::fprintf(stderr, "rank %d: all-reduce failed: %s\n", rank, tuttiGetLastError(comm));
      return -1;
    }
    wrong += static_cast<long>(
        countMismatches(recv.data(), expected.data(), count, tuttiFloat32, nullptr));
    if (tuttiReduceScatter(send.data(), recv.data(), count, tuttiFloat32, tuttiSum, comm,
                           nullptr) != tuttiSuccess) {
      return -1;
    }
    for (size_t i = 0; i < count; ++i) {
      expectedReduction(&expected[i], tuttiFloat32, tuttiSum, nranks, rank * count + i);
    }
    wrong += static_cast<long>(
        countMismatches(recv.data(), expected.data(), count, tuttiFloat32, nullptr));
    if (tuttiAllGather(send.data(), recv.data(), count, tuttiFloat32, comm, nullptr) !=
        tuttiSuccess) {
      return -1;
    }
    for (int r = 0; r < nranks; ++r) {
      fillContributions(&expected[r * count], tuttiFloat32, tuttiSum, nranks, r, 0, count);
    }
    wrong += static_cast<long>(
        countMismatches(recv.data(), expected.data(), count * nranks, tuttiFloat32, nullptr));
  }
  if (wrong != 0) std::fprintf(stderr, "rank %d: %ld wrong elements\n", rank, wrong);
  return wrong;
}

}  // namespace tutti::test
