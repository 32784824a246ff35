#include "domain/identifiers.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dspsync {
namespace {

/// An input and what it normalises to; an empty `expected_form` means the input is rejected.
struct norm_case {
  const char* raw;
  const char* expected_form;
};

std::string show(const expected<std::string>& r) { return r ? *r : "error: " + r.error().message; }

// --- ISRC ---------------------------------------------------------------------------------------

class isrc_normalises : public ::testing::TestWithParam<norm_case> {};

TEST_P(isrc_normalises, as_documented) {
  const auto& c = GetParam();
  const auto r = normalize_isrc(c.raw);
  if (*c.expected_form == '\0') {
    ASSERT_FALSE(r) << c.raw << " -> " << *r;
    EXPECT_EQ(r.error().code, ec::bad_isrc);
  } else {
    EXPECT_EQ(show(r), c.expected_form) << c.raw;
  }
}

INSTANTIATE_TEST_SUITE_P(accepted, isrc_normalises,
                         ::testing::Values(norm_case{"USRC17607839", "USRC17607839"},
                                           norm_case{"usrc17607839", "USRC17607839"},
                                           norm_case{"US-RC1-76-07839", "USRC17607839"},
                                           norm_case{"US RC1 76 07839", "USRC17607839"},
                                           norm_case{" us-rc1-76-07839 ", "USRC17607839"},
                                           norm_case{"ISRC USRC17607839", "USRC17607839"},
                                           norm_case{"isrc US-RC1-76-07839", "USRC17607839"},
                                           norm_case{"ISRC:USRC17607839", "USRC17607839"},
                                           norm_case{"GBAYE0000001", "GBAYE0000001"},
                                           // Non-country prefixes are valid syntax.
                                           norm_case{"QZES81800001", "QZES81800001"},
                                           norm_case{"ZZ-AB1-24-00001", "ZZAB12400001"},
                                           norm_case{"QMDA71234567", "QMDA71234567"},
                                           // An Icelandic ISRC that starts with the letters ISRC keeps them.
                                           norm_case{"ISRC17607839", "ISRC17607839"}));

INSTANTIATE_TEST_SUITE_P(rejected, isrc_normalises,
                         ::testing::Values(norm_case{"", ""}, norm_case{"US-RC1-76-0783", ""},
                                           norm_case{"USRC176078390", ""}, norm_case{"U1RC17607839", ""},
                                           norm_case{"USRC1A607839", ""}, norm_case{"USRC176O7839", ""},
                                           norm_case{"US_RC1_76_07839", ""}, norm_case{"US.RC1.76.07839", ""},
                                           norm_case{"ISRC", ""}, norm_case{"ISRC ISRC USRC17607839", ""},
                                           norm_case{"USRC17607839X", ""},
                                           norm_case{"\xc3\x9cSRC17607839", ""}));

TEST(isrc, error_message_quotes_the_raw_value) {
  EXPECT_EQ(normalize_isrc("US-RC1-76-0783").error().message,
            "isrc: expected 12 characters [A-Z]{2}[A-Z0-9]{3}[0-9]{2}[0-9]{5}, got \"US-RC1-76-0783\"");
  EXPECT_EQ(
      normalize_isrc("bad\"one", "recording.isrc").error().message.rfind("recording.isrc: expected ", 0), 0u);
}

TEST(isrc, prefix_known_for_countries_and_agency_prefixes) {
  for (const char* isrc : {"USRC17607839", "GBAYE0000001", "DEA123400001", "QMDA71234567", "QTAB12400001",
                           "QZES81800001", "ZZAB12400001", "CPAB12400001", "DGAB12400001", "UKAYE0000001",
                           "AXAB12400001", "SSAB12400001", "usrc17607839"}) {
    EXPECT_TRUE(isrc_prefix_known(isrc)) << isrc;
  }
}

TEST(isrc, prefix_unknown_is_only_a_warning) {
  // Valid syntax, so normalisation accepts it; the prefix check is what flags it.
  ASSERT_TRUE(normalize_isrc("XXAB12400001"));
  for (const char* isrc :
       {"XXAB12400001", "AAAB12400001", "XKAB12400001", "EUAB12400001", "QQAB12400001", "U", ""}) {
    EXPECT_FALSE(isrc_prefix_known(isrc)) << isrc;
  }
}

// --- GTIN ---------------------------------------------------------------------------------------

class gtin_normalises : public ::testing::TestWithParam<norm_case> {};

TEST_P(gtin_normalises, as_documented) {
  const auto& c = GetParam();
  const auto r = normalize_gtin(c.raw);
  if (*c.expected_form == '\0') {
    ASSERT_FALSE(r) << c.raw << " -> " << *r;
    EXPECT_EQ(r.error().code, ec::bad_gtin);
  } else {
    EXPECT_EQ(show(r), c.expected_form) << c.raw;
  }
}

INSTANTIATE_TEST_SUITE_P(accepted, gtin_normalises,
                         ::testing::Values(norm_case{"036000291452", "0036000291452"},
                                           norm_case{"0036000291452", "0036000291452"},
                                           norm_case{"00036000291452", "0036000291452"},
                                           norm_case{"0 36000 29145 2", "0036000291452"},
                                           norm_case{"036000-291452", "0036000291452"},
                                           norm_case{"4006381333931", "4006381333931"},
                                           norm_case{"978-0-306-40615-7", "9780306406157"},
                                           norm_case{"886981234562", "0886981234562"}));

INSTANTIATE_TEST_SUITE_P(
    rejected, gtin_normalises,
    ::testing::Values(
        // Wrong check digits.
        norm_case{"036000291453", ""}, norm_case{"0036000291450", ""}, norm_case{"4006381333932", ""},
        norm_case{"00036000291451", ""},
        // Wrong shapes: EAN-8, 11, 15 digits, GTIN-14 of a case (indicator 1), letters, empty.
        norm_case{"96385074", ""}, norm_case{"03600029145", ""}, norm_case{"000036000291452", ""},
        norm_case{"10036000291459", ""}, norm_case{"03600029145X", ""}, norm_case{"", ""},
        norm_case{"0360.0029.1452", ""}));

TEST(gtin, upc_a_and_ean_13_compare_equal_after_normalisation) {
  const auto upc = normalize_gtin("886981234562");
  const auto ean = normalize_gtin("0886981234562");
  ASSERT_TRUE(upc && ean);
  EXPECT_EQ(*upc, *ean);
  EXPECT_NE(*normalize_gtin("4006381333931"), *upc);
}

TEST(gtin, error_messages_say_what_was_expected) {
  EXPECT_EQ(normalize_gtin("036000291453").error().message,
            "upc: expected check digit 2, got \"036000291453\"");
  EXPECT_EQ(normalize_gtin("96385074", "release.upc").error().message,
            "release.upc: expected 12 digits (UPC-A), 13 (EAN-13) or 14 starting with 0 (GTIN-14), got "
            "\"96385074\"");
}

// --- ISWC ---------------------------------------------------------------------------------------

class iswc_normalises : public ::testing::TestWithParam<norm_case> {};

TEST_P(iswc_normalises, as_documented) {
  const auto& c = GetParam();
  const auto r = normalize_iswc(c.raw);
  if (*c.expected_form == '\0') {
    ASSERT_FALSE(r) << c.raw << " -> " << *r;
    EXPECT_EQ(r.error().code, ec::bad_iswc);
  } else {
    EXPECT_EQ(show(r), c.expected_form) << c.raw;
  }
}

INSTANTIATE_TEST_SUITE_P(accepted, iswc_normalises,
                         ::testing::Values(norm_case{"T-034.524.680-1", "T-034.524.680-1"},
                                           norm_case{"T0345246801", "T-034.524.680-1"},
                                           norm_case{"t 034 524 680 1", "T-034.524.680-1"},
                                           norm_case{"T-070.237.182-1", "T-070.237.182-1"},
                                           norm_case{"T-123.456.789-4", "T-123.456.789-4"},
                                           norm_case{"T-000.000.001-0", "T-000.000.001-0"}));

INSTANTIATE_TEST_SUITE_P(rejected, iswc_normalises,
                         ::testing::Values(norm_case{"T-034.524.680-2", ""}, norm_case{"T-034.524.680-0", ""},
                                           norm_case{"T-123.456.789-5", ""}, norm_case{"T-034.524.680", ""},
                                           norm_case{"T-034.524.680-11", ""},
                                           norm_case{"X-034.524.680-1", ""}, norm_case{"0345246801", ""},
                                           norm_case{"T-O34.524.680-1", ""}, norm_case{"", ""}));

TEST(iswc, error_messages_say_what_was_expected) {
  EXPECT_EQ(normalize_iswc("T-034.524.680-2").error().message,
            "iswc: expected check digit 1, got \"T-034.524.680-2\"");
  EXPECT_EQ(normalize_iswc("T-034.524").error().message,
            "iswc: expected an ISWC T-DDD.DDD.DDD-C, got \"T-034.524\"");
}

// --- Territory ----------------------------------------------------------------------------------

class territory_normalises : public ::testing::TestWithParam<norm_case> {};

TEST_P(territory_normalises, with_default_options) {
  const auto& c = GetParam();
  const auto r = normalize_territory(c.raw);
  if (*c.expected_form == '\0') {
    ASSERT_FALSE(r) << c.raw << " -> " << *r;
    EXPECT_EQ(r.error().code, ec::bad_territory);
  } else {
    EXPECT_EQ(show(r), c.expected_form) << c.raw;
  }
}

INSTANTIATE_TEST_SUITE_P(
    accepted, territory_normalises,
    ::testing::Values(norm_case{"US", "US"}, norm_case{"us", "US"}, norm_case{" De ", "DE"},
                      norm_case{"USA", "US"}, norm_case{"gbr", "GB"}, norm_case{"DEU", "DE"},
                      norm_case{"ALA", "AX"}, norm_case{"SSD", "SS"}, norm_case{"BES", "BQ"},
                      norm_case{"COM", "KM"}, norm_case{"ZWE", "ZW"}, norm_case{"ABW", "AW"},
                      norm_case{"UK", "GB"}, norm_case{"uk", "GB"}, norm_case{"Worldwide", "WW"},
                      norm_case{"WORLD", "WW"}, norm_case{"ww", "WW"}, norm_case{"XK", "XK"},
                      norm_case{"XKX", "XK"}, norm_case{"ZZ", "ZZ"}, norm_case{"eu", "EU"},
                      norm_case{"AQ", "AQ"}, norm_case{"TF", "TF"}));

INSTANTIATE_TEST_SUITE_P(rejected, territory_normalises,
                         ::testing::Values(norm_case{"", ""}, norm_case{"U", ""}, norm_case{"XX", ""},
                                           norm_case{"AA", ""}, norm_case{"USAA", ""}, norm_case{"ZZZ", ""},
                                           norm_case{"United States", ""}, norm_case{"GBX", ""},
                                           norm_case{"U S", ""}, norm_case{"1A", ""}));

TEST(territory, pseudo_territories_come_from_options) {
  const territory_options none{{}};
  EXPECT_FALSE(normalize_territory("XK", none));
  EXPECT_FALSE(normalize_territory("XKX", none));
  EXPECT_FALSE(normalize_territory("ZZ", none));
  EXPECT_EQ(show(normalize_territory("Worldwide", none)), "WW");  // always understood
  EXPECT_EQ(show(normalize_territory("USA", none)), "US");
  const territory_options custom{{"eu", "QO"}};
  EXPECT_EQ(show(normalize_territory("qo", custom)), "QO");
  EXPECT_EQ(show(normalize_territory("EU", custom)), "EU");
  EXPECT_FALSE(normalize_territory("XK", custom));
}

TEST(territory, error_message_quotes_the_raw_value) {
  EXPECT_EQ(normalize_territory("Atlantis", {}, "sales.territory").error().message,
            "sales.territory: expected an ISO 3166-1 alpha-2 or alpha-3 code, UK, Worldwide or a configured "
            "pseudo-territory, got \"Atlantis\"");
}

// --- Currency -----------------------------------------------------------------------------------

struct currency_case {
  const char* code;
  int minor_units;
};

class currency_minor_units : public ::testing::TestWithParam<currency_case> {};

TEST_P(currency_minor_units, match_iso_4217) {
  const auto& c = GetParam();
  const currency_info* info = find_currency(c.code);
  ASSERT_NE(info, nullptr) << c.code;
  EXPECT_EQ(info->code, c.code);
  EXPECT_EQ(info->minor_units, c.minor_units) << c.code;
}

INSTANTIATE_TEST_SUITE_P(
    iso_4217, currency_minor_units,
    ::testing::Values(
        currency_case{"USD", 2}, currency_case{"EUR", 2}, currency_case{"GBP", 2}, currency_case{"CHF", 2},
        currency_case{"JPY", 0}, currency_case{"KRW", 0}, currency_case{"ISK", 0}, currency_case{"CLP", 0},
        currency_case{"VND", 0}, currency_case{"XOF", 0}, currency_case{"BHD", 3}, currency_case{"KWD", 3},
        currency_case{"JOD", 3}, currency_case{"OMR", 3}, currency_case{"TND", 3}, currency_case{"IQD", 3},
        currency_case{"LYD", 3}, currency_case{"CLF", 4}, currency_case{"UYW", 4}, currency_case{"UYI", 0},
        currency_case{"MGA", 2}, currency_case{"XAU", 0}, currency_case{"XDR", 0}, currency_case{"XXX", 0},
        currency_case{"XCG", 2}, currency_case{"ZWG", 2}, currency_case{"AED", 2}, currency_case{"ZMW", 2}));

TEST(currency, lookup_is_case_insensitive_and_trims) {
  ASSERT_NE(find_currency("usd"), nullptr);
  EXPECT_EQ(find_currency("usd")->code, "USD");
  EXPECT_EQ(find_currency(" eur "), find_currency("EUR"));
  EXPECT_EQ(show(normalize_currency(" jpy")), "JPY");
}

TEST(currency, unknown_and_withdrawn_codes_are_rejected) {
  for (const char* code : {"", "US", "USDD", "ABC", "U$D", "HRK", "EURO"}) {
    EXPECT_EQ(find_currency(code), nullptr) << code;
    const auto r = normalize_currency(code);
    ASSERT_FALSE(r) << code;
    EXPECT_EQ(r.error().code, ec::bad_currency);
  }
  EXPECT_EQ(normalize_currency("Dollars").error().message,
            "currency: expected an ISO 4217 currency code, got \"Dollars\"");
}

// --- Reporting period ---------------------------------------------------------------------------

class period_normalises : public ::testing::TestWithParam<norm_case> {};

TEST_P(period_normalises, as_documented) {
  const auto& c = GetParam();
  const auto r = normalize_period(c.raw);
  if (*c.expected_form == '\0') {
    ASSERT_FALSE(r) << c.raw << " -> " << *r;
    EXPECT_EQ(r.error().code, ec::bad_period);
  } else {
    EXPECT_EQ(show(r), c.expected_form) << c.raw;
  }
}

INSTANTIATE_TEST_SUITE_P(accepted, period_normalises,
                         ::testing::Values(norm_case{"2026-10", "2026-10"}, norm_case{"202610", "2026-10"},
                                           norm_case{"2026/10", "2026-10"}, norm_case{" 2026-01 ", "2026-01"},
                                           norm_case{"2026-12", "2026-12"}, norm_case{"2026", "2026"},
                                           norm_case{"2026-Q3", "2026-Q3"}, norm_case{"2026-q1", "2026-Q1"},
                                           norm_case{"2026-Q4", "2026-Q4"}, norm_case{"2026-W07", "2026-W07"},
                                           norm_case{"2026-w01", "2026-W01"},
                                           norm_case{"2026-W53", "2026-W53"},
                                           norm_case{"2020-W53", "2020-W53"},
                                           norm_case{"2026-10-01--2026-10-31", "2026-10-01--2026-10-31"},
                                           norm_case{"2024-02-01--2024-02-29", "2024-02-01--2024-02-29"},
                                           norm_case{"2026-10-01--2026-10-01", "2026-10-01--2026-10-01"},
                                           norm_case{"2025-12-29--2026-01-04", "2025-12-29--2026-01-04"}));

INSTANTIATE_TEST_SUITE_P(
    rejected, period_normalises,
    ::testing::Values(norm_case{"2026-13", ""}, norm_case{"2026-00", ""}, norm_case{"202613", ""},
                      norm_case{"2026/13", ""}, norm_case{"2026-1", ""}, norm_case{"26-10", ""},
                      norm_case{"2026-Q5", ""}, norm_case{"2026-Q0", ""}, norm_case{"2026-W00", ""},
                      norm_case{"2026-W54", ""}, norm_case{"2025-W53", ""}, norm_case{"2026-W7", ""},
                      norm_case{"2026-02-30--2026-03-01", ""}, norm_case{"2023-02-29--2023-03-01", ""},
                      norm_case{"2026-10-31--2026-10-01", ""}, norm_case{"2026-10-01--2026-13-01", ""},
                      norm_case{"2026-10-01", ""}, norm_case{"2026-10-01/2026-10-31", ""},
                      norm_case{"Oct 2026", ""}, norm_case{"", ""}, norm_case{"2026-10x", ""}));

TEST(period, error_message_quotes_the_raw_value) {
  EXPECT_EQ(normalize_period("2026-13").error().message,
            "reporting_period: expected YYYY-MM, YYYY, YYYY-Qn, YYYY-Www or YYYY-MM-DD--YYYY-MM-DD, got "
            "\"2026-13\"");
}

}  // namespace
}  // namespace dspsync
