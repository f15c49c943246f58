/* Creates and destroys a communicator again and again, with one exact all-reduce each time, so
 * that valgrind (tests/CMakeLists.txt: valgrind_init_destroy_cycles) can count what one cycle
 * leaks, inside Tutti or inside a library it calls (hwloc, libpciaccess, libc's resolver).
 *   tutti_init_cycles CYCLES RANKS
 * RANKS > 1 forks the other ranks; rank 0 makes each cycle's unique id and hands it to them
 * through a pipe. Each process exits through exit(), so valgrind checks every one of them.
 * Exit status: 0 when every cycle of every rank succeeded; 2 bad arguments; 3 a rank failed. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tutti/tutti.h"

enum { kMaxRanks = 8 };

static int readAll(int fd, void* data, size_t size) {
  char* at = data;
  while (size > 0) {
    ssize_t got = read(fd, at, size);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return -1;
    at += got;
    size -= (size_t)got;
  }
  return 0;
}

static int writeAll(int fd, const void* data, size_t size) {
  const char* at = data;
  while (size > 0) {
    ssize_t put = write(fd, at, size);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return -1;
    at += put;
    size -= (size_t)put;
  }
  return 0;
}

/* One rank's cycles. idPipes[r] carries the ids from rank 0 to rank r (r >= 1). */
static int runRank(int rank, int nranks, int cycles, int idPipes[][2]) {
  for (int cycle = 0; cycle < cycles; ++cycle) {
    tuttiUniqueId id;
    if (rank == 0) {
      if (tuttiGetUniqueId(&id) != tuttiSuccess) {
        fprintf(stderr, "cycle %d: tuttiGetUniqueId: %s\n", cycle, tuttiGetLastError(NULL));
        return 3;
      }
      for (int peer = 1; peer < nranks; ++peer) {
        if (writeAll(idPipes[peer][1], &id, sizeof(id)) != 0) return 3;
      }
    } else if (readAll(idPipes[rank][0], &id, sizeof(id)) != 0) {
      fprintf(stderr, "rank %d cycle %d: no id from rank 0\n", rank, cycle);
      return 3;
    }
    tuttiComm_t comm = NULL;
    if (tuttiCommInitRank(&comm, nranks, id, rank) != tuttiSuccess) {
      fprintf(stderr, "rank %d cycle %d: init: %s\n", rank, cycle, tuttiGetLastError(NULL));
      return 3;
    }
    int32_t value[4] = {rank + 1, cycle, rank, 1};
    tuttiResult_t rc = tuttiAllReduce(value, value, 4, tuttiInt32, tuttiSum, comm, NULL);
    const int32_t expect[4] = {nranks * (nranks + 1) / 2, cycle * nranks, nranks * (nranks - 1) / 2,
                               nranks};
    if (rc != tuttiSuccess || memcmp(value, expect, sizeof(value)) != 0) {
      fprintf(stderr, "rank %d cycle %d: all-reduce %s, got {%d,%d,%d,%d}\n", rank, cycle,
              tuttiGetErrorString(rc), value[0], value[1], value[2], value[3]);
      tuttiCommDestroy(comm);
      return 3;
    }
    if (tuttiCommDestroy(comm) != tuttiSuccess) {
      fprintf(stderr, "rank %d cycle %d: destroy: %s\n", rank, cycle, tuttiGetLastError(NULL));
      return 3;
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  int cycles = argc > 1 ? atoi(argv[1]) : 0;
  int nranks = argc > 2 ? atoi(argv[2]) : 0;
  if (argc != 3 || cycles < 1 || nranks < 1 || nranks > kMaxRanks) {
    fprintf(stderr, "usage: %s CYCLES RANKS (cycles >= 1, 1 <= ranks <= %d)\n", argv[0], kMaxRanks);
    return 2;
  }
  int idPipes[kMaxRanks][2];
  for (int peer = 1; peer < nranks; ++peer) {
    if (pipe(idPipes[peer]) != 0) return 3;
  }
  pid_t children[kMaxRanks];
  for (int rank = 1; rank < nranks; ++rank) {
    fflush(NULL);
    children[rank] = fork();
    if (children[rank] < 0) return 3;
    if (children[rank] == 0) {
      /* Only its own read end stays open, so a rank 0 that is gone reads as the end. */
      for (int peer = 1; peer < nranks; ++peer) {
        close(idPipes[peer][1]);
        if (peer != rank) close(idPipes[peer][0]);
      }
      int code = runRank(rank, nranks, cycles, idPipes);
      close(idPipes[rank][0]);
      exit(code);
    }
  }
  for (int peer = 1; peer < nranks; ++peer) close(idPipes[peer][0]);
  int status = runRank(0, nranks, cycles, idPipes);
  for (int peer = 1; peer < nranks; ++peer) close(idPipes[peer][1]);
  for (int rank = 1; rank < nranks; ++rank) {
    int childStatus = 0;
    while (waitpid(children[rank], &childStatus, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(childStatus) || WEXITSTATUS(childStatus) != 0) {
      fprintf(stderr, "rank %d ended with status 0x%x\n", rank, childStatus);
      status = 3;
    }
  }
  if (status == 0) printf("%d cycles of %d rank(s): all exact\n", cycles, nranks);
  return status;
}
