#include "domain/validation.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace dspsync {
namespace {

/// The raw text of a record that passes every gate; tests change one field at a time.
std::vector<std::pair<field, std::string>> good_fields() {
  return {
      {field::isrc, "USRC17607839"},        {field::upc, "036000291452"},
      {field::iswc, "T-034.524.680-1"},     {field::territory, "US"},
      {field::reporting_period, "2026-10"}, {field::units, "1200"},
      {field::revenue, "10.276825"},        {field::currency, "USD"},
      {field::transaction_id, "tx-1"},      {field::title, "Song"},
  };
}

/// Owns the text the views in `raw_fields` point into.
struct record_text {
  std::vector<std::pair<field, std::string>> values = good_fields();
  std::vector<std::string> artists = {"Artist A", "Artist B"};

  record_text& set(field f, std::string v) {
    for (auto& [k, text] : values)
      if (k == f) {
        text = std::move(v);
        return *this;
      }
    values.emplace_back(f, std::move(v));
    return *this;
  }
  record_text& drop(field f) {
    values.erase(std::remove_if(values.begin(), values.end(), [&](const auto& p) { return p.first == f; }),
                 values.end());
    return *this;
  }
  raw_fields raw() const {
    raw_fields r;
    r.clear();
    for (const auto& [k, text] : values) r[k] = std::string_view(text);
    for (const auto& a : artists) r.artists.emplace_back(a);
    return r;
  }
};

validation_result run(const record_text& t, std::string_view dsp = "spotify") {
  validation_context ctx;
  ctx.dsp = dsp;
  validation_result out;
  validate(t.raw(), ctx, out);
  return out;
}

std::string describe(const validation_result& r) {
  std::string s;
  for (const auto& f : r.faults) s += std::string(to_string(f.code)) + " " + f.message + "; ";
  return s;
}

bool has_fault(const validation_result& r, ec code, std::string_view field_prefix) {
  return std::any_of(r.faults.begin(), r.faults.end(), [&](const failure& f) {
    return f.code == code && f.message.compare(0, field_prefix.size(), field_prefix) == 0;
  });
}

TEST(validation, good_record_is_valid_with_no_faults) {
  auto r = run(record_text{});
  EXPECT_EQ(r.outcome, verdict::valid) << describe(r);
  EXPECT_TRUE(r.faults.empty()) << describe(r);
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(r.record.isrc, "USRC17607839");
  EXPECT_EQ(r.record.upc, "0036000291452");
  EXPECT_EQ(r.record.iswc, "T-034.524.680-1");
  EXPECT_EQ(r.record.territory, "US");
  EXPECT_EQ(r.record.territory_raw, "US");
  EXPECT_EQ(r.record.reporting_period, "2026-10");
  EXPECT_EQ(r.record.units, 1200);
  EXPECT_EQ(r.record.revenue.units(), 1'027'682'500);
  EXPECT_EQ(r.record.currency, "USD");
  EXPECT_EQ(r.record.transaction_id, "tx-1");
  EXPECT_EQ(r.record.title, "Song");
  EXPECT_EQ(r.record.dsp, "spotify");
  EXPECT_EQ(r.record.artists, (std::vector<std::string>{"Artist A", "Artist B"}));
}

// --- corrupt: the record cannot be identified or its money cannot be read --------------------------

struct fault_case {
  const char* name;
  field f;
  bool drop;  // remove the field instead of setting it
  const char* text;
  ec code;
};

class validation_corrupt : public ::testing::TestWithParam<fault_case> {};

TEST_P(validation_corrupt, is_quarantined_with_the_reason) {
  const auto& c = GetParam();
  record_text t;
  if (c.drop)
    t.drop(c.f);
  else
    t.set(c.f, c.text);
  auto r = run(t);
  EXPECT_EQ(r.outcome, verdict::corrupt) << c.name << ": " << describe(r);
  ASSERT_EQ(r.faults.size(), 1u) << c.name << ": " << describe(r);
  EXPECT_EQ(r.faults[0].code, c.code) << c.name << ": " << describe(r);
  EXPECT_EQ(r.faults[0].message.rfind(std::string(field_name(c.f)) + ":", 0), 0u)
      << c.name << ": the message names the field: " << r.faults[0].message;
}

INSTANTIATE_TEST_SUITE_P(
    reasons, validation_corrupt,
    ::testing::Values(
        fault_case{"missing_isrc", field::isrc, true, "", ec::missing_field},
        fault_case{"blank_isrc", field::isrc, false, "   ", ec::missing_field},
        fault_case{"missing_currency", field::currency, true, "", ec::missing_field},
        fault_case{"missing_period", field::reporting_period, true, "", ec::missing_field},
        fault_case{"missing_transaction_id", field::transaction_id, true, "", ec::missing_field},
        fault_case{"empty_transaction_id", field::transaction_id, false, "", ec::missing_field},
        fault_case{"missing_revenue", field::revenue, true, "", ec::missing_field},
        fault_case{"short_isrc", field::isrc, false, "US-RC1-76-0783", ec::bad_isrc},
        fault_case{"isrc_letters_in_designation", field::isrc, false, "USRC176078AB", ec::bad_isrc},
        fault_case{"unknown_currency", field::currency, false, "USX", ec::bad_currency},
        fault_case{"currency_too_long", field::currency, false, "USDD", ec::bad_currency},
        fault_case{"bad_period", field::reporting_period, false, "2026-13", ec::bad_period},
        fault_case{"revenue_with_comma", field::revenue, false, "1,50", ec::bad_number},
        fault_case{"revenue_not_a_number", field::revenue, false, "NaN", ec::bad_number},
        fault_case{"revenue_two_dots", field::revenue, false, "1.2.3", ec::bad_number},
        fault_case{"revenue_too_many_decimals", field::revenue, false, "0.123456789", ec::amount_precision},
        fault_case{"units_fraction", field::units, false, "12.5", ec::bad_number},
        fault_case{"units_text", field::units, false, "twelve", ec::bad_number}),
    [](const auto& info) { return std::string(info.param.name); });

// --- pending: a real record with a fixable data fault ----------------------------------------------

class validation_pending : public ::testing::TestWithParam<fault_case> {};

TEST_P(validation_pending, is_kept_with_the_reason) {
  const auto& c = GetParam();
  record_text t;
  if (c.drop)
    t.drop(c.f);
  else
    t.set(c.f, c.text);
  auto r = run(t);
  EXPECT_EQ(r.outcome, verdict::pending) << c.name << ": " << describe(r);
  ASSERT_EQ(r.faults.size(), 1u) << c.name << ": " << describe(r);
  EXPECT_EQ(r.faults[0].code, c.code) << c.name << ": " << describe(r);
  EXPECT_EQ(r.faults[0].message.rfind(std::string(field_name(c.f)) + ":", 0), 0u) << r.faults[0].message;
  // The key fields are still there, so the record can be keyed and stored.
  EXPECT_EQ(r.record.isrc, "USRC17607839");
  EXPECT_EQ(r.record.transaction_id, "tx-1");
  EXPECT_EQ(r.record.currency, "USD");
}

INSTANTIATE_TEST_SUITE_P(
    reasons, validation_pending,
    ::testing::Values(fault_case{"upc_check_digit", field::upc, false, "036000291453", ec::bad_gtin},
                      fault_case{"upc_wrong_length", field::upc, false, "03600029145", ec::bad_gtin},
                      fault_case{"unknown_territory", field::territory, false, "QQ", ec::bad_territory},
                      fault_case{"missing_territory", field::territory, true, "", ec::missing_field},
                      fault_case{"missing_units", field::units, true, "", ec::missing_field},
                      fault_case{"iswc_check_digit", field::iswc, false, "T-034.524.680-2", ec::bad_iswc},
                      fault_case{"iswc_shape", field::iswc, false, "T-034.524", ec::bad_iswc}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(validation, pending_keeps_the_raw_text_of_a_bad_identifier) {
  auto r = run(record_text{}.set(field::upc, "036000291453").set(field::territory, "Narnia"));
  EXPECT_EQ(r.outcome, verdict::pending);
  EXPECT_EQ(r.record.upc, "036000291453");
  EXPECT_EQ(r.record.territory_raw, "Narnia");
  EXPECT_TRUE(r.record.territory.empty());
  auto w = run(record_text{}.set(field::iswc, "T-034.524.680-2"));
  EXPECT_EQ(w.record.iswc, "T-034.524.680-2");
}

// --- valid with normalisation --------------------------------------------------------------------

TEST(validation, normalises_identifiers_at_the_edge) {
  record_text t;
  t.set(field::isrc, "us-rc1-76-07839")
      .set(field::upc, "0-36000-29145-2")
      .set(field::territory, "usa")
      .set(field::currency, " usd ")
      .set(field::reporting_period, "202610")
      .set(field::iswc, "T0345246801")
      .set(field::transaction_id, "  tx-1\t");
  auto r = run(t);
  EXPECT_EQ(r.outcome, verdict::valid) << describe(r);
  EXPECT_EQ(r.record.isrc, "USRC17607839");
  EXPECT_EQ(r.record.upc, "0036000291452");
  EXPECT_EQ(r.record.territory, "US");
  EXPECT_EQ(r.record.territory_raw, "usa");
  EXPECT_EQ(r.record.currency, "USD");
  EXPECT_EQ(r.record.reporting_period, "2026-10");
  EXPECT_EQ(r.record.iswc, "T-034.524.680-1");
  EXPECT_EQ(r.record.transaction_id, "tx-1");
}

TEST(validation, territory_aliases_keep_the_raw_value) {
  struct territory_case {
    const char* raw;
    const char* normalised;
  };
  for (const auto& c :
       {territory_case{"GBR", "GB"}, territory_case{"UK", "GB"}, territory_case{"Worldwide", "WW"},
        territory_case{"ZZ", "ZZ"}, territory_case{"XK", "XK"}, territory_case{"de", "DE"}}) {
    auto r = run(record_text{}.set(field::territory, c.raw));
    EXPECT_EQ(r.outcome, verdict::valid) << c.raw << ": " << describe(r);
    EXPECT_EQ(r.record.territory, c.normalised) << c.raw;
    EXPECT_EQ(r.record.territory_raw, c.raw);
  }
}

TEST(validation, negative_revenue_is_a_legitimate_void) {
  auto r = run(record_text{}.set(field::revenue, "-3.50").set(field::units, "-2"));
  EXPECT_EQ(r.outcome, verdict::valid) << describe(r);
  EXPECT_EQ(r.record.revenue.units(), -350'000'000);
  EXPECT_EQ(r.record.units, -2);
}

TEST(validation, whole_units_may_carry_a_zero_fraction) {
  struct units_case {
    const char* text;
    bool ok;
    int64_t units;
  };
  for (const auto& c : {units_case{"12.0", true, 12}, units_case{"12.000", true, 12},
                        units_case{"0", true, 0}, units_case{"1e3", true, 1000}, units_case{"12.5", false, 0},
                        units_case{"0.00000001", false, 0}, units_case{"12,0", false, 0}}) {
    auto r = run(record_text{}.set(field::units, c.text));
    if (c.ok) {
      EXPECT_EQ(r.outcome, verdict::valid) << c.text << ": " << describe(r);
      EXPECT_EQ(r.record.units, c.units) << c.text;
    } else {
      EXPECT_EQ(r.outcome, verdict::corrupt) << c.text << ": " << describe(r);
      EXPECT_TRUE(has_fault(r, ec::bad_number, "units:")) << c.text << ": " << describe(r);
    }
  }
}

TEST(validation, unknown_isrc_prefix_is_only_a_warning) {
  // "QQ" is neither an ISO 3166-1 code nor an agency prefix; "QM" and "ZZ" are agency prefixes.
  auto r = run(record_text{}.set(field::isrc, "QQRC17607839"));
  EXPECT_EQ(r.outcome, verdict::valid) << describe(r);
  EXPECT_EQ(r.record.isrc, "QQRC17607839");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("QQ"), std::string::npos) << r.warnings[0];
  for (const char* known : {"QMRC17607839", "ZZRC17607839", "GBAYE0601498"}) {
    auto k = run(record_text{}.set(field::isrc, known));
    EXPECT_EQ(k.outcome, verdict::valid) << known;
    EXPECT_TRUE(k.warnings.empty()) << known;
  }
}

TEST(validation, reports_every_fault_not_only_the_first) {
  record_text t;
  t.drop(field::isrc)
      .set(field::currency, "XYZ1")
      .set(field::revenue, "abc")
      .set(field::upc, "036000291453")
      .drop(field::territory)
      .set(field::iswc, "T-034.524.680-2");
  auto r = run(t);
  EXPECT_EQ(r.outcome, verdict::corrupt) << describe(r);
  EXPECT_EQ(r.faults.size(), 6u) << describe(r);
  EXPECT_TRUE(has_fault(r, ec::missing_field, "isrc:")) << describe(r);
  EXPECT_TRUE(has_fault(r, ec::bad_currency, "currency:")) << describe(r);
  EXPECT_TRUE(has_fault(r, ec::bad_number, "revenue:")) << describe(r);
  EXPECT_TRUE(has_fault(r, ec::bad_gtin, "upc:")) << describe(r);
  EXPECT_TRUE(has_fault(r, ec::missing_field, "territory:")) << describe(r);
  EXPECT_TRUE(has_fault(r, ec::bad_iswc, "iswc:")) << describe(r);
}

TEST(validation, a_corrupt_fault_after_a_pending_one_still_makes_it_corrupt) {
  // Territory (pending) is checked before units (corrupt).
  auto r = run(record_text{}.set(field::territory, "QQ").set(field::units, "1.5"));
  EXPECT_EQ(r.outcome, verdict::corrupt) << describe(r);
  EXPECT_EQ(r.faults.size(), 2u) << describe(r);
}

TEST(validation, reused_result_does_not_leak_the_previous_record) {
  validation_context ctx;
  ctx.dsp = "deezer";
  validation_result out;
  record_text full;
  full.artists = {"A"};
  validate(full.raw(), ctx, out);
  ASSERT_EQ(out.outcome, verdict::valid);

  record_text sparse;
  sparse.drop(field::upc).drop(field::iswc).drop(field::title).set(field::territory, "QQ");
  sparse.artists.clear();
  validate(sparse.raw(), ctx, out);
  EXPECT_EQ(out.outcome, verdict::pending) << describe(out);
  EXPECT_EQ(out.faults.size(), 1u) << describe(out);
  EXPECT_TRUE(out.warnings.empty());
  EXPECT_TRUE(out.record.upc.empty());
  EXPECT_TRUE(out.record.iswc.empty());
  EXPECT_TRUE(out.record.title.empty());
  EXPECT_TRUE(out.record.territory.empty());
  EXPECT_TRUE(out.record.artists.empty());
  EXPECT_EQ(out.record.dsp, "deezer");

  validate(full.raw(), ctx, out);
  EXPECT_EQ(out.outcome, verdict::valid) << describe(out);
  EXPECT_TRUE(out.faults.empty());
}

TEST(validation, field_names_round_trip) {
  for (std::size_t i = 0; i < field_count; ++i) {
    auto f = static_cast<field>(i);
    auto back = field_from_name(field_name(f));
    ASSERT_TRUE(back.has_value()) << field_name(f);
    EXPECT_EQ(*back, f);
  }
  EXPECT_FALSE(field_from_name("streams").has_value());
  EXPECT_FALSE(field_from_name("").has_value());
}

}  // namespace
}  // namespace dspsync
