/*
 * allreduce: the smallest complete Tutti program. Every rank fills a buffer of floats, the ranks
 * sum it with tuttiAllReduce (out of place, then in place) and each rank checks the result.
 *
 * Two ways to start it:
 *
 *   ./allreduce [NRANKS [COUNT]]
 *       No launcher: this process makes the unique id, then forks NRANKS local ranks
 *       (default 2) that all join it. Exits non-zero if any rank failed.
 *
 *   TUTTI_COMM_ID=127.0.0.1:29500 mpirun -np 4 ./allreduce [IGNORED [COUNT]]
 *       Under a launcher: one process per rank, each calls tuttiCommInitFromEnv, which takes
 *       the rank and size from TUTTI_RANK/TUTTI_WORLD_SIZE or the launcher's variables
 *       (mpirun, srun, torchrun). No MPI library is needed: mpirun only starts the processes.
 *
 * COUNT is the number of floats per rank (default 1048579: not a power of two, so that the
 * ring's chunks come out uneven and the remainder handling is exercised too).
 */
#define _POSIX_C_SOURCE 200809L /* fork, waitpid, kill in strict C99 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <tutti/tutti.h>
#include <unistd.h>

#define DEFAULT_NRANKS 2
#define DEFAULT_COUNT 1048579
#define MAX_LOCAL_RANKS 64

/* Reports a failed Tutti call. comm is the communicator the call was made on, or NULL for calls
 * made without one (init): the library then keeps the message per thread instead. */
static int check(tuttiResult_t res, tuttiComm_t comm, const char* call) {
  if (res == tuttiSuccess) return 1;
  fprintf(stderr, "[pid %ld] %s failed: %s: %s\n", (long)getpid(), call, tuttiGetErrorString(res),
          tuttiGetLastError(comm));
  return 0;
}

/* Value that rank r puts at index i. Small integers, so that the sum over ranks is exact in
 * float32 whatever order the library adds them in, and can be compared with ==. */
static float value(int rank, size_t i) { return (float)(rank + (int)(i % 7)); }

/* Compares buf with the expected sum over nranks ranks; prints the first mismatch. */
static int verify(const float* buf, size_t count, int nranks, int rank, const char* mode) {
  /* sum over r of (r + k) = nranks*(nranks-1)/2 + nranks*k */
  const int base = nranks * (nranks - 1) / 2;
  for (size_t i = 0; i < count; i++) {
    const float want = (float)(base + nranks * (int)(i % 7));
    if (buf[i] != want) {
      fprintf(stderr, "rank %d: %s all-reduce wrong at index %zu: got %g, want %g\n", rank, mode, i,
              (double)buf[i], (double)want);
      return 0;
    }
  }
  return 1;
}

/* The work of one rank on an initialized communicator. Returns 0 on success. */
static int run_rank(tuttiComm_t comm, size_t count) {
  int nranks = 0, rank = 0;
  if (!check(tuttiCommCount(comm, &nranks), comm, "tuttiCommCount") ||
      !check(tuttiCommUserRank(comm, &rank), comm, "tuttiCommUserRank"))
    return 1;

  /* count >= 1 is checked in main; malloc(0) could legally return NULL. */
  float* send = malloc(count * sizeof(float));
  float* recv = malloc(count * sizeof(float));
  if (send == NULL || recv == NULL) {
    fprintf(stderr, "rank %d: out of memory for %zu floats\n", rank, count);
    free(send);
    free(recv);
    return 1;
  }
  for (size_t i = 0; i < count; i++) send[i] = value(rank, i);

  int ok = 1;
  /* Out of place: send is left untouched, recv gets the sum. A NULL stream with host buffers
   * makes the call blocking, so recv can be read as soon as it returns. */
  ok = ok && check(tuttiAllReduce(send, recv, count, tuttiFloat32, tuttiSum, comm, NULL), comm,
                   "tuttiAllReduce (out of place)");
  ok = ok && verify(recv, count, nranks, rank, "out-of-place");
  /* In place: the same buffer as input and output, the usual form for gradients. */
  ok = ok && check(tuttiAllReduce(send, send, count, tuttiFloat32, tuttiSum, comm, NULL), comm,
                   "tuttiAllReduce (in place)");
  ok = ok && verify(send, count, nranks, rank, "in-place");

  if (ok)
    printf("rank %d/%d: all-reduce of %zu floats correct (out of place and in place)\n", rank,
           nranks, count);
  free(send);
  free(recv);
  return ok ? 0 : 1;
}

/* Runs one rank to the end: init, work, teardown. Returns the process exit status. */
static int rank_main(int use_env, int nranks, tuttiUniqueId id, int rank, size_t count) {
  tuttiComm_t comm = NULL;
  tuttiResult_t res =
      use_env ? tuttiCommInitFromEnv(&comm) : tuttiCommInitRank(&comm, nranks, id, rank);
  /* A failed init leaves no communicator: its message is kept for the thread (NULL). */
  if (!check(res, NULL, use_env ? "tuttiCommInitFromEnv" : "tuttiCommInitRank")) return 1;

  int status = run_rank(comm, count);
  if (status != 0) {
    /* Abort rather than destroy: it closes the connections, so the peers still waiting on this
     * rank fail at once with tuttiRemoteError instead of after the full timeout. */
    check(tuttiCommAbort(comm), NULL, "tuttiCommAbort");
    return status;
  }
  return check(tuttiCommDestroy(comm), NULL, "tuttiCommDestroy") ? 0 : 1;
}

/* Forks nranks local ranks that join the communicator named by id, and waits for all of them.
 * Returns 0 if every rank succeeded. */
static int run_local(int nranks, tuttiUniqueId id, size_t count) {
  pid_t pids[MAX_LOCAL_RANKS];
  int live = 0, failed = 0;

  /* Anything still buffered would otherwise be printed once by each child as well. */
  fflush(stdout);
  fflush(stderr);
  for (int r = 0; r < nranks; r++) {
    pid_t pid = fork();
    if (pid == 0) {
      int status = rank_main(0, nranks, id, r, count);
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

/* Parses a positive integer argument no larger than max; returns 0 if it is not one. */
static long parse_positive(const char* s, long max) {
  char* end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < 1 || v > max) return 0;
  return v;
}

int main(int argc, char** argv) {
  if (argc > 3) {
    fprintf(stderr, "usage: %s [NRANKS [COUNT]]\n", argv[0]);
    return 2;
  }
  long nranks = DEFAULT_NRANKS;
  long count = DEFAULT_COUNT;
  if (argc > 1 && (nranks = parse_positive(argv[1], MAX_LOCAL_RANKS)) == 0) {
    fprintf(stderr, "NRANKS must be an integer in [1, %d], got '%s'\n", MAX_LOCAL_RANKS, argv[1]);
    return 2;
  }
  if (argc > 2 && (count = parse_positive(argv[2], 1L << 28)) == 0) {
    fprintf(stderr, "COUNT must be an integer in [1, %ld], got '%s'\n", 1L << 28, argv[2]);
    return 2;
  }
  /* Flush per line, so that the lines of several ranks sharing a terminal or pipe do not get
   * cut into each other. */
  setvbuf(stdout, NULL, _IOLBF, 0);

  tuttiUniqueId id;
  memset(&id, 0, sizeof(id));
  const char* comm_id = getenv("TUTTI_COMM_ID");
  if (comm_id != NULL && comm_id[0] != '\0') {
    /* A launcher started this process as one of the ranks; NRANKS is the launcher's to say. */
    return rank_main(1, 0, id, 0, (size_t)count);
  }

  /* The unique id must be made before forking: it starts the root, a thread of this process
   * that the ranks meet at. This process must stay alive until the ranks have met, which it
   * does, since it waits for all of them. */
  if (!check(tuttiGetUniqueId(&id), NULL, "tuttiGetUniqueId")) return 1;
  int failed = run_local((int)nranks, id, (size_t)count);
  if (failed) fprintf(stderr, "allreduce: FAILED\n");
  return failed ? 1 : 0;
}
