/* Creates a 1-rank communicator and runs one all-reduce, so that a script can check what
 * TUTTI_DEBUG, TUTTI_DEBUG_SUBSYS and TUTTI_DEBUG_FILE produce in a fresh process. */
#include <stdio.h>

#include "tutti/tutti.h"

int main(void) {
  tuttiUniqueId id;
  tuttiComm_t comm;
  float x = 1.0f;
  if (tuttiGetUniqueId(&id) != tuttiSuccess) return 1;
  if (tuttiCommInitRank(&comm, 1, id, 0) != tuttiSuccess) return 2;
  if (tuttiAllReduce(&x, &x, 1, tuttiFloat32, tuttiSum, comm, NULL) != tuttiSuccess) return 3;
  /* An argument error is logged at WARN whatever the subsystems. */
  if (tuttiAllReduce(&x, &x, 1, (tuttiDataType_t)99, tuttiSum, comm, NULL) == tuttiSuccess)
    return 4;
  return tuttiCommDestroy(comm) == tuttiSuccess ? 0 : 5;
}
