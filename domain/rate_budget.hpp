#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "domain/timefmt.hpp"

namespace dspsync {

// The rate budget of one endpoint (or of a group sharing one DSP quota): a token bucket as a pure
// function of (state, now), plus the server's rate-limit hints that slow it down before the
// quota is gone rather than after a 429. Times are nanoseconds on a monotonic clock; the caller
// owns the clock, so tests run a day of traffic in microseconds.

/// A token bucket. In every window of length t it grants at most `rate * t + burst` requests, and
/// `pace` can only lower what it grants, never raise it, so server hints never break the budget.
struct token_bucket {
  /// Configured refill rate, tokens per second (>= 0).
  double rate = 1.0;
  /// Capacity: the largest burst (>= 1).
  double burst = 1.0;
  /// Tokens held at `last_ns`. Negative is a debt set by `pace` when the server's quota is spent.
  double tokens = 1.0;
  /// When `tokens` was last brought up to date.
  int64_t last_ns = 0;
  /// Until `paced_until_ns` the bucket refills at `min(rate, paced_rate)` (see `pace`).
  double paced_rate = 0.0;
  int64_t paced_until_ns = INT64_MIN;

  /// A full bucket at `now_ns`. `burst` below 1 is raised to 1 (a bucket that cannot hold one
  /// token would never grant); a negative rate is taken as 0.
  static token_bucket full(double rate, double burst, int64_t now_ns);

  /// Adds what accrued since `last_ns`. A clock that steps back adds nothing.
  void refill(int64_t now_ns);
  /// Takes one token if one is available at `now_ns`.
  bool try_take(int64_t now_ns);
  /// Nanoseconds from `now_ns` until one token is available (0 when one is; INT64_MAX when the
  /// rate is 0 and the bucket is empty). `try_take(now_ns + wait_ns(now_ns))` succeeds.
  int64_t wait_ns(int64_t now_ns) const;
  /// Changes the configured rate and burst from `now_ns` on; what accrued before is kept (up to
  /// the new burst).
  void set_rate(double rate, double burst, int64_t now_ns);
  /// The refill rate in force at `now_ns`.
  double effective_rate(int64_t now_ns) const;
};

/// What a response's rate-limit headers say about the server's quota. Every field is optional:
/// servers send any subset.
struct rate_hints {
  /// Requests left in the current window.
  std::optional<int64_t> remaining;
  /// Seconds until the window resets (always a delta; epoch forms are converted on parsing).
  std::optional<int64_t> reset_seconds;
  /// Requests allowed per window.
  std::optional<int64_t> limit;
  /// Window length in seconds.
  std::optional<int64_t> window_seconds;
};

/// Reads the rate-limit headers of a response (names case-insensitive):
/// - `X-RateLimit-Remaining`, `X-RateLimit-Limit`, `X-RateLimit-Reset`. The reset is delta seconds
///   unless it is larger than 10^9, which as a delta would be over 31 years: then it is a Unix
///   timestamp in seconds (GitHub, Twitter), or in milliseconds above 10^12, and the delta is
///   taken from `now` (0 when in the past);
/// - the IETF draft fields: `RateLimit` in the dictionary form `limit=10, remaining=5, reset=30`
///   and in the list form `"default";r=5;t=30`; `RateLimit-Policy` as `10;w=60` and
///   `"default";q=10;w=60`; and the early separate `RateLimit-Limit` / `-Remaining` / `-Reset`.
/// When a field lists several quotas, the most constraining one (the lowest remaining / reset,
/// or quota / window) is kept. The IETF fields, being the standard, win over `X-RateLimit-*`
/// when a response carries both. Unparseable values are ignored, never guessed at.
rate_hints parse_rate_limit_headers(const std::vector<std::pair<std::string, std::string>>& headers,
                                    unix_seconds now);

/// Slows `bucket` so that the server's remaining quota lasts until its reset:
/// - `remaining == 0`: no token until the reset (the first one exactly then);
/// - otherwise, until the reset, the bucket holds at most one token (the quota is spread out, not
///   spent in one burst) and refills at `min(rate, (remaining - held) / reset)`, so at most
///   `remaining` requests go out before the reset. After it, the configured rate applies again.
/// When the reset is unknown the window length stands in for it (the whole window may remain);
/// with neither, the bucket only stops holding more tokens than `remaining`. Without `remaining`
/// nothing changes. Call it with the hints of every response: each call replaces the last one's
/// pacing.
void pace(token_bucket& bucket, const rate_hints& hints, int64_t now_ns);

}  // namespace dspsync
