/* Compiles tutti.h as strict C99 and checks the numbering that NCCL shims rely on. */
#include <stdio.h>

#include "tutti/tutti.h"

int main(void) {
  tuttiConfig_t config = TUTTI_CONFIG_INITIALIZER;
  tuttiUniqueId id;
  int version = 0;
  int ok = sizeof(id.internal) == TUTTI_UNIQUE_ID_BYTES && TUTTI_UNIQUE_ID_BYTES == 128 &&
           tuttiSuccess == 0 && tuttiInvalidArgument == 4 && tuttiTimeout == 8 &&
           tuttiNumResults == 9 && tuttiBfloat16 == 9 && tuttiFloat8e5m2 == 11 &&
           tuttiNumTypes == 12 && tuttiAvg == 4 && tuttiNumOps == 5 &&
           config.size == sizeof(tuttiConfig_t) && config.magic == TUTTI_CONFIG_MAGIC;
  if (tuttiGetVersion(&version) != tuttiSuccess || version != TUTTI_VERSION_CODE) ok = 0;
  if (!ok) {
    printf("tutti.h numbering or version check failed\n");
    return 1;
  }
  printf("tutti.h compiles as C99; version %d\n", version);
  return 0;
}
