#include "transports/shm/shm_params.h"

namespace tutti {

const std::vector<ParamInfo>& shmParamTable() {
  static const std::vector<ParamInfo> table = {
      {"TUTTI_SHM_DISABLE", "0", "1: never use shared memory"},
      {"TUTTI_SHM_SLOTS", "8", "shared-memory FIFO slots per direction and pair"},
      {"TUTTI_SHM_SLOT_BYTES", "262144", "bytes per shared-memory FIFO slot"},
      {"TUTTI_SHM_CMA", "1",
       "0: no single-copy path (process_vm_readv) for large shared-memory messages and no "
       "one-sided puts (0 when oversubscribed)"},
      {"TUTTI_SHM_CMA_MIN_BYTES", "65536",
       "messages from this size on are read from the sender's memory in one copy"},
  };
  return table;
}

Status loadShmParams(const Params& params, ShmParams* out) {
  ShmParams p;
  int64_t value = 0;
  TUTTI_RETURN_IF_ERROR(paramInt(params, "TUTTI_SHM_DISABLE", 0, 0, 1, &value));
  p.disable = value == 1;
  TUTTI_RETURN_IF_ERROR(paramInt(params, "TUTTI_SHM_SLOTS", p.slots, 2, 1024, &value));
  p.slots = static_cast<int>(value);
  TUTTI_RETURN_IF_ERROR(paramInt(params, "TUTTI_SHM_SLOT_BYTES", static_cast<int64_t>(p.slotBytes),
                                 64, int64_t{1} << 26, &value));
  p.slotBytes = static_cast<size_t>(value);
  TUTTI_RETURN_IF_ERROR(paramInt(params, "TUTTI_SHM_CMA", 1, 0, 1, &value));
  p.cma = value == 1;
  TUTTI_RETURN_IF_ERROR(paramInt(params, "TUTTI_SHM_CMA_MIN_BYTES",
                                 static_cast<int64_t>(p.cmaMinBytes), 1, int64_t{1} << 40, &value));
  p.cmaMinBytes = static_cast<size_t>(value);
  *out = p;
  return Status::ok();
}

}  // namespace tutti
