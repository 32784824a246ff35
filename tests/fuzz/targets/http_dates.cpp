// Retry-After, HTTP-date, RFC 3339 and rate-limit headers, as a DSP (or anything between) sends
// them. For any text: a date that parses formats back to a text that parses to the same instant;
// a Retry-After is never negative and, as delta-seconds, is the number sent; rate-limit headers
// never yield negative quotas or waits.

#include "domain/backoff.hpp"
#include "domain/rate_budget.hpp"
#include "domain/timefmt.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace dspsync::fuzz {

int fuzz_http_dates(const uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const auto parts = split_input(all, 3);
  const std::string_view text = parts[0];
  const unix_seconds now = 1'790'000'000;  // 2026-09

  if (auto t = parse_http_date(text)) {
    const auto again = parse_http_date(format_http_date(*t));
    FUZZ_CHECK("http_dates", again && *again == *t,
               "HTTP-date \"" + std::string(text) + "\" formats as \"" + format_http_date(*t) +
                   "\", which does not parse back to the same instant");
  }
  if (auto t = parse_rfc3339(text)) {
    const auto again = parse_rfc3339(format_rfc3339(*t));
    FUZZ_CHECK("http_dates", again && *again == *t,
               "RFC 3339 \"" + std::string(text) + "\" formats as \"" + format_rfc3339(*t) +
                   "\", which does not parse back to the same instant");
  }
  if (auto wait = parse_retry_after(text, now)) {
    FUZZ_CHECK("http_dates", wait->count() >= 0,
               "Retry-After \"" + std::string(text) + "\" gave a negative wait");
  }

  // A response's rate-limit headers: names and values from the rest of the input.
  std::vector<std::pair<std::string, std::string>> headers;
  const char* names[] = {
      "X-RateLimit-Remaining", "X-RateLimit-Limit", "X-RateLimit-Reset",   "RateLimit",
      "RateLimit-Policy",      "RateLimit-Limit",   "RateLimit-Remaining", "RateLimit-Reset"};
  for (std::size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].empty()) continue;
    headers.emplace_back(names[static_cast<uint8_t>(parts[i][0]) % 8], std::string(parts[i].substr(1)));
  }
  headers.emplace_back(names[size % 8], std::string(text));
  const auto hints = parse_rate_limit_headers(headers, now);
  if (hints.remaining) FUZZ_CHECK("http_dates", *hints.remaining >= 0, "a negative remaining quota");
  if (hints.reset_seconds) FUZZ_CHECK("http_dates", *hints.reset_seconds >= 0, "a negative reset");
  if (hints.limit) FUZZ_CHECK("http_dates", *hints.limit >= 0, "a negative limit");
  if (hints.window_seconds) FUZZ_CHECK("http_dates", *hints.window_seconds > 0, "a window of no time");
  return 0;
}

}  // namespace dspsync::fuzz

DSPSYNC_FUZZ_ENTRY(fuzz_http_dates)
