/* OpenMPI side of perf/compare: MPI_Allreduce, MPI_Allgather, MPI_Reduce_scatter_block,
 * MPI_Bcast, MPI_Reduce, MPI_Alltoall, MPI_Gather and MPI_Scatter on float32 (sums; root 0),
 * with tutti-perf's size and timing rules (nccl-tests sizes, src/testing/nccl_tests.h: the larger
 * buffer, so a per-rank block of size / nranks for all-gather, reduce-scatter, all-to-all, gather
 * and scatter; warm-up, barrier, timed loop; time = mean over ranks). Prints one line per size:
 *   RESULT <collective> mpi <bytes> <time_us>
 * Usage: mpi_bench COLLECTIVE MINBYTES MAXBYTES FACTOR ITERS WARMUP
 * with COLLECTIVE one of all_reduce all_gather reduce_scatter broadcast reduce alltoall gather
 * scatter (tutti-perf's names). OpenMPI's algorithm for a run is chosen outside, with
 * --mca coll_tuned_use_dynamic_rules 1 --mca coll_tuned_<coll>_algorithm N. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, nranks;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  if (argc != 7) {
    if (rank == 0) fprintf(stderr, "usage: %s coll min max factor iters warmup\n", argv[0]);
    MPI_Finalize();
    return 2;
  }
  const char* coll = argv[1];
  size_t minBytes = strtoull(argv[2], NULL, 10), maxBytes = strtoull(argv[3], NULL, 10);
  int factor = atoi(argv[4]), iters = atoi(argv[5]), warmup = atoi(argv[6]);
  float* send = malloc(maxBytes + 64);
  float* recv = malloc(maxBytes + 64);
  memset(send, 0, maxBytes + 64);
  memset(recv, 0, maxBytes + 64);
  double begin = 0;
  for (size_t bytes = minBytes; bytes <= maxBytes; bytes *= (size_t)factor) {
    size_t total = bytes / sizeof(float);
    size_t part = total / (size_t)nranks;
    for (int i = 0; i < warmup + iters; ++i) {
      if (i == warmup) {
        MPI_Barrier(MPI_COMM_WORLD);
        begin = MPI_Wtime();
      }
      if (strcmp(coll, "all_reduce") == 0) {
        MPI_Allreduce(send, recv, (int)total, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      } else if (strcmp(coll, "all_gather") == 0) {
        MPI_Allgather(send, (int)part, MPI_FLOAT, recv, (int)part, MPI_FLOAT, MPI_COMM_WORLD);
      } else if (strcmp(coll, "reduce_scatter") == 0) {
        MPI_Reduce_scatter_block(send, recv, (int)part, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      } else if (strcmp(coll, "broadcast") == 0) {
        MPI_Bcast(send, (int)total, MPI_FLOAT, 0, MPI_COMM_WORLD);
      } else if (strcmp(coll, "reduce") == 0) {
        MPI_Reduce(send, recv, (int)total, MPI_FLOAT, MPI_SUM, 0, MPI_COMM_WORLD);
      } else if (strcmp(coll, "alltoall") == 0) {
        MPI_Alltoall(send, (int)part, MPI_FLOAT, recv, (int)part, MPI_FLOAT, MPI_COMM_WORLD);
      } else if (strcmp(coll, "gather") == 0) {
        MPI_Gather(send, (int)part, MPI_FLOAT, recv, (int)part, MPI_FLOAT, 0, MPI_COMM_WORLD);
      } else if (strcmp(coll, "scatter") == 0) {
        MPI_Scatter(send, (int)part, MPI_FLOAT, recv, (int)part, MPI_FLOAT, 0, MPI_COMM_WORLD);
      } else {
        if (rank == 0) fprintf(stderr, "mpi_bench: unknown collective '%s'\n", coll);
        MPI_Abort(MPI_COMM_WORLD, 2);
      }
    }
    double us = (MPI_Wtime() - begin) * 1e6 / iters, sum = 0;
    MPI_Allreduce(&us, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    const int whole = strcmp(coll, "all_reduce") == 0 || strcmp(coll, "broadcast") == 0 ||
                      strcmp(coll, "reduce") == 0;
    size_t reported = whole ? total : part * (size_t)nranks;
    if (rank == 0) printf("RESULT %s mpi %zu %.3f\n", coll, reported * sizeof(float), sum / nranks);
    if (factor < 2) break;
  }
  free(send);
  free(recv);
  MPI_Finalize();
  return 0;
}
