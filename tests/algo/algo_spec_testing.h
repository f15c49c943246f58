// A TUTTI_ALGO spec the test expects to parse, for tests of what the spec decides (tests/algo;
// included as "algo/algo_spec_testing.h", like "mp/harness.h").
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "algo/algo_spec.h"

namespace tutti {

inline AlgoSpec parsed(const std::string& text) {
  AlgoSpec spec;
  Status status = AlgoSpec::parse(text, &spec);
  EXPECT_TRUE(status.isOk()) << text << ": " << status.message();
  return spec;
}

}  // namespace tutti
