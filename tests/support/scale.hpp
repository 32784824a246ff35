#pragma once

#include <cstdint>
#include <cstdlib>

namespace dspsync::test {

/// `n` scaled by DSPSYNC_TEST_SCALE percent (default 100; `make asan-test` uses 25): the
/// benchmark-sized tests keep their full size in the normal build and stay affordable under the
/// sanitizers, which make them 5-10 times slower. Never below `floor`.
inline uint64_t scaled(uint64_t n, uint64_t floor = 1) {
  const char* v = std::getenv("DSPSYNC_TEST_SCALE");
  uint64_t percent = v != nullptr ? std::strtoull(v, nullptr, 10) : 100;
  if (percent == 0 || percent > 100) percent = 100;
  const uint64_t out = n * percent / 100;
  return out < floor ? floor : out;
}

}  // namespace dspsync::test
