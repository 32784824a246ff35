#include "domain/money.hpp"

#include <limits>

namespace dspsync {

namespace {

/// Largest magnitude a negative amount may have: |INT64_MIN|.
constexpr uint64_t max_negative_magnitude = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1;
/// Beyond this an exponent cannot matter: the mantissa would need a billion digits to compensate.
constexpr int64_t exponent_saturation = 1'000'000'000;

constexpr uint64_t pow10(int n) {
  uint64_t p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// The raw text as it goes into an error message: quoted, control bytes escaped, and cut short so a
/// runaway field (a whole line pasted into one cell) does not flood the log.
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

/// Magnitude of an amount, without the overflow that negating INT64_MIN would be.
uint64_t magnitude(int64_t units) {
  return units < 0 ? uint64_t{0} - static_cast<uint64_t>(units) : static_cast<uint64_t>(units);
}

failure bad_number(std::string_view text, std::string_view field) {
  return {ec::bad_number, std::string(field) + ": expected a decimal number, got " + quoted(text)};
}

}  // namespace

expected<money> money::parse(std::string_view text, std::string_view field) {
  // Grammar: [+-] (digits [. digits*] | . digits) [(e|E) [+-] digits]. The value is the
  // significant digits (leading zeros dropped, at most 19 kept: 20 or more are at least 10^19,
  // beyond any int64_t) and a power of ten, so any length of input is exact.
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';

  uint64_t value = 0;           // the first (at most 19) significant digits
  int64_t significant = 0;      // significant digits seen, leading zeros not counted
  int64_t zeros_pending = 0;    // zeros after the last non-zero significant digit
  int64_t fraction_digits = 0;  // digits after the point (all, zeros included)
  size_t mantissa_digits = 0;
  bool lost = false;  // a non-zero digit beyond the 19th: out of range whatever else
  auto digit = [&](char c) {
    if (significant == 0 && c == '0') return;  // a leading zero
    ++significant;
    if (c == '0') {
      ++zeros_pending;
      return;
    }
    if (significant > 19) {
      lost = true;
      zeros_pending = 0;  // the zeros before it are not trailing
      return;
    }
    // Flush the zeros between the previous non-zero digit and this one, then add it.
    for (; zeros_pending > 0; --zeros_pending) value *= 10;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  };
  for (; i < text.size() && is_digit(text[i]); ++i, ++mantissa_digits) digit(text[i]);
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && is_digit(text[i]); ++i, ++mantissa_digits, ++fraction_digits) digit(text[i]);
  }
  if (mantissa_digits == 0) return bad_number(text, field);

  int64_t exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exponent_negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) exponent_negative = text[i++] == '-';
    const size_t start = i;
    for (; i < text.size() && is_digit(text[i]); ++i) {
      if (exponent < exponent_saturation) exponent = exponent * 10 + (text[i] - '0');
    }
    if (i == start) return bad_number(text, field);
    if (exponent_negative) exponent = -exponent;
  }
  if (i != text.size()) return bad_number(text, field);

  if (significant == 0) return money{};  // zero, whatever the sign and exponent

  // Trailing zeros carry no precision: "1.2300000000" is 1.23. `value` holds the digits up to
  // the last non-zero one (`significant - zeros_pending` of them).
  const int64_t kept = significant - zeros_pending;
  const int64_t shift = exponent - fraction_digits + zeros_pending + scale;
  if (shift < 0) {
    return failure{ec::amount_precision, std::string(field) + ": " + quoted(text) + " has more than " +
                                             std::to_string(scale) + " decimals"};
  }
  auto overflow = [&] {
    return failure{ec::amount_overflow, std::string(field) + ": " + quoted(text) +
                                            " is out of range (at most 92233720368.54775807 in magnitude)"};
  };
  if (lost || kept + shift > 19) return overflow();
  value *= pow10(static_cast<int>(shift));

  if (negative) {
    if (value > max_negative_magnitude) return overflow();
    return from_units(static_cast<int64_t>(uint64_t{0} - value));
  }
  if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return overflow();
  return from_units(static_cast<int64_t>(value));
}

std::string money::to_string() const {
  const uint64_t mag = magnitude(units_);
  std::string out = units_ < 0 ? "-" : "";
  out += std::to_string(mag / static_cast<uint64_t>(one));
  uint64_t frac = mag % static_cast<uint64_t>(one);
  if (frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, static_cast<size_t>(scale) - digits.size(), '0');
    digits.erase(digits.find_last_not_of('0') + 1);
    out += '.';
    out += digits;
  }
  return out;
}

expected<std::string> money::to_string(int decimals) const {
  if (decimals < 0 || decimals > scale) {
    return failure{ec::bad_argument, "decimals: expected 0.." + std::to_string(scale) + ", got \"" +
                                         std::to_string(decimals) + "\""};
  }
  const uint64_t mag = magnitude(units_);
  const uint64_t dropped = pow10(scale - decimals);
  if (mag % dropped != 0) {
    return failure{ec::amount_precision,
                   "amount: \"" + to_string() + "\" has more than " + std::to_string(decimals) + " decimals"};
  }
  std::string out = units_ < 0 ? "-" : "";
  out += std::to_string(mag / static_cast<uint64_t>(one));
  if (decimals > 0) {
    std::string digits = std::to_string(mag % static_cast<uint64_t>(one) / dropped);
    digits.insert(0, static_cast<size_t>(decimals) - digits.size(), '0');
    out += '.';
    out += digits;
  }
  return out;
}

expected<money> money::checked_add(money other) const {
  int64_t sum = 0;
  if (__builtin_add_overflow(units_, other.units_, &sum)) {
    return failure{ec::amount_overflow,
                   "amount: " + to_string() + " + " + other.to_string() + " is out of range"};
  }
  return from_units(sum);
}

}  // namespace dspsync
