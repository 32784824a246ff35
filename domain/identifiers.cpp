#include "domain/identifiers.hpp"

#include <cstdio>

#include "domain/timefmt.hpp"

// ISRC, GTIN, ISWC and reporting periods. Territories, currencies and ISRC prefixes, which need the
// ISO tables, are in iso_tables.cpp.

namespace dspsync {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
char to_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }
int digit(char c) { return c - '0'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// The raw text as it goes into an error message: quoted, control bytes escaped, and cut short so a
/// runaway field does not flood the log.
std::string quoted(std::string_view raw) {
  constexpr size_t max_shown = 64;
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < raw.size() && i < max_shown; ++i) {
    const auto c = static_cast<unsigned char>(raw[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (raw.size() > max_shown) out += "...";
  out += '"';
  return out;
}

failure fail(ec code, std::string_view field, std::string_view what, std::string_view raw) {
  return {code, std::string(field) + ": expected " + std::string(what) + ", got " + quoted(raw)};
}

/// Upper-cases `raw` and drops every character in `separators` (a few characters: compared in
/// place, not with a library search per character; every record's ISRC and UPC goes through here).
std::string compact(std::string_view raw, std::string_view separators) {
  std::string out(raw.size(), '\0');
  std::size_t n = 0;
  for (char c : raw) {
    bool separator = false;
    for (char s : separators) separator |= c == s;
    if (!separator) out[n++] = to_upper(c);
  }
  out.resize(n);
  return out;
}

/// True when `s` matches `pattern`, where `d` stands for a digit and any other character for itself.
bool matches(std::string_view s, std::string_view pattern) {
  if (s.size() != pattern.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (pattern[i] == 'd' ? !is_digit(s[i]) : s[i] != pattern[i]) return false;
  }
  return true;
}

/// The number in `s[pos, pos + n)`, which holds digits only.
unsigned number(std::string_view s, size_t pos, size_t n) {
  unsigned v = 0;
  for (size_t i = pos; i < pos + n; ++i) v = v * 10 + static_cast<unsigned>(digit(s[i]));
  return v;
}

/// An ISO 8601 year has 53 weeks when it starts on a Thursday, or on a Wednesday in a leap year.
bool has_week_53(unsigned year) {
  const int64_t jan1 = days_from_civil(year, 1, 1);
  const int64_t weekday = ((jan1 + 4) % 7 + 7) % 7;  // 0 = Sunday
  return weekday == 4 || (weekday == 3 && valid_date(year, 2, 29));
}

/// Reads a `YYYY-MM-DD` at `pos` (already matched as digits and dashes) if it is a real date.
bool date_at(std::string_view s, size_t pos, int64_t& days) {
  const unsigned y = number(s, pos, 4), m = number(s, pos + 5, 2), d = number(s, pos + 8, 2);
  if (!valid_date(y, m, d)) return false;
  days = days_from_civil(y, m, d);
  return true;
}

}  // namespace

expected<std::string> normalize_isrc(std::string_view raw, std::string_view field) {
  std::string code = compact(raw, " \t-");
  // Strip a label only when what follows is ISRC-sized: "ISRC17607839" is itself a valid Icelandic
  // ISRC (prefix IS, registrant RC1) and must not lose its first four characters.
  if (code.size() == 16 && code.compare(0, 4, "ISRC") == 0) {
    code.erase(0, 4);
  } else if (code.size() == 17 && code.compare(0, 5, "ISRC:") == 0) {
    code.erase(0, 5);
  }
  bool ok = code.size() == 12;
  for (size_t i = 0; ok && i < code.size(); ++i) {
    const char c = code[i];
    ok = i < 2 ? is_upper(c) : i < 5 ? is_upper(c) || is_digit(c) : is_digit(c);
  }
  if (!ok) return fail(ec::bad_isrc, field, "12 characters [A-Z]{2}[A-Z0-9]{3}[0-9]{2}[0-9]{5}", raw);
  return code;
}

expected<std::string> normalize_gtin(std::string_view raw, std::string_view field) {
  std::string code = compact(raw, " \t-");
  bool digits_only = !code.empty();
  for (char c : code) digits_only = digits_only && is_digit(c);
  if (digits_only && code.size() == 12) {
    code.insert(0, 1, '0');  // UPC-A is EAN-13 with a leading zero
  } else if (digits_only && code.size() == 14 && code[0] == '0') {
    code.erase(0, 1);  // GTIN-14 with packaging indicator 0 is the trade item itself
  }
  if (!digits_only || code.size() != 13) {
    return fail(ec::bad_gtin, field, "12 digits (UPC-A), 13 (EAN-13) or 14 starting with 0 (GTIN-14)", raw);
  }
  // Weights 3, 1, 3, ... from the digit nearest the check digit; in 13 digits that is index 11.
  int sum = 0;
  for (size_t i = 0; i < 12; ++i) sum += digit(code[i]) * (i % 2 == 1 ? 3 : 1);
  const int check = (10 - sum % 10) % 10;
  if (digit(code[12]) != check) {
    return fail(ec::bad_gtin, field, "check digit " + std::to_string(check), raw);
  }
  return code;
}

expected<std::string> normalize_iswc(std::string_view raw, std::string_view field) {
  const std::string code = compact(raw, " \t-.");
  if (!matches(code, "Tdddddddddd")) return fail(ec::bad_iswc, field, "an ISWC T-DDD.DDD.DDD-C", raw);
  int sum = 1;
  for (size_t i = 1; i <= 9; ++i) sum += static_cast<int>(i) * digit(code[i]);
  const int check = (10 - sum % 10) % 10;
  if (digit(code[10]) != check) {
    return fail(ec::bad_iswc, field, "check digit " + std::to_string(check), raw);
  }
  return "T-" + code.substr(1, 3) + "." + code.substr(4, 3) + "." + code.substr(7, 3) + "-" +
         code.substr(10, 1);
}

expected<std::string> normalize_period(std::string_view raw, std::string_view field) {
  const std::string s = compact(trim(raw), "");
  if (matches(s, "dddd")) return s;
  if (matches(s, "dddd-dd") || matches(s, "dddd/dd") || matches(s, "dddddd")) {
    const size_t mpos = s.size() == 6 ? 4 : 5;
    const unsigned month = number(s, mpos, 2);
    if (month >= 1 && month <= 12) {
      // "YYYY-MM" (a record per row goes through here: no printf)
      std::string out(s, 0, 4);
      out += '-';
      out += static_cast<char>('0' + month / 10);
      out += static_cast<char>('0' + month % 10);
      return out;
    }
  } else if (matches(s, "dddd-Qd")) {
    const unsigned quarter = number(s, 6, 1);
    if (quarter >= 1 && quarter <= 4) return s;
  } else if (matches(s, "dddd-Wdd")) {
    const unsigned week = number(s, 6, 2);
    if (week >= 1 && (week <= 52 || (week == 53 && has_week_53(number(s, 0, 4))))) return s;
  } else if (matches(s, "dddd-dd-dd--dddd-dd-dd")) {
    int64_t start = 0, end = 0;
    if (date_at(s, 0, start) && date_at(s, 12, end) && start <= end) return s;
  }
  return fail(ec::bad_period, field, "YYYY-MM, YYYY, YYYY-Qn, YYYY-Www or YYYY-MM-DD--YYYY-MM-DD", raw);
}

}  // namespace dspsync
