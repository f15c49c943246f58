// The shared-memory transport's parameters: its own table (listed by tutti-perf --params beside
// the communicator's) and their values for one communicator.
#pragma once

#include <cstddef>
#include <vector>

#include "base/params.h"

namespace tutti {

struct ShmParams {
  bool disable = false;           // TUTTI_SHM_DISABLE=1: no shared memory between ranks
  int slots = 8;                  // TUTTI_SHM_SLOTS: FIFO slots per direction and pair
  size_t slotBytes = 256 << 10;   // TUTTI_SHM_SLOT_BYTES: bytes per FIFO slot
  bool cma = true;                // TUTTI_SHM_CMA=0: never read or write peers' memory directly
  size_t cmaMinBytes = 64 << 10;  // TUTTI_SHM_CMA_MIN_BYTES: smallest single-copy message
};

const std::vector<ParamInfo>& shmParamTable();

// The values for a communicator: its settings, then the environment, then the defaults.
// tuttiInvalidArgument naming the variable for a malformed or out-of-range value.
Status loadShmParams(const Params& params, ShmParams* out);

}  // namespace tutti
