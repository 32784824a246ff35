#include "domain/money.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

namespace dspsync {
namespace {

constexpr int64_t int64_max = std::numeric_limits<int64_t>::max();
constexpr int64_t int64_min = std::numeric_limits<int64_t>::min();

struct parse_case {
  const char* text;
  int64_t units;
};

class money_parses : public ::testing::TestWithParam<parse_case> {};

TEST_P(money_parses, to_exact_units) {
  const auto& c = GetParam();
  const auto m = money::parse(c.text);
  ASSERT_TRUE(m) << c.text << ": " << m.error().message;
  EXPECT_EQ(m->units(), c.units) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    decimal_text, money_parses,
    ::testing::Values(
        parse_case{"0", 0}, parse_case{"-0", 0}, parse_case{"+0.000", 0}, parse_case{"1", 100'000'000},
        parse_case{"12.3456", 1'234'560'000}, parse_case{"-0.5", -50'000'000}, parse_case{"+3", 300'000'000},
        parse_case{".5", 50'000'000}, parse_case{"-.25", -25'000'000}, parse_case{"5.", 500'000'000},
        parse_case{"0.00000001", 1}, parse_case{"-0.00000001", -1}, parse_case{"007.50", 750'000'000},
        parse_case{"1.2300000000", 123'000'000}, parse_case{"0.000000010000000000000", 1},
        // Exponents, both letters and signs, including ones that cancel a long fraction.
        parse_case{"1.25e-3", 125'000}, parse_case{"1E2", 10'000'000'000},
        parse_case{"-2.5E+1", -2'500'000'000}, parse_case{"1e-8", 1}, parse_case{"123456789e-8", 123'456'789},
        parse_case{"0.0000000001e2", 1}, parse_case{"0e999999999999999999999", 0},
        parse_case{"1e0000000000000000000002", 10'000'000'000},
        // The extremes of the range are exact.
        parse_case{"92233720368.54775807", int64_max}, parse_case{"-92233720368.54775808", int64_min},
        parse_case{"9223372036854775807e-8", int64_max}));

struct error_case {
  const char* text;
  ec code;
};

class money_rejects : public ::testing::TestWithParam<error_case> {};

TEST_P(money_rejects, with_the_right_code) {
  const auto& c = GetParam();
  const auto m = money::parse(c.text, "revenue");
  ASSERT_FALSE(m) << c.text << " parsed as " << m->units();
  EXPECT_EQ(m.error().code, c.code) << c.text << ": " << m.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    bad_text, money_rejects,
    ::testing::Values(error_case{"", ec::bad_number}, error_case{"-", ec::bad_number},
                      error_case{".", ec::bad_number}, error_case{"+.", ec::bad_number},
                      error_case{"1.2.3", ec::bad_number}, error_case{"1,5", ec::bad_number},
                      error_case{"NaN", ec::bad_number}, error_case{"inf", ec::bad_number},
                      error_case{" 1", ec::bad_number}, error_case{"1 ", ec::bad_number},
                      error_case{"--1", ec::bad_number}, error_case{"1e", ec::bad_number},
                      error_case{"1e+", ec::bad_number}, error_case{"e5", ec::bad_number},
                      error_case{"0x10", ec::bad_number}, error_case{"$5", ec::bad_number},
                      error_case{"1_000", ec::bad_number}));

INSTANTIATE_TEST_SUITE_P(too_precise, money_rejects,
                         ::testing::Values(error_case{"0.123456789", ec::amount_precision},
                                           error_case{"-0.000000001", ec::amount_precision},
                                           error_case{"1e-9", ec::amount_precision},
                                           error_case{"1.5e-8", ec::amount_precision},
                                           error_case{"0.1234567891", ec::amount_precision},
                                           error_case{"1e-99999999999999999999", ec::amount_precision}));

INSTANTIATE_TEST_SUITE_P(out_of_range, money_rejects,
                         ::testing::Values(error_case{"92233720368.54775808", ec::amount_overflow},
                                           error_case{"-92233720368.54775809", ec::amount_overflow},
                                           error_case{"100000000000", ec::amount_overflow},
                                           error_case{"1e11", ec::amount_overflow},
                                           error_case{"1e99999999999999999999", ec::amount_overflow},
                                           error_case{"99999999999999999999999999999999999999999999",
                                                      ec::amount_overflow},
                                           error_case{"-18446744073709551616", ec::amount_overflow}));

TEST(money, error_messages_name_field_and_text) {
  EXPECT_EQ(money::parse("1,5", "revenue").error().message,
            "revenue: expected a decimal number, got \"1,5\"");
  EXPECT_EQ(money::parse("0.123456789", "revenue").error().message,
            "revenue: \"0.123456789\" has more than 8 decimals");
  EXPECT_EQ(money::parse("x").error().message, "amount: expected a decimal number, got \"x\"");
  const auto overflow = money::parse("1e20", "royalty");
  ASSERT_FALSE(overflow);
  EXPECT_EQ(overflow.error().message.rfind("royalty: \"1e20\" is out of range", 0), 0u)
      << overflow.error().message;
}

TEST(money, error_message_cuts_runaway_text) {
  const std::string huge(10'000, '9');
  const auto m = money::parse(huge);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, ec::amount_overflow);
  EXPECT_LT(m.error().message.size(), 200u);
  EXPECT_NE(m.error().message.find("...\""), std::string::npos);
}

struct format_case {
  int64_t units;
  const char* canonical;
};

class money_formats : public ::testing::TestWithParam<format_case> {};

TEST_P(money_formats, canonically_and_round_trips) {
  const auto& c = GetParam();
  const money m = money::from_units(c.units);
  EXPECT_EQ(m.to_string(), c.canonical);
  const auto back = money::parse(m.to_string());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, m);
}

INSTANTIATE_TEST_SUITE_P(canonical_text, money_formats,
                         ::testing::Values(format_case{0, "0"}, format_case{-1'250'000'000, "-12.5"},
                                           format_case{300'000'001, "3.00000001"},
                                           format_case{100'000'000, "1"}, format_case{-1, "-0.00000001"},
                                           format_case{10, "0.0000001"},
                                           format_case{int64_max, "92233720368.54775807"},
                                           format_case{int64_min, "-92233720368.54775808"}));

TEST(money, fixed_decimals_pad_with_zeros) {
  EXPECT_EQ(*money::parse("12.5")->to_string(2), "12.50");
  EXPECT_EQ(*money::parse("-0.5")->to_string(3), "-0.500");
  EXPECT_EQ(*money::parse("7")->to_string(0), "7");
  EXPECT_EQ(*money::parse("0.00000001")->to_string(8), "0.00000001");
  EXPECT_EQ(*money::parse("-100")->to_string(4), "-100.0000");
}

TEST(money, fixed_decimals_never_round) {
  const auto two = money::parse("12.345")->to_string(2);
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().code, ec::amount_precision);
  EXPECT_EQ(two.error().message, "amount: \"12.345\" has more than 2 decimals");
  const auto zero = money::parse("-0.5")->to_string(0);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, ec::amount_precision);
}

TEST(money, fixed_decimals_out_of_range_is_an_argument_error) {
  EXPECT_EQ(money::from_units(1).to_string(9).error().code, ec::bad_argument);
  EXPECT_EQ(money::from_units(1).to_string(-1).error().code, ec::bad_argument);
}

TEST(money, checked_add_sums_signed_amounts) {
  const auto sum = money::parse("10.5")->checked_add(*money::parse("-0.75"));
  ASSERT_TRUE(sum);
  EXPECT_EQ(sum->to_string(), "9.75");
  const auto refund = money::parse("-3")->checked_add(*money::parse("-4.00000001"));
  ASSERT_TRUE(refund);
  EXPECT_EQ(refund->units(), -700'000'001);
}

TEST(money, checked_add_detects_overflow_both_ways) {
  const auto up = money::from_units(int64_max).checked_add(money::from_units(1));
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code, ec::amount_overflow);
  const auto down = money::from_units(int64_min).checked_add(money::from_units(-1));
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, ec::amount_overflow);
  EXPECT_TRUE(money::from_units(int64_max).checked_add(money::from_units(int64_min)));
}

TEST(money, compares_by_value) {
  EXPECT_EQ(*money::parse("1.50"), *money::parse("1.5"));
  EXPECT_EQ(*money::parse("15e-1"), *money::parse("1.5"));
  EXPECT_LT(*money::parse("-2"), *money::parse("-1.99999999"));
  EXPECT_NE(*money::parse("0.1"), *money::parse("0.10000001"));
}

/// The parser as it was first written (the significant digits kept as a string), as the reference
/// for the one that keeps them in an integer: either the same units or the same error code.
struct reference_result {
  bool ok;
  int64_t units;
  ec code;
};

reference_result reference_parse(const std::string& text) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::string significand;
  int64_t fraction_digits = 0;
  size_t mantissa_digits = 0;
  for (; i < text.size() && digit(text[i]); ++i, ++mantissa_digits)
    if (!significand.empty() || text[i] != '0') significand += text[i];
  if (i < text.size() && text[i] == '.')
    for (++i; i < text.size() && digit(text[i]); ++i, ++mantissa_digits, ++fraction_digits)
      if (!significand.empty() || text[i] != '0') significand += text[i];
  if (mantissa_digits == 0) return {false, 0, ec::bad_number};
  int64_t exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exponent_negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) exponent_negative = text[i++] == '-';
    const size_t start = i;
    for (; i < text.size() && digit(text[i]); ++i)
      if (exponent < 1'000'000'000) exponent = exponent * 10 + (text[i] - '0');
    if (i == start) return {false, 0, ec::bad_number};
    if (exponent_negative) exponent = -exponent;
  }
  if (i != text.size()) return {false, 0, ec::bad_number};
  if (significand.empty()) return {true, 0, ec::bad_number};
  size_t end = significand.size();
  while (significand[end - 1] == '0') --end;
  const auto trailing_zeros = static_cast<int64_t>(significand.size() - end);
  significand.resize(end);
  const int64_t shift = exponent - fraction_digits + trailing_zeros + money::scale;
  if (shift < 0) return {false, 0, ec::amount_precision};
  if (static_cast<int64_t>(significand.size()) + shift > 19) return {false, 0, ec::amount_overflow};
  uint64_t value = 0;
  for (char c : significand) value = value * 10 + static_cast<uint64_t>(c - '0');
  for (int64_t k = 0; k < shift; ++k) value *= 10;
  const uint64_t max_negative = static_cast<uint64_t>(int64_max) + 1;
  if (negative) {
    if (value > max_negative) return {false, 0, ec::amount_overflow};
    return {true, static_cast<int64_t>(uint64_t{0} - value), ec::bad_number};
  }
  if (value > static_cast<uint64_t>(int64_max)) return {false, 0, ec::amount_overflow};
  return {true, static_cast<int64_t>(value), ec::bad_number};
}

TEST(money, parses_as_the_reference_does_on_random_text) {
  // Texts built from the grammar's pieces, with long runs of zeros and digits around the 19-digit
  // and 8-decimal limits, plus stray characters: every one must parse to the reference's units or
  // fail with its error code.
  std::mt19937_64 rng(20261202);
  auto pick = [&](uint64_t n) { return static_cast<uint64_t>(rng() % n); };
  auto digits = [&](uint64_t max_len, bool zero_heavy) {
    std::string d;
    const uint64_t n = pick(max_len + 1);
    for (uint64_t k = 0; k < n; ++k)
      d += zero_heavy && pick(3) != 0 ? '0' : static_cast<char>('0' + pick(10));
    return d;
  };
  int compared = 0, parsed = 0, bad = 0, precision = 0, overflow = 0;
  for (int round = 0; round < 200'000; ++round) {
    std::string t;
    const uint64_t sign = pick(4);
    if (sign == 1) t += '-';
    if (sign == 2) t += '+';
    const bool zeros = pick(2) == 0;
    t += digits(pick(2) == 0 ? 6 : 24, zeros);
    if (pick(3) != 0) t += '.' + digits(pick(2) == 0 ? 10 : 24, zeros);
    if (pick(4) == 0) {
      t += pick(2) == 0 ? 'e' : 'E';
      const uint64_t es = pick(3);
      if (es == 1) t += '-';
      if (es == 2) t += '+';
      t += digits(pick(5) == 0 ? 22 : 2, false);
    }
    if (pick(40) == 0) t.insert(pick(t.size() + 1), 1, " .,x-e"[pick(6)]);
    const auto want = reference_parse(t);
    const auto got = money::parse(t, "revenue");
    ASSERT_EQ(static_cast<bool>(got), want.ok) << "\"" << t << "\"";
    if (want.ok)
      ASSERT_EQ(got->units(), want.units) << "\"" << t << "\"";
    else
      ASSERT_EQ(got.error().code, want.code) << "\"" << t << "\": " << got.error().message;
    ++compared;
    ++(want.ok                             ? parsed
       : want.code == ec::bad_number       ? bad
       : want.code == ec::amount_precision ? precision
                                           : overflow);
  }
  EXPECT_EQ(compared, 200'000);
  // Every outcome was exercised, each many times.
  EXPECT_GT(parsed, 10'000);
  EXPECT_GT(bad, 1'000);
  EXPECT_GT(precision, 10'000);
  EXPECT_GT(overflow, 10'000);
}

}  // namespace
}  // namespace dspsync
