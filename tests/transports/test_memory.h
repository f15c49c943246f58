// Registered host slices for transport tests.
#pragma once

#include <gtest/gtest.h>

#include "transports/memory.h"

namespace tutti {

inline Slice hostSlice(MemoryDomain& domain, void* data, size_t bytes) {
  const Registration* registration = nullptr;
  Status status = domain.registerMemory(Memory{data, bytes, MemoryKind::kHost, -1}, &registration);
  EXPECT_TRUE(status.isOk()) << status.message();
  return Slice{registration, static_cast<size_t>(static_cast<char*>(data) - registration->base()),
               bytes};
}

}  // namespace tutti
