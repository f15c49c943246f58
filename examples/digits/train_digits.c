/*
 * train_digits: data-parallel training with Tutti, small enough to read in one sitting.
 *
 * A softmax regression (64 pixels -> 10 classes) learns the UCI handwritten digits (1797 8x8
 * images; Debian ships them with python3-sklearn as digits.csv.gz). Every rank holds the same
 * weights; each step every rank computes the gradient on its own slice of the global mini-batch,
 * the ranks average their gradients with one tuttiAllReduce(tuttiAvg), and every rank applies
 * the same update, so the weights stay identical everywhere without ever being sent.
 *
 *   train_digits DATA_PATH [--ranks N] [--epochs E] [--lr LR] [--batch B] [--seed S]
 *       No launcher: forks N local ranks (default 2) after making the unique id.
 *   TUTTI_COMM_ID=127.0.0.1:29500 mpirun -np 4 train_digits DATA_PATH [...]
 *       Under a launcher: one process per rank, tuttiCommInitFromEnv; --ranks is ignored.
 *
 * The global batch is split among the ranks and each rank's gradient is scaled so that the
 * average over ranks is exactly the mean gradient of the global batch: 1 rank and N ranks follow
 * the same trajectory, up to the rounding of float sums taken in another order.
 */
#define _POSIX_C_SOURCE 200809L /* fork, waitpid, kill, clock_gettime in strict C99 */

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <tutti/tutti.h>
#include <unistd.h>
#include <zlib.h>

#define NPIXELS 64 /* 8x8 images */
#define NCLASSES 10
#define NPARAMS (NPIXELS * NCLASSES + NCLASSES) /* weights W[pixel][class], then bias[class] */
#define PIXEL_MAX 16.0f
#define MAX_LOCAL_RANKS 64

typedef struct {
  const char* path;
  int nranks; /* local ranks to fork; unused under a launcher */
  int epochs;
  float lr;
  int batch; /* global batch size: summed over all ranks */
  uint64_t seed;
} Options;

typedef struct {
  float* x;   /* n rows of NPIXELS values scaled to [0, 1] */
  int* label; /* n labels in [0, NCLASSES) */
  int n;
} Dataset;

/* ---------------------------------------------------------------------------------------------
 * Error reporting */

/* Reports a failed Tutti call. comm is the communicator the call was made on, or NULL for calls
 * made without one (init): the library then keeps the message per thread instead. */
static int check(tuttiResult_t res, tuttiComm_t comm, const char* call) {
  if (res == tuttiSuccess) return 1;
  fprintf(stderr, "[pid %ld] %s failed: %s: %s\n", (long)getpid(), call, tuttiGetErrorString(res),
          tuttiGetLastError(comm));
  return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Data */

/* Reads DATA_PATH: one image per line, NPIXELS values in [0, 16] then the label, separated by
 * commas. zlib's gz* functions read plain (uncompressed) files as well. Returns 0 on success. */
static int load_digits(const char* path, Dataset* ds) {
  errno = 0; /* gzopen sets errno only when the open itself fails */
  gzFile f = gzopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "%s: cannot open: %s\n", path, errno ? strerror(errno) : "zlib error");
    return 1;
  }
  int cap = 2048, n = 0, lineno = 0, err = 0;
  float* x = malloc((size_t)cap * NPIXELS * sizeof(float));
  int* label = malloc((size_t)cap * sizeof(int));
  char line[4096];
  while (!err && x != NULL && label != NULL && gzgets(f, line, (int)sizeof(line)) != NULL) {
    lineno++;
    if (strchr(line, '\n') == NULL && !gzeof(f)) {
      fprintf(stderr, "%s:%d: line too long\n", path, lineno);
      err = 1;
      break;
    }
    if (strspn(line, " \t\r\n") == strlen(line)) continue; /* blank line */
    if (n == cap) {
      cap *= 2;
      float* nx = realloc(x, (size_t)cap * NPIXELS * sizeof(float));
      int* nl = realloc(label, (size_t)cap * sizeof(int));
      if (nx != NULL) x = nx;
      if (nl != NULL) label = nl;
      if (nx == NULL || nl == NULL) {
        fprintf(stderr, "%s: out of memory\n", path);
        err = 1;
        break;
      }
    }
    /* strtod rather than atoi: the values may be written as floats ("0.0"). */
    const char* p = line;
    for (int j = 0; j <= NPIXELS && !err; j++) {
      char* end = NULL;
      double v = strtod(p, &end);
      const char want = j < NPIXELS ? ',' : '\0';
      if (end == p) {
        fprintf(stderr, "%s:%d: field %d is not a number\n", path, lineno, j + 1);
        err = 1;
      } else if (j < NPIXELS) {
        if (!(v >= 0.0 && v <= PIXEL_MAX)) {
          fprintf(stderr, "%s:%d: pixel %d = %g is outside [0, 16]\n", path, lineno, j + 1, v);
          err = 1;
        }
        /* Scaled to [0, 1] so that one learning rate suits all weights. */
        x[(size_t)n * NPIXELS + j] = (float)(v / PIXEL_MAX);
      } else if (v != floor(v) || v < 0 || v >= NCLASSES) {
        fprintf(stderr, "%s:%d: label %g is not an integer in [0, 9]\n", path, lineno, v);
        err = 1;
      } else {
        label[n] = (int)v;
      }
      p = end + strspn(end, " \t\r\n");
      if (!err && want == ',' && *p++ != ',') {
        fprintf(stderr, "%s:%d: expected %d comma-separated values\n", path, lineno, NPIXELS + 1);
        err = 1;
      } else if (!err && want == '\0' && *p != '\0') {
        fprintf(stderr, "%s:%d: more than %d values\n", path, lineno, NPIXELS + 1);
        err = 1;
      }
    }
    n++;
  }
  if (!err && (x == NULL || label == NULL)) {
    fprintf(stderr, "%s: out of memory\n", path);
    err = 1;
  }
  if (!err && !gzeof(f)) {
    int zerr = 0;
    const char* msg = gzerror(f, &zerr);
    if (zerr != Z_OK) {
      fprintf(stderr, "%s: read error: %s\n", path, msg);
      err = 1;
    }
  }
  gzclose(f);
  if (!err && n < 10) {
    fprintf(stderr, "%s: only %d images, too few to split\n", path, n);
    err = 1;
  }
  if (err) {
    free(x);
    free(label);
    return 1;
  }
  ds->x = x;
  ds->label = label;
  ds->n = n;
  return 0;
}

/* splitmix64: a tiny generator with a fixed definition, so that every rank (and every platform)
 * draws the same numbers from the same seed; rand() promises neither. */
static uint64_t next_random(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Fisher-Yates shuffle. The modulo bias is below 1e-15 for these sizes. */
static void shuffle(int* v, int n, uint64_t* rng) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)(next_random(rng) % (uint64_t)(i + 1));
    int t = v[i];
    v[i] = v[j];
    v[j] = t;
  }
}

/* ---------------------------------------------------------------------------------------------
 * Model: logits = x W + b, softmax, cross-entropy loss. */

/* Computes the logits of one image into z and returns the predicted class. */
static int forward(const float* params, const float* x, float* z) {
  const float* w = params;
  const float* b = params + NPIXELS * NCLASSES;
  for (int k = 0; k < NCLASSES; k++) z[k] = b[k];
  for (int j = 0; j < NPIXELS; j++) {
    if (x[j] == 0.0f) continue; /* about half the pixels are blank */
    for (int k = 0; k < NCLASSES; k++) z[k] += x[j] * w[j * NCLASSES + k];
  }
  int best = 0;
  for (int k = 1; k < NCLASSES; k++)
    if (z[k] > z[best]) best = k;
  return best;
}

/* Adds the gradient of one image's cross-entropy loss to grad and returns the loss. */
static double accumulate_gradient(const float* params, const float* x, int y, float* grad,
                                  int* correct) {
  float z[NCLASSES];
  const int pred = forward(params, x, z);
  *correct += pred == y;
  /* Softmax with the maximum subtracted, so that exp cannot overflow. */
  const float zmax = z[pred];
  const float zy = z[y] - zmax;
  float sum = 0.0f;
  for (int k = 0; k < NCLASSES; k++) {
    z[k] = expf(z[k] - zmax);
    sum += z[k];
  }
  /* d loss / d logit_k = p_k - [k == y] */
  float dz[NCLASSES];
  for (int k = 0; k < NCLASSES; k++) dz[k] = z[k] / sum - (k == y ? 1.0f : 0.0f);
  for (int j = 0; j < NPIXELS; j++) {
    if (x[j] == 0.0f) continue;
    for (int k = 0; k < NCLASSES; k++) grad[j * NCLASSES + k] += x[j] * dz[k];
  }
  for (int k = 0; k < NCLASSES; k++) grad[NPIXELS * NCLASSES + k] += dz[k];
  /* loss = -log p_y = log(sum) - (z_y - zmax); taken from the logit, not from p_y, which
   * can underflow to 0 for a confidently wrong prediction. */
  return log((double)sum) - (double)zy;
}

/* ---------------------------------------------------------------------------------------------
 * Training */

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Trains and evaluates on an initialized communicator. Every rank runs the same code on the
 * same data; only what it computes on differs. Returns 0 on success. */
static int train(tuttiComm_t comm, const Dataset* ds, const Options* opt) {
  int nranks = 0, rank = 0;
  if (!check(tuttiCommCount(comm, &nranks), comm, "tuttiCommCount") ||
      !check(tuttiCommUserRank(comm, &rank), comm, "tuttiCommUserRank"))
    return 1;

  /* The same seed on every rank gives every rank the same split and the same epoch orders,
   * without sending a single index. */
  uint64_t rng = opt->seed;
  int* order = malloc((size_t)ds->n * sizeof(int));
  if (order == NULL) {
    fprintf(stderr, "rank %d: out of memory\n", rank);
    return 1;
  }
  for (int i = 0; i < ds->n; i++) order[i] = i;
  shuffle(order, ds->n, &rng);
  const int ntrain = ds->n * 8 / 10;
  int* train_idx = order; /* the first 80% of the shuffled images */
  const int* test_idx = order + ntrain;
  const int ntest = ds->n - ntrain;

  if (rank == 0) {
    printf("%d ranks, %d training and %d test images, global batch %d, lr %g, %d epochs\n", nranks,
           ntrain, ntest, opt->batch, (double)opt->lr, opt->epochs);
    if (opt->batch < nranks)
      printf("note: batch %d < %d ranks: some ranks get no sample in a step\n", opt->batch, nranks);
  }

  /* Zero weights: the loss is convex, so no random start is needed to break symmetry. */
  float params[NPARAMS] = {0};
  float grad[NPARAMS];
  int ok = 1;
  const double t0 = now_seconds();

  for (int epoch = 1; epoch <= opt->epochs && ok; epoch++) {
    /* Reshuffle the training images each epoch (identically on every rank). */
    shuffle(train_idx, ntrain, &rng);
    double loss_sum = 0.0;
    int correct = 0, seen = 0;

    for (int start = 0; start < ntrain && ok; start += opt->batch) {
      /* The global batch is train_idx[start, start + bs); this rank takes the contiguous slice
       * [lo, hi) of it, its shard of this step. The last batch of an epoch may be shorter. */
      const int bs = ntrain - start < opt->batch ? ntrain - start : opt->batch;
      const int lo = start + (int)((long)bs * rank / nranks);
      const int hi = start + (int)((long)bs * (rank + 1) / nranks);

      memset(grad, 0, sizeof(grad));
      for (int i = lo; i < hi; i++) {
        const int s = train_idx[i];
        loss_sum +=
            accumulate_gradient(params, ds->x + (size_t)s * NPIXELS, ds->label[s], grad, &correct);
      }
      seen += hi - lo;

      /* Scale the sum of this rank's per-image gradients by nranks / bs: tuttiAvg divides the
       * sum over ranks by nranks, which leaves sum over the whole batch / bs, the mean gradient
       * that a single rank would compute. Dividing by this rank's own count instead would
       * weight images unequally whenever bs does not split evenly. */
      const float scale = (float)nranks / (float)bs;
      for (int k = 0; k < NPARAMS; k++) grad[k] *= scale;
      ok = check(tuttiAllReduce(grad, grad, NPARAMS, tuttiFloat32, tuttiAvg, comm, NULL), comm,
                 "tuttiAllReduce (gradients)");

      /* Every rank applies the same averaged gradient to the same weights. */
      for (int k = 0; ok && k < NPARAMS; k++) params[k] -= opt->lr * grad[k];
    }
    if (!ok) break;

    /* The epoch's loss and accuracy over all ranks' images, summed in double: the sums of
     * losses would lose digits in float, and counts stay exact. */
    double stats[3] = {loss_sum, (double)correct, (double)seen};
    ok = check(tuttiAllReduce(stats, stats, 3, tuttiFloat64, tuttiSum, comm, NULL), comm,
               "tuttiAllReduce (epoch statistics)");
    if (ok && rank == 0)
      printf("epoch %3d  train loss %.4f  train accuracy %6.2f%%\n", epoch, stats[0] / stats[2],
             100.0 * stats[1] / stats[2]);
  }
  const double train_seconds = now_seconds() - t0;

  /* Evaluation is split too: each rank scores a contiguous part of the test set. */
  int test_correct = 0;
  const int tlo = (int)((long)ntest * rank / nranks);
  const int thi = (int)((long)ntest * (rank + 1) / nranks);
  for (int i = tlo; ok && i < thi; i++) {
    float z[NCLASSES];
    const int s = test_idx[i];
    test_correct += forward(params, ds->x + (size_t)s * NPIXELS, z) == ds->label[s];
  }
  ok =
      ok && check(tuttiAllReduce(&test_correct, &test_correct, 1, tuttiInt32, tuttiSum, comm, NULL),
                  comm, "tuttiAllReduce (test accuracy)");

  /* Data parallelism relies on every rank holding bit-identical weights. Check it: the
   * element-wise max and min over ranks both equal this rank's weights only if all agree. */
  float wmax[NPARAMS], wmin[NPARAMS];
  int in_sync = 0;
  ok = ok && check(tuttiAllReduce(params, wmax, NPARAMS, tuttiFloat32, tuttiMax, comm, NULL), comm,
                   "tuttiAllReduce (max)");
  ok = ok && check(tuttiAllReduce(params, wmin, NPARAMS, tuttiFloat32, tuttiMin, comm, NULL), comm,
                   "tuttiAllReduce (min)");
  if (ok) {
    in_sync =
        memcmp(wmax, params, sizeof(params)) == 0 && memcmp(wmin, params, sizeof(params)) == 0;
    ok = check(tuttiAllReduce(&in_sync, &in_sync, 1, tuttiInt32, tuttiMin, comm, NULL), comm,
               "tuttiAllReduce (sync flag)");
  }

  if (ok && rank == 0) {
    printf("trained in %.2f s\n", train_seconds);
    printf("weights identical on all ranks: %s\n", in_sync ? "yes" : "NO");
    printf("test accuracy: %.2f%% (%d/%d)\n", 100.0 * test_correct / ntest, test_correct, ntest);
  }
  free(order);
  return ok && in_sync ? 0 : 1;
}

/* ---------------------------------------------------------------------------------------------
 * Process setup: one rank per process, either forked here or started by a launcher. */

/* Runs one rank to the end: init, training, teardown. Returns the process exit status. */
static int rank_main(int use_env, int nranks, tuttiUniqueId id, int rank, const Dataset* ds,
                     const Options* opt) {
  tuttiComm_t comm = NULL;
  tuttiResult_t res =
      use_env ? tuttiCommInitFromEnv(&comm) : tuttiCommInitRank(&comm, nranks, id, rank);
  /* A failed init leaves no communicator: its message is kept for the thread (NULL). */
  if (!check(res, NULL, use_env ? "tuttiCommInitFromEnv" : "tuttiCommInitRank")) return 1;

  int status = train(comm, ds, opt);
  if (status != 0) {
    /* Abort rather than destroy: it closes the connections, so the peers still waiting on this
     * rank fail at once with tuttiRemoteError instead of after the full timeout. */
    check(tuttiCommAbort(comm), NULL, "tuttiCommAbort");
    return status;
  }
  return check(tuttiCommDestroy(comm), NULL, "tuttiCommDestroy") ? 0 : 1;
}

/* Forks opt->nranks local ranks that join the communicator named by id and waits for them all.
 * The dataset, loaded before the fork, is shared copy-on-write. Returns 0 if every rank
 * succeeded. */
static int run_local(tuttiUniqueId id, const Dataset* ds, const Options* opt) {
  pid_t pids[MAX_LOCAL_RANKS];
  int live = 0, failed = 0;

  /* Anything still buffered would otherwise be printed once by each child as well. */
  fflush(stdout);
  fflush(stderr);
  for (int r = 0; r < opt->nranks; r++) {
    pid_t pid = fork();
    if (pid == 0) {
      int status = rank_main(0, opt->nranks, id, r, ds, opt);
      fflush(stdout);
      fflush(stderr);
      /* _exit, not exit: the child is a copy of a process that runs the unique id's root
       * thread, which does not exist here; atexit handlers and static destructors of that
       * copied state are the parent's business. */
      _exit(status);
    }
    if (pid < 0) {
      fprintf(stderr, "fork failed for rank %d: %s\n", r, strerror(errno));
      failed = 1;
      break;
    }
    pids[live++] = pid;
  }

  /* Wait for every child. After the first failure, stop the others: they would otherwise wait
   * for the failed rank until the timeout (10 minutes by default). */
  int remaining = live;
  while (remaining > 0) {
    int wstatus = 0;
    pid_t pid = waitpid(-1, &wstatus, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "waitpid failed: %s\n", strerror(errno));
      return 1;
    }
    int r = 0;
    while (r < live && pids[r] != pid) r++;
    if (r == live) continue; /* not one of ours */
    remaining--;
    pids[r] = 0;
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) continue;
    if (WIFSIGNALED(wstatus))
      fprintf(stderr, "rank %d (pid %ld) killed by signal %d\n", r, (long)pid, WTERMSIG(wstatus));
    else
      fprintf(stderr, "rank %d (pid %ld) exited with status %d\n", r, (long)pid,
              WEXITSTATUS(wstatus));
    if (!failed) {
      for (int k = 0; k < live; k++)
        if (pids[k] > 0) kill(pids[k], SIGTERM);
    }
    failed = 1;
  }
  return failed;
}

/* ---------------------------------------------------------------------------------------------
 * Command line */

static void usage(const char* prog) {
  fprintf(stderr,
          "usage: %s DATA_PATH [--ranks N] [--epochs E] [--lr LR] [--batch B] [--seed S]\n"
          "  DATA_PATH   digits.csv.gz (e.g. from python3-sklearn:\n"
          "              /usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz)\n"
          "  --ranks N   local ranks to fork when no launcher is used (default 2)\n"
          "  --epochs E  passes over the training set (default 30)\n"
          "  --lr LR     learning rate (default 0.5)\n"
          "  --batch B   global mini-batch size, split among the ranks (default 32)\n"
          "  --seed S    seed of the train/test split and of the epoch orders (default 1)\n"
          "Under a launcher, set TUTTI_COMM_ID=host:port; --ranks is then ignored.\n",
          prog);
}

/* Parses an integer in [lo, hi]; returns 0 if s is not one. */
static int parse_int(const char* s, long lo, long hi, long* out) {
  char* end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

static int parse_args(int argc, char** argv, Options* opt) {
  opt->path = NULL;
  opt->nranks = 2;
  opt->epochs = 30;
  opt->lr = 0.5f;
  opt->batch = 32;
  opt->seed = 1;
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return 0;
    if (strncmp(a, "--", 2) != 0) {
      if (opt->path != NULL) {
        fprintf(stderr, "more than one DATA_PATH: '%s' and '%s'\n", opt->path, a);
        return 0;
      }
      opt->path = a;
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "%s needs a value\n", a);
      return 0;
    }
    const char* v = argv[++i];
    long n = 0;
    if (strcmp(a, "--ranks") == 0 && parse_int(v, 1, MAX_LOCAL_RANKS, &n)) {
      opt->nranks = (int)n;
    } else if (strcmp(a, "--epochs") == 0 && parse_int(v, 0, 100000, &n)) {
      opt->epochs = (int)n;
    } else if (strcmp(a, "--batch") == 0 && parse_int(v, 1, 1000000, &n)) {
      opt->batch = (int)n;
    } else if (strcmp(a, "--seed") == 0 && parse_int(v, 0, 2147483647, &n)) {
      opt->seed = (uint64_t)n;
    } else if (strcmp(a, "--lr") == 0) {
      char* end = NULL;
      double lr = strtod(v, &end);
      if (end == v || *end != '\0' || !(lr > 0.0 && lr < 1e6)) {
        fprintf(stderr, "--lr must be a positive number, got '%s'\n", v);
        return 0;
      }
      opt->lr = (float)lr;
    } else {
      fprintf(stderr, "unknown option or bad value: %s %s\n", a, v);
      return 0;
    }
  }
  if (opt->path == NULL) {
    fprintf(stderr, "missing DATA_PATH\n");
    return 0;
  }
  return 1;
}

int main(int argc, char** argv) {
  Options opt;
  if (!parse_args(argc, argv, &opt)) {
    usage(argv[0]);
    return 2;
  }
  /* Flush per line, so that output shows up as training goes even through a pipe. */
  setvbuf(stdout, NULL, _IOLBF, 0);

  /* Load before forking: a bad path fails once, here, and the children share the pages. */
  Dataset ds;
  if (load_digits(opt.path, &ds) != 0) return 1;

  int status;
  tuttiUniqueId id;
  memset(&id, 0, sizeof(id));
  const char* comm_id = getenv("TUTTI_COMM_ID");
  if (comm_id != NULL && comm_id[0] != '\0') {
    status = rank_main(1, 0, id, 0, &ds, &opt);
  } else if (!check(tuttiGetUniqueId(&id), NULL, "tuttiGetUniqueId")) {
    status = 1;
  } else {
    /* The unique id is made before forking: it starts the root, a thread of this process that
     * the ranks meet at, and this process stays alive (waiting for them) until they are done. */
    status = run_local(id, &ds, &opt);
    if (status != 0) fprintf(stderr, "train_digits: FAILED\n");
  }
  free(ds.x);
  free(ds.label);
  return status;
}
