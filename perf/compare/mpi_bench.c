/* OpenMPI side of perf/compare: MPI_Allreduce, MPI_Allgather and MPI_Reduce_scatter_block on
 * float32 sums, with tutti-perf's size and timing rules (nccl-tests sizes: the larger buffer;
 * warm-up, barrier, timed loop; time = mean over ranks). Prints one line per size:
 *   RESULT <collective> mpi <bytes> <time_us>
 * Usage: mpi_bench all_reduce|all_gather|reduce_scatter MINBYTES MAXBYTES FACTOR ITERS WARMUP */
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
      } else {
        MPI_Reduce_scatter_block(send, recv, (int)part, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      }
    }
    double us = (MPI_Wtime() - begin) * 1e6 / iters, sum = 0;
    MPI_Allreduce(&us, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    size_t reported = strcmp(coll, "all_reduce") == 0 ? total : part * (size_t)nranks;
    if (rank == 0) printf("RESULT %s mpi %zu %.3f\n", coll, reported * sizeof(float), sum / nranks);
    if (factor < 2) break;
  }
  free(send);
  free(recv);
  MPI_Finalize();
  return 0;
}
