// The transports built into this library, by name.
#pragma once

#include <memory>
#include <string>

#include "base/params.h"
#include "base/status.h"
#include "transports/transport.h"

namespace tutti {

// Transports by name ("tcp", "shm"); tuttiInvalidArgument for an unknown name.
Status createTransport(const std::string& name, const Params& params,
                       std::unique_ptr<Transport>* out);

}  // namespace tutti
