#include "domain/rate_budget.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "domain/backoff.hpp"

namespace dspsync {
namespace {

constexpr int64_t ms = 1'000'000;
constexpr int64_t sec = 1'000'000'000;

/// Asserts that in every window of length t, the grants number at most rate * t + burst. The
/// busiest windows start and end on a grant; for grants i <= j the bound reads
/// (j - rate * t_j) - (i - rate * t_i) + 1 <= burst, so a running minimum of i - rate * t_i checks
/// every pair in one pass.
void expect_within_budget(const std::vector<int64_t>& grants, double rate, double burst) {
  double lowest = 0;
  std::size_t lowest_at = 0;
  for (std::size_t j = 0; j < grants.size(); ++j) {
    const double slack = static_cast<double>(j) - rate * static_cast<double>(grants[j]) / sec;
    if (j == 0 || slack < lowest) {
      lowest = slack;
      lowest_at = j;
    }
    ASSERT_LE(slack - lowest + 1, burst + 1e-6) << "grants " << lowest_at << ".." << j << " in "
                                                << static_cast<double>(grants[j] - grants[lowest_at]) / sec
                                                << " s (rate " << rate << ", burst " << burst << ")";
  }
}

TEST(token_bucket, starts_full_and_refills_at_rate) {
  auto b = token_bucket::full(2.0, 3.0, 0);
  EXPECT_TRUE(b.try_take(0));
  EXPECT_TRUE(b.try_take(0));
  EXPECT_TRUE(b.try_take(0));
  EXPECT_FALSE(b.try_take(0));
  EXPECT_EQ(b.wait_ns(0), 500 * ms + 1);
  EXPECT_FALSE(b.try_take(499 * ms));
  EXPECT_TRUE(b.try_take(500 * ms + 1));
  // A long idle period refills to the burst, never beyond.
  b.refill(100 * sec);
  EXPECT_DOUBLE_EQ(b.tokens, 3.0);
}

TEST(token_bucket, clock_stepping_back_adds_nothing) {
  auto b = token_bucket::full(1.0, 1.0, 10 * sec);
  EXPECT_TRUE(b.try_take(10 * sec));
  EXPECT_FALSE(b.try_take(5 * sec));
  EXPECT_FALSE(b.try_take(10 * sec + 999 * ms));
  EXPECT_TRUE(b.try_take(11 * sec + 1));
}

TEST(token_bucket, zero_rate_never_refills) {
  auto b = token_bucket::full(0.0, 0.5, 0);  // burst raised to 1
  EXPECT_DOUBLE_EQ(b.burst, 1.0);
  EXPECT_TRUE(b.try_take(0));
  EXPECT_EQ(b.wait_ns(0), INT64_MAX);
  EXPECT_FALSE(b.try_take(1'000 * sec));
}

TEST(token_bucket, set_rate_keeps_what_accrued) {
  auto b = token_bucket::full(1.0, 10.0, 0);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(b.try_take(0));
  b.set_rate(10.0, 2.0, 5 * sec);  // 5 tokens accrued, capped to the new burst
  EXPECT_DOUBLE_EQ(b.tokens, 2.0);
  EXPECT_TRUE(b.try_take(5 * sec));
  EXPECT_TRUE(b.try_take(5 * sec));
  EXPECT_FALSE(b.try_take(5 * sec));
  EXPECT_TRUE(b.try_take(5 * sec + 100 * ms + 1));
}

/// A long random schedule of attempts (bursts, steady polling, long idles), with server hints
/// applied now and then: in no window does the bucket grant more than its budget, and
/// `wait_ns` always names an instant at which a token is there.
TEST(token_bucket, never_exceeds_budget_in_any_window) {
  struct config {
    double rate, burst;
  };
  for (config c : {config{5.0, 10.0}, config{0.5, 1.0}, config{100.0, 3.0}, config{2.5, 7.5}}) {
    for (uint64_t seed : {1u, 2u, 3u}) {
      uint64_t rng = seed * 7919;
      auto b = token_bucket::full(c.rate, c.burst, 0);
      std::vector<int64_t> grants;
      int64_t now = 0;
      for (int i = 0; i < 20'000; ++i) {
        const uint64_t r = splitmix64(rng);
        switch (r % 8) {
          case 0:  // a burst: same instant
            break;
          case 1:  // a long idle
            now += static_cast<int64_t>(r % (30 * sec / 1'000)) * 1'000;
            break;
          case 2: {  // the client sleeps exactly as long as the bucket asks
            const int64_t w = b.wait_ns(now);
            if (w != INT64_MAX) {
              now += w;
              auto copy = b;
              ASSERT_TRUE(copy.try_take(now)) << "wait_ns too short at " << now;
            }
            break;
          }
          case 3: {  // a server hint
            rate_hints h;
            h.remaining = static_cast<int64_t>(r % 7);
            if (r % 3 != 0) h.reset_seconds = static_cast<int64_t>((r >> 8) % 20);
            pace(b, h, now);
            break;
          }
          default:  // polling at a sub-token interval
            now += static_cast<int64_t>(r % static_cast<uint64_t>(2 * sec / c.rate));
        }
        if (b.try_take(now)) grants.push_back(now);
      }
      ASSERT_GT(grants.size(), 100u);
      expect_within_budget(grants, c.rate, c.burst);
    }
  }
}

// --- rate-limit headers --------------------------------------------------------------------------

using headers = std::vector<std::pair<std::string, std::string>>;
constexpr unix_seconds now_s = 1'700'000'000;

TEST(rate_limit_headers, x_ratelimit_delta_seconds) {
  auto h = parse_rate_limit_headers(
      {{"X-RateLimit-Limit", "100"}, {"x-ratelimit-remaining", "42"}, {"X-RATELIMIT-RESET", " 30 "}}, now_s);
  EXPECT_EQ(h.limit, 100);
  EXPECT_EQ(h.remaining, 42);
  EXPECT_EQ(h.reset_seconds, 30);
  EXPECT_FALSE(h.window_seconds);
  // A fraction rounds up: the window is not over after 1 s.
  EXPECT_EQ(parse_rate_limit_headers({{"X-RateLimit-Reset", "1.5"}}, now_s).reset_seconds, 2);
}

TEST(rate_limit_headers, x_ratelimit_reset_as_epoch) {
  // Above 10^9 the value is a timestamp: as a delta it would be more than 31 years.
  EXPECT_EQ(parse_rate_limit_headers({{"X-RateLimit-Reset", "1700000045"}}, now_s).reset_seconds, 45);
  EXPECT_EQ(parse_rate_limit_headers({{"X-RateLimit-Reset", "1699999000"}}, now_s).reset_seconds, 0);
  EXPECT_EQ(parse_rate_limit_headers({{"X-RateLimit-Reset", "1000000000"}}, now_s).reset_seconds,
            1'000'000'000);
  // Above 10^12: milliseconds since the epoch.
  EXPECT_EQ(parse_rate_limit_headers({{"X-RateLimit-Reset", "1700000045500"}}, now_s).reset_seconds, 46);
}

TEST(rate_limit_headers, ietf_dictionary_form) {
  auto h = parse_rate_limit_headers({{"RateLimit", "limit=10, remaining=5, reset=30"}}, now_s);
  EXPECT_EQ(h.limit, 10);
  EXPECT_EQ(h.remaining, 5);
  EXPECT_EQ(h.reset_seconds, 30);
}

TEST(rate_limit_headers, ietf_list_form_keeps_tightest_quota) {
  auto h = parse_rate_limit_headers({{"RateLimit", "\"default\";r=5;t=30"}}, now_s);
  EXPECT_EQ(h.remaining, 5);
  EXPECT_EQ(h.reset_seconds, 30);
  // 100 left for an hour is tighter than 50 left for a second.
  h = parse_rate_limit_headers({{"RateLimit", "\"burst\";r=50;t=1, \"daily\";r=100;t=3600"}}, now_s);
  EXPECT_EQ(h.remaining, 100);
  EXPECT_EQ(h.reset_seconds, 3600);
  // A spent quota beats any other.
  h = parse_rate_limit_headers({{"RateLimit", "\"a\";r=10;t=60, \"b\";r=0;t=5, \"c\";r=0;t=2"}}, now_s);
  EXPECT_EQ(h.remaining, 0);
  EXPECT_EQ(h.reset_seconds, 5);
  // Quoted names may hold separators.
  h = parse_rate_limit_headers({{"RateLimit", "\"x;y, z\";r=3;t=9"}}, now_s);
  EXPECT_EQ(h.remaining, 3);
  EXPECT_EQ(h.reset_seconds, 9);
}

TEST(rate_limit_headers, ietf_policy_forms) {
  auto h = parse_rate_limit_headers({{"RateLimit-Policy", "10;w=60"}}, now_s);
  EXPECT_EQ(h.limit, 10);
  EXPECT_EQ(h.window_seconds, 60);
  h = parse_rate_limit_headers({{"RateLimit-Policy", "\"default\";q=10;w=60"}}, now_s);
  EXPECT_EQ(h.limit, 10);
  EXPECT_EQ(h.window_seconds, 60);
  h = parse_rate_limit_headers({{"RateLimit-Policy", "\"burst\";q=100;w=1, \"daily\";q=1000;w=86400"}},
                               now_s);
  EXPECT_EQ(h.limit, 1000);
  EXPECT_EQ(h.window_seconds, 86400);
  EXPECT_FALSE(h.remaining);
}

TEST(rate_limit_headers, early_draft_separate_fields) {
  auto h = parse_rate_limit_headers(
      {{"RateLimit-Limit", "10, 10;w=1, 50;w=60"}, {"RateLimit-Remaining", "4"}, {"RateLimit-Reset", "7"}},
      now_s);
  EXPECT_EQ(h.limit, 10);
  EXPECT_EQ(h.remaining, 4);
  EXPECT_EQ(h.reset_seconds, 7);
}

TEST(rate_limit_headers, ietf_wins_over_x_and_garbage_is_ignored) {
  auto h = parse_rate_limit_headers(
      {{"X-RateLimit-Remaining", "99"}, {"X-RateLimit-Reset", "99"}, {"RateLimit", "\"q\";r=1;t=2"}}, now_s);
  EXPECT_EQ(h.remaining, 1);
  EXPECT_EQ(h.reset_seconds, 2);
  h = parse_rate_limit_headers({{"X-RateLimit-Remaining", "-1"},
                                {"X-RateLimit-Limit", "ten"},
                                {"X-RateLimit-Reset", "1e3"},
                                {"RateLimit", "garbage;;=,"}},
                               now_s);
  EXPECT_FALSE(h.remaining);
  EXPECT_FALSE(h.limit);
  EXPECT_FALSE(h.reset_seconds);
  EXPECT_FALSE(parse_rate_limit_headers(headers{}, now_s).remaining);
}

// Found by the http_dates fuzz target: a policy window of 0 s is no window; it is ignored (and a
// quota with a real window after it in the same field still counts).
TEST(rate_limit_headers, a_policy_window_of_zero_seconds_is_ignored) {
  auto h = parse_rate_limit_headers({{"RateLimit-Policy", "\"default\";q=10;w=0"}}, now_s);
  EXPECT_EQ(h.limit, 10);
  EXPECT_FALSE(h.window_seconds);
  h = parse_rate_limit_headers({{"RateLimit-Policy", "\"a\";q=10;w=0, \"b\";q=100;w=60"}}, now_s);
  ASSERT_TRUE(h.window_seconds);
  EXPECT_GT(*h.window_seconds, 0);
}

// --- pacing --------------------------------------------------------------------------------------

/// Tries every millisecond from `from` to `to` (both included); returns the grant times. Pacing
/// puts the last grant of a window right at its reset: polls end a millisecond later, so that a
/// rounding error cannot push it out.
std::vector<int64_t> poll(token_bucket& b, int64_t from, int64_t to) {
  std::vector<int64_t> grants;
  for (int64_t t = from; t <= to; t += ms)
    if (b.try_take(t)) grants.push_back(t);
  return grants;
}

TEST(rate_pacing, spreads_remaining_quota_until_reset) {
  auto b = token_bucket::full(5.0, 10.0, 0);
  rate_hints h;
  h.remaining = 10;
  h.reset_seconds = 100;
  pace(b, h, 0);
  // Unpaced, the bucket would grant 10 at once and 5 per second after: a 429 within a second.
  const auto before_reset = poll(b, 0, 100 * sec + ms);
  EXPECT_EQ(before_reset.size(), 10u);
  ASSERT_GE(before_reset.size(), 2u);
  EXPECT_GE(before_reset[1] - before_reset[0], 10 * sec);  // spread, not a burst
  EXPECT_LT(b.effective_rate(50 * sec), 5.0);
  // After the reset the configured rate applies again.
  EXPECT_DOUBLE_EQ(b.effective_rate(100 * sec), 5.0);
  const auto after = poll(b, 100 * sec + 2 * ms, 110 * sec);
  EXPECT_GE(after.size(), 49u);
  EXPECT_LE(after.size(), 52u);
}

TEST(rate_pacing, no_token_until_reset_when_quota_is_spent) {
  auto b = token_bucket::full(5.0, 10.0, 0);
  rate_hints h;
  h.remaining = 0;
  h.reset_seconds = 30;
  pace(b, h, 0);
  EXPECT_FALSE(b.try_take(0));
  const int64_t w = b.wait_ns(0);
  EXPECT_GE(w, 30 * sec);
  EXPECT_LE(w, 30 * sec + 1'000);
  EXPECT_FALSE(b.try_take(30 * sec - ms));
  EXPECT_TRUE(b.try_take(w));
}

TEST(rate_pacing, quota_ampler_than_budget_only_caps_the_burst) {
  auto b = token_bucket::full(5.0, 10.0, 0);
  rate_hints h;
  h.remaining = 1000;
  h.reset_seconds = 10;
  pace(b, h, 0);
  EXPECT_DOUBLE_EQ(b.effective_rate(0), 5.0);
  EXPECT_EQ(poll(b, 0, 10 * sec + ms).size(), 10u + 50u);
  // A small remainder caps what a burst may spend.
  b = token_bucket::full(5.0, 10.0, 0);
  h.remaining = 3;
  h.reset_seconds = 1;
  pace(b, h, 0);
  EXPECT_EQ(poll(b, 0, 1 * sec + ms).size(), 3u);
}

TEST(rate_pacing, window_stands_in_for_unknown_reset_and_nothing_without_remaining) {
  auto b = token_bucket::full(5.0, 10.0, 0);
  rate_hints h;
  h.remaining = 2;
  h.window_seconds = 60;
  pace(b, h, 0);
  EXPECT_EQ(poll(b, 0, 60 * sec + ms).size(), 2u);

  b = token_bucket::full(5.0, 10.0, 0);
  h = {};
  h.limit = 1;
  h.window_seconds = 60;
  pace(b, h, 0);
  EXPECT_EQ(poll(b, 0, 1 * sec + ms).size(), 15u);
}

TEST(rate_pacing, each_response_repaces) {
  // The client re-paces after every response, as a poller does: the quota still lasts.
  auto b = token_bucket::full(5.0, 10.0, 0);
  int64_t remaining = 20;
  const int64_t reset_at = 60 * sec;
  int sent = 0;
  for (int64_t t = 0; t < reset_at; t += ms) {
    if (!b.try_take(t)) continue;
    ++sent;
    remaining = std::max<int64_t>(remaining - 1, 0);
    rate_hints h;
    h.remaining = remaining;
    h.reset_seconds = (reset_at - t + sec - 1) / sec;
    pace(b, h, t);
  }
  EXPECT_LE(sent, 20);
  EXPECT_GE(sent, 18);
}

}  // namespace
}  // namespace dspsync
