#include "domain/timefmt.hpp"

#include <gtest/gtest.h>

namespace dspsync {
namespace {

/// A text and the instant it denotes; `valid == false` means it must be rejected.
struct time_case {
  const char* text;
  bool valid;
  unix_seconds t;
};

constexpr time_case ok(const char* text, unix_seconds t) { return {text, true, t}; }
constexpr time_case bad(const char* text) { return {text, false, 0}; }

// --- Calendar arithmetic ------------------------------------------------------------------------

TEST(calendar, days_from_civil_matches_known_days) {
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(1969, 12, 31), -1);
  EXPECT_EQ(days_from_civil(2000, 3, 1), 11'017);
  EXPECT_EQ(days_from_civil(1, 1, 1), -719'162);
  EXPECT_EQ(days_from_civil(2026, 10, 1) * 86'400, 1'790'812'800);
  // Consecutive days stay consecutive across a leap day and a century that is not a leap year.
  EXPECT_EQ(days_from_civil(2024, 3, 1) - days_from_civil(2024, 2, 29), 1);
  EXPECT_EQ(days_from_civil(1900, 3, 1) - days_from_civil(1900, 2, 28), 1);
}

TEST(calendar, valid_date_knows_month_lengths_and_leap_years) {
  EXPECT_TRUE(valid_date(2024, 2, 29));
  EXPECT_TRUE(valid_date(2000, 2, 29));
  EXPECT_FALSE(valid_date(2023, 2, 29));
  EXPECT_FALSE(valid_date(1900, 2, 29));
  EXPECT_FALSE(valid_date(2026, 2, 30));
  EXPECT_FALSE(valid_date(2026, 4, 31));
  EXPECT_TRUE(valid_date(2026, 12, 31));
  EXPECT_FALSE(valid_date(2026, 13, 1));
  EXPECT_FALSE(valid_date(2026, 0, 1));
  EXPECT_FALSE(valid_date(2026, 1, 0));
}

// --- RFC 3339 -----------------------------------------------------------------------------------

class rfc3339_parses : public ::testing::TestWithParam<time_case> {};

TEST_P(rfc3339_parses, as_documented) {
  const auto& c = GetParam();
  const auto t = parse_rfc3339(c.text);
  if (c.valid) {
    ASSERT_TRUE(t.has_value()) << c.text;
    EXPECT_EQ(*t, c.t) << c.text;
  } else {
    EXPECT_FALSE(t.has_value()) << c.text << " -> " << *t;
  }
}

INSTANTIATE_TEST_SUITE_P(
    accepted, rfc3339_parses,
    ::testing::Values(
        ok("1970-01-01T00:00:00Z", 0), ok("2026-10-01T12:00:00Z", 1'790'856'000),
        ok("2026-10-01t12:00:00z", 1'790'856'000), ok("2026-10-01 12:00:00Z", 1'790'856'000),
        // Fractions are truncated, never rounded up into the next second.
        ok("1985-04-12T23:20:50.52Z", 482'196'050), ok("1985-04-12T23:20:50.999999999Z", 482'196'050),
        // Offsets: the RFC 3339 examples.
        ok("1996-12-19T16:39:57-08:00", 851'042'397), ok("1937-01-01T12:00:27.87+00:20", -1'041'337'173),
        ok("2026-03-29T01:30:00+05:30", 1'774'728'000), ok("2026-10-01T12:00:00+00:00", 1'790'856'000),
        ok("2026-10-01T12:00:00-00:00", 1'790'856'000),
        // A leap second counts as the first second of the next minute.
        ok("1990-12-31T23:59:60Z", 662'688'000), ok("2024-02-29T00:00:00Z", 1'709'164'800),
        ok("2000-02-29T00:00:00Z", 951'782'400), ok("1600-01-01T00:00:00Z", -11'676'096'000),
        ok("9999-12-31T23:59:59Z", 253'402'300'799)));

INSTANTIATE_TEST_SUITE_P(rejected, rfc3339_parses,
                         ::testing::Values(bad(""), bad("2026-02-30T00:00:00Z"), bad("2023-02-29T00:00:00Z"),
                                           bad("1900-02-29T00:00:00Z"), bad("2026-13-01T00:00:00Z"),
                                           bad("2026-00-01T00:00:00Z"), bad("2026-10-32T00:00:00Z"),
                                           bad("2026-10-01T24:00:00Z"), bad("2026-10-01T12:60:00Z"),
                                           bad("2026-10-01T12:00:61Z"), bad("2026-10-01T12:00:00"),
                                           bad("2026-10-01T12:00:00+0100"), bad("2026-10-01T12:00:00+01"),
                                           bad("2026-10-01T12:00:00+24:00"), bad("2026-10-01T12:00Z"),
                                           bad("2026-10-01T12:00:00.Z"), bad("2026-10-01"),
                                           bad("2026-10-01T12:00:00Z "), bad(" 2026-10-01T12:00:00Z"),
                                           bad("2026-10-01X12:00:00Z"), bad("26-10-01T12:00:00Z"),
                                           bad("2026-1-01T12:00:00Z"), bad("2026-10-01T12:00:00GMT")));

TEST(rfc3339, formats_utc_with_z) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1'790'856'000), "2026-10-01T12:00:00Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_rfc3339(951'782'400), "2000-02-29T00:00:00Z");
  EXPECT_EQ(format_rfc3339(253'402'300'799), "9999-12-31T23:59:59Z");
}

TEST(rfc3339, round_trips_across_centuries) {
  // A stride that is not a divisor of a day visits every second-of-day residue class over time.
  for (unix_seconds t = -12'000'000'000; t < 12'000'000'000; t += 7'777'777) {
    const auto back = parse_rfc3339(format_rfc3339(t));
    ASSERT_TRUE(back.has_value()) << format_rfc3339(t);
    ASSERT_EQ(*back, t) << format_rfc3339(t);
  }
}

// --- HTTP-date (RFC 9110 section 5.6.7) -----------------------------------------------------------

constexpr unix_seconds rfc9110_example = 784'111'777;  // 1994-11-06T08:49:37Z

class http_date_parses : public ::testing::TestWithParam<time_case> {};

TEST_P(http_date_parses, as_documented) {
  const auto& c = GetParam();
  const auto t = parse_http_date(c.text);
  if (c.valid) {
    ASSERT_TRUE(t.has_value()) << c.text;
    EXPECT_EQ(*t, c.t) << c.text;
  } else {
    EXPECT_FALSE(t.has_value()) << c.text << " -> " << *t;
  }
}

INSTANTIATE_TEST_SUITE_P(accepted, http_date_parses,
                         ::testing::Values(
                             // The three examples of RFC 9110.
                             ok("Sun, 06 Nov 1994 08:49:37 GMT", rfc9110_example),
                             ok("Sunday, 06-Nov-94 08:49:37 GMT", rfc9110_example),
                             ok("Sun Nov  6 08:49:37 1994", rfc9110_example),
                             // asctime also allows a two-digit day; header whitespace is tolerated.
                             ok("Sun Nov 06 08:49:37 1994", rfc9110_example),
                             ok("  Sun, 06 Nov 1994 08:49:37 GMT\t", rfc9110_example),
                             ok("Thu, 01 Jan 1970 00:00:00 GMT", 0),
                             ok("Thu, 01 Oct 2026 12:00:00 GMT", 1'790'856'000),
                             ok("Thu, 29 Feb 2024 00:00:00 GMT", 1'709'164'800),
                             // RFC 850 two-digit years: not more than 50 years ahead stays in this century.
                             ok("Tuesday, 01-Jan-30 00:00:00 GMT", 1'893'456'000)));

INSTANTIATE_TEST_SUITE_P(
    rejected, http_date_parses,
    ::testing::Values(bad(""), bad("Sun, 06 Nov 1994 08:49:37 UTC"), bad("Sun, 06 Nov 1994 08:49:37"),
                      bad("Sun, 6 Nov 1994 08:49:37 GMT"), bad("Sun, 31 Feb 1994 08:49:37 GMT"),
                      bad("Sun, 06 Foo 1994 08:49:37 GMT"), bad("Sun, 06 Nov 94 08:49:37 GMT"),
                      bad("sun, 06 nov 1994 08:49:37 gmt"), bad("Sun, 06 Nov 1994 24:00:00 GMT"),
                      bad("Sun, 06 Nov 1994 08:49:37 GMT extra"), bad("Sunday, 06-Nov-1994 08:49:37 GMT"),
                      bad("Sun, 06-Nov-94 08:49:37 GMT"), bad("Funday, 06-Nov-94 08:49:37 GMT"),
                      bad("Sunday, 31-Apr-94 08:49:37 GMT"), bad("Sun Nov 6 08:49:37 1994"),
                      bad("Sun Nov  6 08:49:37 94"), bad("Sun Nov  6 08:49:37 1994 GMT"),
                      bad("1994-11-06T08:49:37Z"), bad("784111777")));

TEST(http_date, rfc850_two_digit_year_more_than_50_years_ahead_is_last_century) {
  // 94 read as 2094 would be more than 50 years ahead (until 2044), so it is 1994.
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"));
  EXPECT_NE(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            parse_http_date("Sun, 06 Nov 2094 08:49:37 GMT"));
}

TEST(http_date, formats_imf_fixdate) {
  EXPECT_EQ(format_http_date(rfc9110_example), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(format_http_date(-86'400), "Wed, 31 Dec 1969 00:00:00 GMT");
  EXPECT_EQ(format_http_date(1'790'856'000), "Thu, 01 Oct 2026 12:00:00 GMT");
}

TEST(http_date, round_trips) {
  for (unix_seconds t = -2'000'000'000; t < 4'000'000'000; t += 3'333'333) {
    const auto back = parse_http_date(format_http_date(t));
    ASSERT_TRUE(back.has_value()) << format_http_date(t);
    ASSERT_EQ(*back, t) << format_http_date(t);
  }
}

}  // namespace
}  // namespace dspsync
