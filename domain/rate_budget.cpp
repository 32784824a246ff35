#include "domain/rate_budget.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string_view>

namespace dspsync {

namespace {

constexpr double ns_per_s = 1e9;

double seconds(int64_t ns) { return static_cast<double>(ns) / ns_per_s; }

/// Nanoseconds, rounded up, for `tokens` to accrue at `rate` (> 0); saturates at INT64_MAX.
int64_t ns_to_accrue(double tokens, double rate) {
  const double ns = std::ceil(tokens / rate * ns_per_s);
  // One nanosecond more than the exact answer, so that the refill computed at that instant is not
  // a rounding error short of the token.
  if (ns >= 9e18) return INT64_MAX;
  return static_cast<int64_t>(ns) + 1;
}

/// `base + n * unit`, saturating at INT64_MAX (a reset years away must not wrap around).
int64_t saturating_add(int64_t base, int64_t n, int64_t unit) {
  if (n > (INT64_MAX - std::max<int64_t>(base, 0)) / unit) return INT64_MAX;
  return base + n * unit;
}

}  // namespace

// --- token bucket --------------------------------------------------------------------------------

token_bucket token_bucket::full(double rate, double burst, int64_t now_ns) {
  token_bucket b;
  b.rate = std::max(rate, 0.0);
  b.burst = std::max(burst, 1.0);
  b.tokens = b.burst;
  b.last_ns = now_ns;
  return b;
}

void token_bucket::refill(int64_t now_ns) {
  if (now_ns <= last_ns) return;
  double t = tokens;
  int64_t from = last_ns;
  if (from < paced_until_ns) {
    const int64_t to = std::min(now_ns, paced_until_ns);
    t += std::min(rate, paced_rate) * seconds(to - from);
    from = to;
  }
  t += rate * seconds(now_ns - from);
  tokens = std::min(burst, t);
  last_ns = now_ns;
}

bool token_bucket::try_take(int64_t now_ns) {
  refill(now_ns);
  if (tokens < 1.0) return false;
  tokens -= 1.0;
  return true;
}

int64_t token_bucket::wait_ns(int64_t now_ns) const {
  token_bucket b = *this;
  b.refill(now_ns);
  if (b.tokens >= 1.0) return 0;
  double need = 1.0 - b.tokens;
  const int64_t now = std::max(now_ns, b.last_ns);
  int64_t waited = 0;
  if (now < b.paced_until_ns) {
    const double slow = std::min(b.rate, b.paced_rate);
    const int64_t span = b.paced_until_ns - now;
    const double gained = slow * seconds(span);
    if (slow > 0 && gained >= need) return ns_to_accrue(need, slow);
    need -= gained;
    waited = span;
  }
  if (b.rate <= 0) return INT64_MAX;
  const int64_t rest = ns_to_accrue(need, b.rate);
  return rest > INT64_MAX - waited ? INT64_MAX : waited + rest;
}

void token_bucket::set_rate(double new_rate, double new_burst, int64_t now_ns) {
  refill(now_ns);
  rate = std::max(new_rate, 0.0);
  burst = std::max(new_burst, 1.0);
  tokens = std::min(tokens, burst);
}

double token_bucket::effective_rate(int64_t now_ns) const {
  return now_ns < paced_until_ns ? std::min(rate, paced_rate) : rate;
}

void pace(token_bucket& bucket, const rate_hints& hints, int64_t now_ns) {
  if (!hints.remaining) return;
  bucket.refill(now_ns);
  const double remaining = static_cast<double>(std::max<int64_t>(*hints.remaining, 0));
  const auto reset = hints.reset_seconds ? hints.reset_seconds : hints.window_seconds;
  // Every branch only lowers tokens or the refill rate: the configured budget stays an upper bound.
  if (!reset || *reset <= 0) {
    bucket.tokens = std::min(bucket.tokens, remaining);
    return;
  }
  const double horizon = static_cast<double>(*reset);
  const int64_t until = saturating_add(now_ns, *reset, 1'000'000'000);
  if (remaining == 0) {
    // A debt that the configured rate pays off exactly at the reset.
    bucket.paced_until_ns = now_ns;
    bucket.tokens = std::min(bucket.tokens, 1.0 - bucket.rate * horizon);
    return;
  }
  bucket.tokens = std::min(bucket.tokens, remaining);
  if (remaining / horizon < bucket.rate) bucket.tokens = std::min(bucket.tokens, 1.0);
  bucket.paced_rate = (remaining - std::max(bucket.tokens, 0.0)) / horizon;
  bucket.paced_until_ns = until;
}

// --- rate-limit headers --------------------------------------------------------------------------

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// A non-negative decimal number, a fraction rounded up (a reset of 1.5 s is not over after 1 s).
/// nullopt for anything else, or beyond 10^15.
std::optional<int64_t> parse_count(std::string_view s) {
  s = trim(s);
  const std::size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  auto digits = [](std::string_view d) {
    return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || whole.size() > 15 || !digits(whole)) return std::nullopt;
  if (dot != std::string_view::npos && (frac.empty() || !digits(frac))) return std::nullopt;
  int64_t n = 0;
  for (char c : whole) n = n * 10 + (c - '0');
  if (std::any_of(frac.begin(), frac.end(), [](char c) { return c != '0'; })) ++n;
  return n;
}

/// One member of a structured-field list or dictionary (RFC 8941), read tolerantly: `key=value`,
/// a bare or quoted item, then `;name=value` parameters.
struct sf_member {
  std::string key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::string>> params;

  std::optional<std::string_view> param(std::string_view name) const {
    for (const auto& [k, v] : params)
      if (k == name) return std::string_view(v);
    return std::nullopt;
  }
};

/// Splits `text` at `sep` outside double quotes.
std::vector<std::string_view> split_unquoted(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && quoted) {
      ++i;
    } else if (text[i] == '"') {
      quoted = !quoted;
    } else if (text[i] == sep && !quoted) {
      parts.push_back(trim(text.substr(start, i - start)));
      start = i + 1;
    }
  }
  parts.push_back(trim(text.substr(start)));
  return parts;
}

std::string unquote(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return std::string(s);
  std::string out;
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    if (s[i] == '\\' && i + 2 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

std::vector<sf_member> parse_structured(std::string_view text) {
  std::vector<sf_member> members;
  for (std::string_view part : split_unquoted(text, ',')) {
    if (part.empty()) continue;
    auto pieces = split_unquoted(part, ';');
    sf_member m;
    std::string_view head = pieces[0];
    const std::size_t eq = head.front() == '"' ? std::string_view::npos : head.find('=');
    if (eq == std::string_view::npos) {
      m.key = unquote(head);
    } else {
      m.key = std::string(trim(head.substr(0, eq)));
      m.value = unquote(trim(head.substr(eq + 1)));
    }
    for (std::size_t i = 1; i < pieces.size(); ++i) {
      const std::size_t peq = pieces[i].find('=');
      if (peq == std::string_view::npos) continue;
      m.params.emplace_back(std::string(trim(pieces[i].substr(0, peq))),
                            unquote(trim(pieces[i].substr(peq + 1))));
    }
    members.push_back(std::move(m));
  }
  return members;
}

/// True when quota `a` per `a_window` constrains more than `b` per `b_window`. A spent quota is the
/// most constraining; among spent ones, the one that resets later.
bool tighter(int64_t a, int64_t a_window, int64_t b, int64_t b_window) {
  if (a == 0 || b == 0) return a == 0 && (b != 0 || a_window > b_window);
  if (a_window <= 0) return false;
  if (b_window <= 0) return true;
  return static_cast<long double>(a) * b_window < static_cast<long double>(b) * a_window;
}

/// `RateLimit`: the dictionary form (draft 07) or the list of named quotas (draft 08 on).
void read_ratelimit_field(std::string_view text, rate_hints& out) {
  std::optional<int64_t> best_r, best_t;
  for (const sf_member& m : parse_structured(text)) {
    if (m.value) {
      if (m.key == "limit") out.limit = parse_count(*m.value);
      if (m.key == "remaining") out.remaining = parse_count(*m.value);
      if (m.key == "reset") out.reset_seconds = parse_count(*m.value);
      continue;
    }
    auto r = m.param("r");
    auto t = m.param("t");
    auto remaining = r ? parse_count(*r) : std::nullopt;
    if (!remaining) continue;
    const auto reset = t ? parse_count(*t) : std::nullopt;
    if (!best_r || tighter(*remaining, reset.value_or(0), *best_r, best_t.value_or(0))) {
      best_r = remaining;
      best_t = reset;
    }
  }
  if (best_r) {
    out.remaining = best_r;
    out.reset_seconds = best_t;
  }
}

/// `RateLimit-Policy`: `10;w=60` (drafts up to 07) or `"name";q=10;w=60` (draft 08 on).
void read_policy_field(std::string_view text, rate_hints& out) {
  std::optional<int64_t> best_q, best_w;
  for (const sf_member& m : parse_structured(text)) {
    if (m.value) continue;
    auto q = m.param("q");
    auto quota = q ? parse_count(*q) : parse_count(m.key);
    if (!quota) continue;
    auto w = m.param("w");
    auto window = w ? parse_count(*w) : std::nullopt;
    if (window && *window == 0) window.reset();  // `w=0` is no window at all: ignored, not guessed at
    if (!best_q || tighter(*quota, window.value_or(0), *best_q, best_w.value_or(0))) {
      best_q = quota;
      best_w = window;
    }
  }
  if (best_q) {
    out.limit = best_q;
    out.window_seconds = best_w;
  }
}

/// `X-RateLimit-Reset`: delta seconds, or a Unix timestamp (seconds above 10^9, milliseconds
/// above 10^12) turned into a delta from `now`.
std::optional<int64_t> read_x_reset(std::string_view text, unix_seconds now) {
  auto n = parse_count(text);
  if (!n) return std::nullopt;
  if (*n > 1'000'000'000'000)
    *n = (*n + 999) / 1000 - now;
  else if (*n > 1'000'000'000)
    *n -= now;
  return std::max<int64_t>(*n, 0);
}

}  // namespace

rate_hints parse_rate_limit_headers(const std::vector<std::pair<std::string, std::string>>& headers,
                                    unix_seconds now) {
  auto first = [&](std::string_view name) -> const std::string* {
    for (const auto& [k, v] : headers)
      if (iequals(k, name)) return &v;
    return nullptr;
  };
  auto set = [](std::optional<int64_t>& dst, std::optional<int64_t> v) {
    if (v) dst = v;
  };
  rate_hints h;
  // Lowest precedence first: each later source overwrites what it knows.
  if (auto* v = first("X-RateLimit-Limit")) set(h.limit, parse_count(*v));
  if (auto* v = first("X-RateLimit-Remaining")) set(h.remaining, parse_count(*v));
  if (auto* v = first("X-RateLimit-Reset")) set(h.reset_seconds, read_x_reset(*v, now));
  if (auto* v = first("RateLimit-Limit")) {
    // `10` or, in the earliest drafts, `10, 10;w=1, 50;w=60`: the first item is the limit in force.
    auto members = parse_structured(*v);
    if (!members.empty() && !members[0].value) set(h.limit, parse_count(members[0].key));
  }
  if (auto* v = first("RateLimit-Remaining")) set(h.remaining, parse_count(*v));
  if (auto* v = first("RateLimit-Reset")) set(h.reset_seconds, parse_count(*v));
  if (auto* v = first("RateLimit-Policy")) {
    rate_hints p;
    read_policy_field(*v, p);
    set(h.limit, p.limit);
    set(h.window_seconds, p.window_seconds);
  }
  if (auto* v = first("RateLimit")) {
    rate_hints r;
    read_ratelimit_field(*v, r);
    set(h.limit, r.limit);
    set(h.remaining, r.remaining);
    set(h.reset_seconds, r.reset_seconds);
  }
  return h;
}

}  // namespace dspsync
