#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dspsync {

/// Seconds since 1970-01-01T00:00:00Z (proleptic Gregorian, no leap seconds).
using unix_seconds = int64_t;

/// Parses an RFC 3339 timestamp: `2026-10-01T12:00:00Z`, with optional fractional seconds
/// (truncated) and a `+hh:mm` / `-hh:mm` offset; `T` may be `t` or a space. nullopt when invalid
/// (including impossible dates such as 2026-02-30).
std::optional<unix_seconds> parse_rfc3339(std::string_view text);

/// Formats as `YYYY-MM-DDTHH:MM:SSZ`.
std::string format_rfc3339(unix_seconds t);

/// Parses an HTTP-date in any of the three forms of RFC 9110 section 5.6.7: IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), the obsolete RFC 850 form (`Sunday, 06-Nov-94 08:49:37 GMT`;
/// two-digit years more than 50 years in the future are taken as the past century) and asctime
/// (`Sun Nov  6 08:49:37 1994`). nullopt when invalid.
std::optional<unix_seconds> parse_http_date(std::string_view text);

/// Formats as IMF-fixdate.
std::string format_http_date(unix_seconds t);

/// Days since the epoch for a civil date (Howard Hinnant's algorithm); month 1-12.
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);

/// True when year-month-day is a real calendar date.
bool valid_date(int64_t year, unsigned month, unsigned day);

}  // namespace dspsync
