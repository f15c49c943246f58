// Gloo side of perf/compare: ring, ring-chunked and halving-doubling all-reduce and ring
// all-gather on float32 over Gloo's TCP transport on loopback, with tutti-perf's size and timing
// rules (time = mean over ranks). Rendezvous through a FileStore directory. Prints per size:
//   RESULT <collective> gloo_<algorithm> <bytes> <time_us>
// Usage: gloo_bench RANK NRANKS STORE_DIR all_reduce|all_gather ring|ring_chunked|halving_doubling
//                   MINBYTES MAXBYTES FACTOR ITERS WARMUP
#include <gloo/allgather_ring.h>
#include <gloo/allreduce_halving_doubling.h>
#include <gloo/allreduce_ring.h>
#include <gloo/allreduce_ring_chunked.h>
#include <gloo/barrier_all_to_all.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/transport/tcp/device.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 11) {
    std::fprintf(stderr, "usage: see the comment at the top of gloo_bench.cc\n");
    return 2;
  }
  const int rank = std::atoi(argv[1]);
  const int nranks = std::atoi(argv[2]);
  const std::string storeDir = argv[3];
  const std::string coll = argv[4];
  const std::string algo = argv[5];
  const size_t minBytes = std::strtoull(argv[6], nullptr, 10);
  const size_t maxBytes = std::strtoull(argv[7], nullptr, 10);
  const size_t factor = std::strtoull(argv[8], nullptr, 10);
  const int iters = std::atoi(argv[9]);
  const int warmup = std::atoi(argv[10]);

  gloo::transport::tcp::attr attr("127.0.0.1");
  auto device = gloo::transport::tcp::CreateDevice(attr);
  gloo::rendezvous::FileStore store(storeDir);
  auto context = std::make_shared<gloo::rendezvous::Context>(rank, nranks);
  context->connectFullMesh(store, device);

  std::vector<float> send(maxBytes / sizeof(float) + 16, 0.0f);
  std::vector<float> recv(maxBytes / sizeof(float) + 16, 0.0f);
  for (size_t bytes = minBytes; bytes <= maxBytes; bytes *= factor) {
    const int total = static_cast<int>(bytes / sizeof(float));
    const int part = total / nranks;
    std::unique_ptr<gloo::Algorithm> op;
    size_t reported = bytes;
    if (coll == "all_gather") {
      op.reset(new gloo::AllgatherRing<float>(context, {send.data()}, recv.data(), part));
      reported = static_cast<size_t>(part) * nranks * sizeof(float);
    } else if (algo == "ring") {
      op.reset(new gloo::AllreduceRing<float>(context, {send.data()}, total));
    } else if (algo == "ring_chunked") {
      op.reset(new gloo::AllreduceRingChunked<float>(context, {send.data()}, total));
    } else {
      op.reset(new gloo::AllreduceHalvingDoubling<float>(context, {send.data()}, total));
    }
    for (int i = 0; i < warmup; ++i) op->run();
    gloo::BarrierAllToAll(context).run();
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) op->run();
    double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                    .count() /
                iters;
    gloo::AllreduceRing<double>(context, {&us}, 1).run();
    if (rank == 0) {
      std::printf("RESULT %s gloo_%s %zu %.3f\n", coll.c_str(), algo.c_str(), reported,
                  us / nranks);
      std::fflush(stdout);
    }
    if (factor < 2) break;
  }
  return 0;
}
