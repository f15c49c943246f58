/* Links the installed library the way an outside user does (-I<prefix>/include -L<prefix>/lib
 * -ltutti): rank 0 makes the unique id and passes it to the other forked ranks through a pipe,
 * every rank all-reduces, and bad arguments come back as tuttiInvalidArgument. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <tutti/tutti.h>
#include <unistd.h>

#define NRANKS 3

static int runRank(int rank, int idPipe[NRANKS][2]) {
  tuttiUniqueId id;
  int r;
  if (rank == 0) {
    if (tuttiGetUniqueId(&id) != tuttiSuccess) return 10;
    for (r = 1; r < NRANKS; ++r) {
      if (write(idPipe[r][1], &id, sizeof(id)) != (ssize_t)sizeof(id)) return 11;
    }
  } else if (read(idPipe[rank][0], &id, sizeof(id)) != (ssize_t)sizeof(id)) {
    return 12;
  }
  tuttiComm_t comm;
  if (tuttiCommInitRank(&comm, NRANKS, id, rank) != tuttiSuccess) {
    fprintf(stderr, "init: %s\n", tuttiGetLastError(NULL));
    return 13;
  }
  int data[5] = {rank, rank, rank, rank, rank};
  int out[5];
  if (tuttiAllReduce(data, out, 5, tuttiInt32, tuttiSum, comm, NULL) != tuttiSuccess) return 14;
  for (r = 0; r < 5; ++r) {
    if (out[r] != 0 + 1 + 2) return 15;
  }
  if (tuttiAllReduce(data, out, 5, (tuttiDataType_t)42, tuttiSum, comm, NULL) !=
      tuttiInvalidArgument)
    return 16;
  if (tuttiAllReduce(data, out, 5, tuttiInt32, (tuttiRedOp_t)42, comm, NULL) !=
      tuttiInvalidArgument)
    return 17;
  if (tuttiAllReduce(data, NULL, 5, tuttiInt32, tuttiSum, comm, NULL) != tuttiInvalidArgument)
    return 18;
  return tuttiCommDestroy(comm) == tuttiSuccess ? 0 : 19;
}

int main(void) {
  int idPipe[NRANKS][2];
  int r, failed = 0;
  for (r = 0; r < NRANKS; ++r) {
    if (pipe(idPipe[r]) != 0) return 1;
  }
  for (r = 0; r < NRANKS; ++r) {
    if (fork() == 0) _exit(runRank(r, idPipe));
  }
  for (r = 0; r < NRANKS; ++r) {
    int status = 0;
    wait(&status);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
  }
  printf("installed library: %s\n", failed ? "FAILED" : "ok");
  return failed;
}
