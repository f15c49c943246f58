/* Physical limits of the host path for perf/compare: memcpy and float32 sum-reduction (c = a + b)
 * bandwidth with 1 and 2 threads over buffers far larger than the caches. Bandwidth counts the
 * bytes read plus the bytes written (memcpy: 2 x size; reduction: 3 x size), per second, 1e9.
 * Prints: LIMIT <memcpy|reduce> <threads> <GB/s> (best of 5 runs).
 * Usage: mem_limits [MIB per buffer, default 256] */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  int kind; /* 0 memcpy, 1 reduce */
  float *a, *b, *c;
  size_t n;
} Work;

static void* runWork(void* arg) {
  Work* w = arg;
  if (w->kind == 0) {
    memcpy(w->c, w->a, w->n * sizeof(float));
  } else {
    for (size_t i = 0; i < w->n; ++i) w->c[i] = w->a[i] + w->b[i];
  }
  return NULL;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  size_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 256;
  size_t n = mib * (1u << 20) / sizeof(float);
  float* a = malloc(n * sizeof(float));
  float* b = malloc(n * sizeof(float));
  float* c = malloc(n * sizeof(float));
  if (!a || !b || !c) return 1;
  for (size_t i = 0; i < n; ++i) a[i] = b[i] = c[i] = (float)(i & 7);
  for (int kind = 0; kind < 2; ++kind) {
    for (int threads = 1; threads <= 2; ++threads) {
      double best = 0;
      for (int run = 0; run < 5; ++run) {
        pthread_t tid[2];
        Work work[2];
        double start = now();
        for (int t = 0; t < threads; ++t) {
          size_t lo = n * t / threads, hi = n * (t + 1) / threads;
          work[t] = (Work){kind, a + lo, b + lo, c + lo, hi - lo};
          pthread_create(&tid[t], NULL, runWork, &work[t]);
        }
        for (int t = 0; t < threads; ++t) pthread_join(tid[t], NULL);
        double seconds = now() - start;
        double bytes = (kind == 0 ? 2.0 : 3.0) * n * sizeof(float);
        if (bytes / seconds / 1e9 > best) best = bytes / seconds / 1e9;
      }
      printf("LIMIT %s %d %.2f\n", kind == 0 ? "memcpy" : "reduce", threads, best);
    }
  }
  free(a);
  free(b);
  free(c);
  return 0;
}
