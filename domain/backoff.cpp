#include "domain/backoff.hpp"

#include <algorithm>

namespace dspsync {

exchange_class classify_status(int status) {
  if (status >= 200 && status < 300) return exchange_class::success;
  switch (status) {
    case 0:
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return exchange_class::transient;
    case 401:
    case 403:
      return exchange_class::credentials_rejected;
    default:
      return exchange_class::permanent;
  }
}

std::chrono::milliseconds full_jitter(int attempt, std::chrono::milliseconds base,
                                      std::chrono::milliseconds cap, uint64_t random) {
  // base * 2^attempt, saturating at cap without overflowing.
  int64_t ceiling = base.count();
  for (int i = 0; i < attempt && ceiling < cap.count(); ++i) {
    if (ceiling > cap.count() / 2) {
      ceiling = cap.count();
      break;
    }
    ceiling *= 2;
  }
  ceiling = std::min<int64_t>(ceiling, cap.count());
  if (ceiling <= 0) return std::chrono::milliseconds{0};
  // Uniform in [0, ceiling]: inclusive of the ceiling, as the formula's closed interval.
  auto span = static_cast<uint64_t>(ceiling) + 1;
  return std::chrono::milliseconds{static_cast<int64_t>(random % span)};
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, unix_seconds now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 12) return std::chrono::seconds{999'999'999'999};
    int64_t n = 0;
    for (char c : value) n = n * 10 + (c - '0');
    return std::chrono::seconds{n};
  }
  auto at = parse_http_date(value);
  if (!at) return std::nullopt;
  return std::chrono::seconds{std::max<int64_t>(0, *at - now)};
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace dspsync
