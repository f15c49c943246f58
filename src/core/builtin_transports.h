// The transports built into this library, in their default preference order.
#pragma once

#include "transports/registry.h"

namespace tutti {

// shm (same host), then tcp (any two ranks that reach each other over IP). Adding a transport
// is one entry here and its own folder under transports/.
// The first use registers each transport's parameter table (base/params.h).
const TransportRegistry& builtinTransports();

}  // namespace tutti
