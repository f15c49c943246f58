/* Small-call latency of one libtutti.so against another, with the same binary: 2 local ranks,
 * 1000 warm-up calls, then the best of 5 runs of ITERS calls, microseconds per call (rank 0).
 * Only the C API is used, so LD_LIBRARY_PATH picks the library under test:
 *   gcc -O2 -o /tmp/lib_latency perf/compare/lib_latency.c -Iinclude -Lbuild/src -ltutti
 *   LD_LIBRARY_PATH=OLD/build/src /tmp/lib_latency 0 16 20000   # all-reduce of 16 floats
 *   LD_LIBRARY_PATH=build/src     /tmp/lib_latency 1 16 20000   # all-gather of 16 floats
 * Usage: lib_latency COLL(0 all-reduce, 1 all-gather) COUNT ITERS */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <tutti/tutti.h>
#include <unistd.h>
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s COLL(0 all-reduce, 1 all-gather) COUNT ITERS\n", argv[0]);
    return 2;
  }
  int coll = atoi(argv[1]);
  size_t count = atol(argv[2]);
  int iters = atoi(argv[3]);
  tuttiUniqueId id;
  tuttiGetUniqueId(&id);
  for (int r = 0; r < 2; r++) {
    if (fork() == 0) {
      tuttiComm_t comm;
      if (tuttiCommInitRank(&comm, 2, id, r) != tuttiSuccess) _exit(1);
      float *s = calloc(count * 2 + 1, 4), *d = calloc(count * 2 + 1, 4);
      for (int i = 0; i < 1000; i++) {
        if (coll == 0)
          tuttiAllReduce(s, d, count, tuttiFloat32, tuttiSum, comm, NULL);
        else
          tuttiAllGather(s, d, count, tuttiFloat32, comm, NULL);
      }
      double best = 1e9;
      for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        for (int i = 0; i < iters; i++) {
          if (coll == 0)
            tuttiAllReduce(s, d, count, tuttiFloat32, tuttiSum, comm, NULL);
          else
            tuttiAllGather(s, d, count, tuttiFloat32, comm, NULL);
        }
        double t = (now() - t0) / iters;
        if (t < best) best = t;
      }
      if (r == 0) {
        printf("%.3f\n", best);
        fflush(stdout);
      }
      tuttiCommDestroy(comm);
      _exit(0);
    }
  }
  int st;
  while (wait(&st) > 0) {
  }
  return 0;
}
