// Operations as objects: several asynchronous collectives in flight on the progress thread, run
// in the order issued; a blocking call after them queues behind them; destroy with the thread
// running. Exact results throughout.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "core/comm.h"
#include "mp/harness.h"

namespace tutti::test {
namespace {

int32_t value(int rank, size_t call, size_t i) {
  return static_cast<int32_t>((rank + 1) * 1000 + call * 7 + i % 97);
}

int32_t expectedSum(int nranks, size_t call, size_t i) {
  int32_t sum = 0;
  for (int r = 0; r < nranks; ++r) sum += value(r, call, i);
  return sum;
}

TEST(OperationsTest, AsynchronousCollectivesRunInIssueOrderWithExactResults) {
  LaunchResult result = runRanks(3, [&](int rank, int nranks, const tuttiUniqueId& id) {
    tuttiComm_t comm = initComm(rank, nranks, id);
    if (comm == nullptr) return 1;
    tuttiComm* internal = liveComm(comm);
    // Counts of every class: 0, 1, a prime, one not divisible by the ranks, a large one.
    const std::vector<size_t> counts = {0, 1, 131, 1000, 300007, 5};
    std::vector<std::vector<int32_t>> send(counts.size()), recv(counts.size());
    std::vector<std::shared_ptr<Operation>> operations;
    {
      std::lock_guard<std::mutex> lock(internal->callMutex);
      for (size_t c = 0; c < counts.size(); ++c) {
        send[c].resize(counts[c]);
        recv[c].assign(counts[c], -1);
        for (size_t i = 0; i < counts[c]; ++i) send[c][i] = value(rank, c, i);
        std::shared_ptr<Operation> operation;
        CollectiveArgs args{Collective::kAllReduce,
                            send[c].data(),
                            recv[c].data(),
                            counts[c],
                            tuttiInt32,
                            tuttiSum};
        if (!issueCollective(internal, args, &operation).isOk()) return 2;
        operations.push_back(operation);
      }
    }
    // A blocking call issued now runs after the queued ones (the same order on every rank).
    std::vector<int32_t> blockingIn(777), blockingOut(777, -1);
    for (size_t i = 0; i < blockingIn.size(); ++i) blockingIn[i] = value(rank, 99, i);
    if (tuttiAllReduce(blockingIn.data(), blockingOut.data(), blockingIn.size(), tuttiInt32,
                       tuttiSum, comm, nullptr) != tuttiSuccess) {
      return 3;
    }
    for (size_t c = 0; c < operations.size(); ++c) {
      if (!operations[c]->done()) return 4;  // the blocking call ran after it
      Status status = operations[c]->wait(1000);
      if (!status.isOk()) {
        std::fprintf(stderr, "operation %zu: %s\n", c, status.message().c_str());
        return 5;
      }
      if (operations[c]->sequence() != c + 1) return 6;
      for (size_t i = 0; i < counts[c]; ++i) {
        if (recv[c][i] != expectedSum(nranks, c, i)) return 7;
      }
    }
    for (size_t i = 0; i < blockingOut.size(); ++i) {
      if (blockingOut[i] != expectedSum(nranks, 99, i)) return 8;
    }
    // Issue more and destroy without waiting: destroy lets the running one finish.
    std::shared_ptr<Operation> last;
    {
      std::lock_guard<std::mutex> lock(internal->callMutex);
      CollectiveArgs args{
          Collective::kAllReduce, send[2].data(), recv[2].data(), counts[2], tuttiInt32, tuttiSum};
      if (!issueCollective(internal, args, &last).isOk()) return 9;
    }
    if (!last->wait(60000).isOk()) return 10;
    return tuttiCommDestroy(comm) == tuttiSuccess ? 0 : 11;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

TEST(OperationsTest, AFailedOperationMakesLaterOnesFailToo) {
  LaunchResult result = runRanks(2, [&](int rank, int nranks, const tuttiUniqueId& id) {
    tuttiComm_t comm = initComm(rank, nranks, id, /*timeoutMs=*/2000);
    if (comm == nullptr) return 1;
    tuttiComm* internal = liveComm(comm);
    std::vector<int32_t> data(1000, rank);
    std::vector<std::shared_ptr<Operation>> operations(2);
    if (rank == 1) {
      // Rank 1 issues nothing: rank 0's first operation times out, its second fails on the
      // sticky error without waiting again.
      sleep(4);
      tuttiCommDestroy(comm);
      return 0;
    }
    {
      std::lock_guard<std::mutex> lock(internal->callMutex);
      for (auto& operation : operations) {
        CollectiveArgs args{
            Collective::kAllReduce, data.data(), data.data(), data.size(), tuttiInt32, tuttiSum};
        if (!issueCollective(internal, args, &operation).isOk()) return 2;
      }
    }
    Status first = operations[0]->wait(10000);
    Status second = operations[1]->wait(10000);
    tuttiCommDestroy(comm);
    if (first.code() != tuttiTimeout) {
      std::fprintf(stderr, "first: %s\n", first.message().c_str());
      return 3;
    }
    return second.code() == tuttiTimeout ? 0 : 4;
  });
  EXPECT_TRUE(result.ok) << result.failure;
}

}  // namespace
}  // namespace tutti::test
