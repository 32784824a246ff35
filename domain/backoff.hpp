#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "domain/timefmt.hpp"

namespace dspsync {

/// How an HTTP exchange ended, for the retry decision.
enum class exchange_class {
  /// 2xx: use the page.
  success,
  /// Connect error, timeout, reset, 408, 429, 500, 502, 503, 504: retry with backoff.
  transient,
  /// 401 or 403: the endpoint parks with "credentials rejected"; retrying would not help.
  credentials_rejected,
  /// Any other status: not retried; the endpoint parks with the status.
  permanent,
};

/// Classifies a status code (0 = transport failure).
exchange_class classify_status(int status);

/// Capped exponential backoff with full jitter: uniform(0, min(cap, base * 2^attempt)). `random`
/// is a uniformly distributed 64-bit value (the caller owns the generator, so runs are seeded and
/// reproducible). `attempt` counts from 0.
std::chrono::milliseconds full_jitter(int attempt, std::chrono::milliseconds base,
                                      std::chrono::milliseconds cap, uint64_t random);

/// The wait a `Retry-After` value asks for (RFC 9110 10.2.3): delta-seconds, or an HTTP-date in any
/// of its three forms, relative to `now`. A date in the past means 0. nullopt when the value is
/// neither.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, unix_seconds now);

/// splitmix64: a small, fast, seedable generator step.
uint64_t splitmix64(uint64_t& state);

}  // namespace dspsync
