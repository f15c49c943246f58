// A bootstrap root on loopback for tests whose ranks are threads of one process.
#pragma once

#include <gtest/gtest.h>

#include "base/unique_id.h"
#include "core/bootstrap.h"

namespace tutti::test {

// The unique id of a new root on 127.0.0.1 (any port); expectedRanks 0: the first rank's count.
inline UniqueIdContents startLoopbackRoot(int timeoutMs, int expectedRanks = 0) {
  UniqueIdContents id;
  EXPECT_TRUE(randomBytes(id.secret, kSecretBytes).isOk());
  SockAddr addr;
  EXPECT_TRUE(parseHostPort("127.0.0.1:0", &addr).isOk());
  SockAddr bound;
  EXPECT_TRUE(startBootstrapRoot(addr, id.secret, timeoutMs, expectedRanks, &bound).isOk());
  id.root = toWire(bound);
  return id;
}

}  // namespace tutti::test
