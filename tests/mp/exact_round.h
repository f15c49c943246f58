// One round of every collective, checked exactly, for the multi-process tests that change how
// ranks connect (fallbacks, strangers on the ports) and must still get exact results.
#pragma once

#include "tutti/tutti.h"

namespace tutti::test {

// All-reduce, all-gather and reduce-scatter of a few MiB (large enough for the single-copy path)
// and of a few elements, checked exactly; prints and returns the number of wrong elements or -1.
long exactRound(tuttiComm_t comm, int rank, int nranks);

}  // namespace tutti::test
