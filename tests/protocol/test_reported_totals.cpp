// A DSP's totals response: the request target with the period filled in, exact revenue, rows
// summed by the caller, and every bad field named with its row's pointer.

#include "protocol/reported_totals.hpp"

#include <gtest/gtest.h>

namespace dspsync::test {
namespace {

TEST(reported_totals, the_target_fills_in_the_period_and_encodes_the_query) {
  totals_config t;
  t.path = "/v1/totals";
  EXPECT_EQ(totals_target(t, "2026-10"), "/v1/totals?period=2026-10");
  t.query = {{"month", "{period}"}, {"label", "A&B Records"}};
  EXPECT_EQ(totals_target(t, "2026-10"), "/v1/totals?label=A%26B%20Records&month=2026-10");
}

TEST(reported_totals, rows_parse_exactly_with_configured_member_names) {
  totals_config t;
  t.rows_pointer = "/data";
  t.revenue_field = "net_revenue";
  t.records_field = "rows";
  auto rows = parse_totals(t, R"({"data": [
      {"period": "2026-10", "currency": "jpy", "net_revenue": 12345, "units": 7, "rows": 3},
      {"period": "2026-10", "currency": "EUR", "net_revenue": 0.10000001, "units": -2, "rows": 0}]})",
                           "totals of x");
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].currency, "JPY");
  EXPECT_EQ((*rows)[0].revenue, *money::parse("12345"));
  EXPECT_EQ((*rows)[0].records, 3u);
  EXPECT_EQ((*rows)[1].revenue, *money::parse("0.10000001"));  // never through a double
  EXPECT_EQ((*rows)[1].units, -2);                             // corrections are legitimate
}

TEST(reported_totals, a_bad_row_names_its_pointer_and_field) {
  totals_config t;
  const std::vector<std::pair<std::string, std::string>> cases{
      {R"({"totals": [{"period": "2026-10", "currency": "EUR", "revenue": "n/a", "units": 1, "records": 1}]})",
       "totals of x: /totals/0/revenue"},
      {R"({"totals": [{"period": "2026-10", "currency": "EUR", "revenue": 1, "units": 1, "records": 1},
                      {"period": "2026-10", "currency": "EURO", "revenue": 1, "units": 1, "records": 1}]})",
       "/totals/1/currency"},
      {R"({"totals": [{"period": "2026-10", "currency": "EUR", "revenue": 1.123456789, "units": 1, "records": 1}]})",
       "/totals/0/revenue"},
      {R"({"totals": [{"period": "2026-10", "currency": "EUR", "revenue": 1, "units": 1.5, "records": 1}]})",
       "/totals/0/units: expected a whole number"},
      {R"({"totals": [{"period": "2026-10", "currency": "EUR", "revenue": 1, "units": 1, "records": -1}]})",
       "/totals/0/records: expected a whole number >= 0"},
      {R"({"totals": [{"currency": "EUR", "revenue": 1, "units": 1, "records": 1}]})",
       "/totals/0/period: expected a reporting period YYYY-MM, got nothing (the member is missing)"},
      {R"({"rows": []})", "totals of x: /totals: expected an array of totals rows"},
      {R"({"totals": [1]})", "/totals/0: expected an object"},
      {R"({"totals": [)", "totals of x"},
  };
  for (const auto& [body, want] : cases) {
    SCOPED_TRACE(body);
    auto rows = parse_totals(t, body, "totals of x");
    ASSERT_FALSE(rows);
    EXPECT_NE(rows.error().message.find(want), std::string::npos) << rows.error().message;
  }
}

}  // namespace
}  // namespace dspsync::test
