#include "domain/backoff.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace dspsync {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// --- status classification --------------------------------------------------------------------------

TEST(backoff, classify_status_table) {
  struct status_case {
    int status;
    exchange_class expected;
  };
  const std::vector<status_case> cases = {
      {0, exchange_class::transient},
      {200, exchange_class::success},
      {201, exchange_class::success},
      {204, exchange_class::success},
      {299, exchange_class::success},
      {408, exchange_class::transient},
      {429, exchange_class::transient},
      {500, exchange_class::transient},
      {502, exchange_class::transient},
      {503, exchange_class::transient},
      {504, exchange_class::transient},
      {401, exchange_class::credentials_rejected},
      {403, exchange_class::credentials_rejected},
      {100, exchange_class::permanent},
      {199, exchange_class::permanent},
      {300, exchange_class::permanent},
      {301, exchange_class::permanent},
      {304, exchange_class::permanent},
      {400, exchange_class::permanent},
      {404, exchange_class::permanent},
      {410, exchange_class::permanent},
      {422, exchange_class::permanent},
      {501, exchange_class::permanent},
      {505, exchange_class::permanent},
      {-1, exchange_class::permanent},
  };
  for (const auto& c : cases)
    EXPECT_EQ(static_cast<int>(classify_status(c.status)), static_cast<int>(c.expected)) << c.status;
}

// --- full jitter ------------------------------------------------------------------------------------

int64_t ceiling_of(int attempt, int64_t base, int64_t cap) {
  int64_t c = base;
  for (int i = 0; i < attempt && c < cap; ++i) c *= 2;
  return std::min(c, cap);
}

TEST(backoff, full_jitter_stays_within_the_capped_exponential_ceiling) {
  const milliseconds base{100}, cap{30'000};
  uint64_t state = 42;
  for (int attempt = 0; attempt <= 20; ++attempt) {
    const int64_t ceiling = ceiling_of(attempt, base.count(), cap.count());
    int64_t lo = ceiling, hi = 0;
    for (int i = 0; i < 2'000; ++i) {
      const auto d = full_jitter(attempt, base, cap, splitmix64(state)).count();
      ASSERT_GE(d, 0) << "attempt " << attempt;
      ASSERT_LE(d, ceiling) << "attempt " << attempt;
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // The draws actually spread over the whole range, not a fixed delay.
    EXPECT_LT(lo, ceiling / 10 + 1) << "attempt " << attempt;
    EXPECT_GT(hi, ceiling - ceiling / 10 - 1) << "attempt " << attempt;
    // Extremes of the random input.
    for (uint64_t r : {uint64_t{0}, uint64_t{1}, std::numeric_limits<uint64_t>::max(),
                       std::numeric_limits<uint64_t>::max() - 1, uint64_t(ceiling), uint64_t(ceiling) + 1}) {
      const auto d = full_jitter(attempt, base, cap, r).count();
      EXPECT_GE(d, 0);
      EXPECT_LE(d, ceiling);
    }
  }
  // The ceiling itself is reachable (closed interval) and the cap binds from attempt 9 on.
  EXPECT_EQ(full_jitter(3, base, cap, 800).count(), 800);
  EXPECT_EQ(full_jitter(9, base, cap, 30'000).count(), 30'000);
  EXPECT_EQ(full_jitter(9, base, cap, 30'001).count(), 0);
}

TEST(backoff, full_jitter_does_not_overflow_at_large_attempts) {
  uint64_t state = 7;
  for (int attempt : {30, 62, 63, 64, 100, 1'000, std::numeric_limits<int>::max()}) {
    for (int i = 0; i < 200; ++i) {
      const auto d = full_jitter(attempt, milliseconds{500}, milliseconds{60'000}, splitmix64(state)).count();
      ASSERT_GE(d, 0) << attempt;
      ASSERT_LE(d, 60'000) << attempt;
    }
    EXPECT_EQ(full_jitter(attempt, milliseconds{500}, milliseconds{60'000}, 60'000).count(), 60'000)
        << attempt;
  }
  // A ceiling of 0 or a zero base gives no wait, never a negative one.
  EXPECT_EQ(full_jitter(5, milliseconds{0}, milliseconds{60'000}, 12345).count(), 0);
  EXPECT_EQ(full_jitter(5, milliseconds{100}, milliseconds{0}, 12345).count(), 0);
}

TEST(backoff, full_jitter_with_an_unbounded_cap_does_not_overflow) {
  // With a cap that never binds, base * 2^attempt itself must saturate instead of wrapping.
  const milliseconds base{100};
  const milliseconds cap = milliseconds::max();
  uint64_t state = 99;
  for (int attempt : {55, 56, 57, 62, 63, 64, 200}) {
    bool any_large = false;
    for (int i = 0; i < 200; ++i) {
      const auto d = full_jitter(attempt, base, cap, splitmix64(state)).count();
      ASSERT_GE(d, 0) << attempt;
      if (d > (int64_t{1} << 40)) any_large = true;
    }
    EXPECT_TRUE(any_large) << "attempt " << attempt << ": draws collapsed, the ceiling wrapped";
  }
}

TEST(backoff, full_jitter_is_uniform_over_the_ceiling) {
  // 10,000 seeded draws in 10 buckets. A fixed delay or a +/-50% "equal jitter" fails this; so would
  // a ceiling off by a factor of two.
  const milliseconds base{100}, cap{60'000};
  constexpr int attempt = 5;  // ceiling 3,200 ms
  constexpr int64_t ceiling = 3'200;
  constexpr int draws = 10'000;
  std::array<int, 10> buckets{};
  uint64_t state = 20'261'001;
  int below_quarter = 0;
  double sum = 0;
  for (int i = 0; i < draws; ++i) {
    const int64_t d = full_jitter(attempt, base, cap, splitmix64(state)).count();
    ASSERT_LE(d, ceiling);
    const auto b = static_cast<std::size_t>(std::min<int64_t>(9, d * 10 / (ceiling + 1)));
    ++buckets[b];
    if (d < ceiling / 4) ++below_quarter;
    sum += static_cast<double>(d);
  }
  double chi2 = 0;
  for (int n : buckets) {
    const double expected = draws / 10.0;
    chi2 += (n - expected) * (n - expected) / expected;
  }
  // 9 degrees of freedom: P(chi2 > 27.88) = 0.001.
  EXPECT_LT(chi2, 27.88);
  // +/-50% jitter never goes below half the ceiling; full jitter does a quarter of the time.
  EXPECT_NEAR(below_quarter / static_cast<double>(draws), 0.25, 0.02);
  EXPECT_NEAR(sum / draws, ceiling / 2.0, ceiling * 0.02);
}

TEST(backoff, splitmix64_known_sequence_and_seeding) {
  uint64_t state = 0;
  EXPECT_EQ(splitmix64(state), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(splitmix64(state), 0x6E789E6AA1B965F4ULL);
  EXPECT_EQ(splitmix64(state), 0x06C45D188009454FULL);
  uint64_t a = 1234, b = 1234;
  for (int i = 0; i < 100; ++i) EXPECT_EQ(splitmix64(a), splitmix64(b));
  uint64_t c = 1235;
  EXPECT_NE(splitmix64(a), splitmix64(c));
}

// --- Retry-After ------------------------------------------------------------------------------------

// Sun, 06 Nov 1994 08:49:37 GMT, the example of RFC 9110.
constexpr unix_seconds rfc_example = 784'111'777;

TEST(backoff, retry_after_delta_seconds) {
  struct delta_case {
    const char* value;
    int64_t seconds;
  };
  for (const auto& c : {delta_case{"120", 120}, delta_case{"0", 0}, delta_case{"  5 ", 5},
                        delta_case{"007", 7}, delta_case{"86400", 86'400}}) {
    auto r = parse_retry_after(c.value, rfc_example);
    ASSERT_TRUE(r.has_value()) << c.value;
    EXPECT_EQ(r->count(), c.seconds) << c.value;
  }
  // An absurd value does not overflow; it is just very long.
  auto huge = parse_retry_after("99999999999999999999999", rfc_example);
  ASSERT_TRUE(huge.has_value());
  EXPECT_GE(huge->count(), 999'999'999'999);
}

TEST(backoff, retry_after_http_date_in_all_three_forms) {
  struct date_case {
    const char* value;
    int64_t now;
    int64_t seconds;
  };
  const std::vector<date_case> cases = {
      {"Sun, 06 Nov 1994 08:49:37 GMT", rfc_example - 120, 120},
      {"Sunday, 06-Nov-94 08:49:37 GMT", rfc_example - 120, 120},
      {"Sun Nov  6 08:49:37 1994", rfc_example - 120, 120},
      {"Sun, 06 Nov 1994 08:49:37 GMT", rfc_example, 0},
      {"Mon, 07 Nov 1994 08:49:37 GMT", rfc_example, 86'400},
      {"Thu, 01 Jan 2026 00:00:00 GMT", 1'767'225'600 - 3'600, 3'600},
      {"Thu Jan 01 00:00:00 2026", 1'767'225'600 - 1, 1},
      // In the past: retry now, never a negative wait.
      {"Sun, 06 Nov 1994 08:49:37 GMT", rfc_example + 3'600, 0},
      {"Sunday, 06-Nov-94 08:49:37 GMT", rfc_example + 1, 0},
      {"Sun Nov  6 08:49:37 1994", rfc_example + 86'400, 0},
  };
  for (const auto& c : cases) {
    auto r = parse_retry_after(c.value, c.now);
    ASSERT_TRUE(r.has_value()) << c.value;
    EXPECT_EQ(r->count(), c.seconds) << c.value;
  }
}

TEST(backoff, retry_after_garbage_is_nullopt) {
  for (const char* v :
       {"", "   ", "soon", "-5", "1.5", "+5", "5s", "0x10", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT", "06 Nov 1994 08:49:37 GMT",
        "sun, 06 nov 1994 08:49:37 gmt", "2026-01-01T00:00:00Z"}) {
    EXPECT_FALSE(parse_retry_after(v, rfc_example).has_value()) << '"' << v << '"';
  }
}

}  // namespace
}  // namespace dspsync
