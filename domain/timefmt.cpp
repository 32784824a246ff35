#include "domain/timefmt.hpp"

#include <array>
#include <chrono>
#include <cstdio>

namespace dspsync {

namespace {

constexpr int64_t seconds_per_day = 86'400;

constexpr std::array<std::string_view, 7> short_day_names = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> long_day_names = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                            "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> month_names = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct civil_date {
  int64_t year;
  unsigned month;
  unsigned day;
};

// Inverse of days_from_civil, also Hinnant's: exact for every int64 day count we can produce.
civil_date civil_from_days(int64_t z) {
  z += 719'468;
  const int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
  const auto doe = static_cast<unsigned>(z - era * 146'097);
  const unsigned yoe = (doe - doe / 1'460 + doe / 36'524 - doe / 146'096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
  return {y, m, d};
}

// Floor division, so times before 1970 land on the right day.
int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

/// 0 = Sunday; 1970-01-01 was a Thursday.
size_t weekday_from_days(int64_t days) {
  const int64_t w = (days + 4) % 7;
  return static_cast<size_t>(w < 0 ? w + 7 : w);
}

/// A cursor over the text that reads fixed-width fields; any mismatch makes the whole parse fail.
class scanner {
 public:
  explicit scanner(std::string_view text) : text_(text) {}

  bool done() const { return pos_ == text_.size(); }

  /// Reads exactly `n` decimal digits.
  bool digits(size_t n, int64_t& out) {
    if (text_.size() - pos_ < n) return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      const char c = text_[pos_ + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    pos_ += n;
    out = v;
    return true;
  }

  bool literal(std::string_view s) {
    if (text_.substr(pos_, s.size()) != s) return false;
    pos_ += s.size();
    return true;
  }

  bool one_of(std::string_view chars) {
    if (done() || chars.find(text_[pos_]) == std::string_view::npos) return false;
    ++pos_;
    return true;
  }

  bool peek(char c) const { return !done() && text_[pos_] == c; }

  /// Reads one name of `names` (case-sensitive, as RFC 9110 requires); returns its index.
  template <size_t N>
  bool name(const std::array<std::string_view, N>& names, size_t& index) {
    for (size_t i = 0; i < N; ++i) {
      if (literal(names[i])) {
        index = i;
        return true;
      }
    }
    return false;
  }

  /// Skips one or more digits (the truncated fraction of a second).
  bool skip_digits() {
    const size_t start = pos_;
    while (!done() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

/// Reads `HH:MM:SS`. Second 60 is allowed (a leap second, RFC 3339 and RFC 9110 both permit it) and
/// is counted arithmetically, i.e. as the first second of the next minute.
bool time_of_day(scanner& s, int64_t& seconds) {
  int64_t h = 0, m = 0, sec = 0;
  if (!s.digits(2, h) || !s.literal(":") || !s.digits(2, m) || !s.literal(":") || !s.digits(2, sec))
    return false;
  if (h > 23 || m > 59 || sec > 60) return false;
  seconds = h * 3'600 + m * 60 + sec;
  return true;
}

std::optional<unix_seconds> compose(int64_t year, int64_t month, int64_t day, int64_t seconds_of_day) {
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  if (!valid_date(year, static_cast<unsigned>(month), static_cast<unsigned>(day))) return std::nullopt;
  return days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * seconds_per_day +
         seconds_of_day;
}

int64_t current_year() {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  return civil_from_days(floor_div(secs, seconds_per_day)).year;
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<unix_seconds> parse_imf_fixdate(std::string_view text) {
  scanner s(text);
  size_t dow = 0, mon = 0;
  int64_t day = 0, year = 0, tod = 0;
  if (!s.name(short_day_names, dow) || !s.literal(", ") || !s.digits(2, day) || !s.literal(" ") ||
      !s.name(month_names, mon) || !s.literal(" ") || !s.digits(4, year) || !s.literal(" ") ||
      !time_of_day(s, tod) || !s.literal(" GMT") || !s.done())
    return std::nullopt;
  return compose(year, static_cast<int64_t>(mon) + 1, day, tod);
}

std::optional<unix_seconds> parse_rfc850(std::string_view text) {
  scanner s(text);
  size_t dow = 0, mon = 0;
  int64_t day = 0, yy = 0, tod = 0;
  if (!s.name(long_day_names, dow) || !s.literal(", ") || !s.digits(2, day) || !s.literal("-") ||
      !s.name(month_names, mon) || !s.literal("-") || !s.digits(2, yy) || !s.literal(" ") ||
      !time_of_day(s, tod) || !s.literal(" GMT") || !s.done())
    return std::nullopt;
  // RFC 9110: a two-digit year that appears more than 50 years in the future is the most recent past
  // year with the same last two digits.
  const int64_t now = current_year();
  int64_t year = now - now % 100 + yy;
  if (year > now + 50) year -= 100;
  return compose(year, static_cast<int64_t>(mon) + 1, day, tod);
}

std::optional<unix_seconds> parse_asctime(std::string_view text) {
  scanner s(text);
  size_t dow = 0, mon = 0;
  int64_t day = 0, year = 0, tod = 0;
  if (!s.name(short_day_names, dow) || !s.literal(" ") || !s.name(month_names, mon) || !s.literal(" "))
    return std::nullopt;
  // The day is either two digits or a space and one digit.
  if (s.peek(' ')) {
    if (!s.literal(" ") || !s.digits(1, day)) return std::nullopt;
  } else if (!s.digits(2, day)) {
    return std::nullopt;
  }
  if (!s.literal(" ") || !time_of_day(s, tod) || !s.literal(" ") || !s.digits(4, year) || !s.done())
    return std::nullopt;
  return compose(year, static_cast<int64_t>(mon) + 1, day, tod);
}

}  // namespace

int64_t days_from_civil(int64_t year, unsigned month, unsigned day) {
  const int64_t y = year - (month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146'097 + static_cast<int64_t>(doe) - 719'468;
}

bool valid_date(int64_t year, unsigned month, unsigned day) {
  static constexpr std::array<unsigned, 12> month_days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1) return false;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const unsigned last = month_days[month - 1] + (month == 2 && leap ? 1 : 0);
  return day <= last;
}

std::optional<unix_seconds> parse_rfc3339(std::string_view text) {
  scanner s(text);
  int64_t year = 0, month = 0, day = 0, tod = 0;
  if (!s.digits(4, year) || !s.literal("-") || !s.digits(2, month) || !s.literal("-") || !s.digits(2, day) ||
      !s.one_of("Tt ") || !time_of_day(s, tod))
    return std::nullopt;
  // Sub-second precision is truncated: unix_seconds is whole seconds, and truncation never moves a
  // timestamp into the next second (or the next reporting day).
  if (s.literal(".") && !s.skip_digits()) return std::nullopt;
  int64_t offset = 0;
  if (!s.one_of("Zz")) {
    int64_t sign = 0;
    if (s.literal("+")) {
      sign = 1;
    } else if (s.literal("-")) {
      sign = -1;
    } else {
      return std::nullopt;
    }
    int64_t oh = 0, om = 0;
    if (!s.digits(2, oh) || !s.literal(":") || !s.digits(2, om) || oh > 23 || om > 59) return std::nullopt;
    offset = sign * (oh * 3'600 + om * 60);
  }
  if (!s.done()) return std::nullopt;
  const auto local = compose(year, month, day, tod);
  if (!local) return std::nullopt;
  return *local - offset;
}

std::string format_rfc3339(unix_seconds t) {
  const int64_t days = floor_div(t, seconds_per_day);
  const int64_t tod = t - days * seconds_per_day;
  const civil_date d = civil_from_days(days);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(d.year),
                d.month, d.day, static_cast<long long>(tod / 3'600), static_cast<long long>(tod / 60 % 60),
                static_cast<long long>(tod % 60));
  return buf;
}

std::optional<unix_seconds> parse_http_date(std::string_view text) {
  // Header values usually arrive trimmed; tolerate optional whitespace (OWS) around them anyway.
  text = trim_ows(text);
  // The day name is not checked against the date: a server with a wrong weekday still means the date.
  if (auto t = parse_imf_fixdate(text)) return t;
  if (auto t = parse_rfc850(text)) return t;
  return parse_asctime(text);
}

std::string format_http_date(unix_seconds t) {
  const int64_t days = floor_div(t, seconds_per_day);
  const int64_t tod = t - days * seconds_per_day;
  const civil_date d = civil_from_days(days);
  char buf[80];
  const std::string_view dow = short_day_names[weekday_from_days(days)];
  const std::string_view mon = month_names[d.month - 1];
  std::snprintf(buf, sizeof buf, "%.*s, %02u %.*s %04lld %02lld:%02lld:%02lld GMT",
                static_cast<int>(dow.size()), dow.data(), d.day, static_cast<int>(mon.size()), mon.data(),
                static_cast<long long>(d.year), static_cast<long long>(tod / 3'600),
                static_cast<long long>(tod / 60 % 60), static_cast<long long>(tod % 60));
  return buf;
}

}  // namespace dspsync
