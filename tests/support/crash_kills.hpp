#pragma once

#include <cstdint>
#include <cstdlib>

#include "tests/support/scale.hpp"

namespace dspsync::test {

/// How many SIGKILLs a crash campaign runs: DSPSYNC_CRASH_KILLS when set (`make crash-test
/// KILLS=N`), otherwise `fallback` (the count `make test` runs) scaled like the data sets by
/// DSPSYNC_TEST_SCALE, but never below 10: the sanitizer suite runs a quarter of the kills.
inline int crash_kills(int fallback) {
  const char* v = std::getenv("DSPSYNC_CRASH_KILLS");
  if (v == nullptr || *v == '\0') return static_cast<int>(scaled(static_cast<uint64_t>(fallback), 10));
  const long n = std::strtol(v, nullptr, 10);
  return n < 0 ? 0 : static_cast<int>(n);
}

/// The seed of a campaign's kill moments: DSPSYNC_CRASH_SEED when set (to replay a failing run,
/// whose seed the campaign prints), otherwise `fallback`.
inline uint64_t crash_seed(uint64_t fallback) {
  const char* v = std::getenv("DSPSYNC_CRASH_SEED");
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 10);
}

}  // namespace dspsync::test
