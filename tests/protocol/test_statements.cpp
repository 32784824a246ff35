#include "protocol/statements.hpp"

#include <gtest/gtest.h>

namespace dspsync {
namespace {

ledger_figures balanced() {
  ledger_figures f;
  f.dsp = "spotify";
  f.currency = "EUR";
  f.records = 10;
  f.revenue = money::from_units(1'000);
  f.settled = 8;
  f.settled_revenue = money::from_units(700);
  f.adjusted_later = money::from_units(50);
  f.pending = 2;
  f.pending_revenue = money::from_units(250);
  f.pending_reasons = {{"unknown_isrc", 1}, {"missing_iswc", 1}};
  return f;
}

TEST(reconciliation_report, names_pending_money_and_agrees_with_a_matching_dsp_total) {
  auto f = balanced();
  f.reported = reported_figures{10, money::from_units(1'000), "SY02 line 3"};
  auto found = discrepancies(f, "2026-10");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0],
            "2 records (0.0000025 EUR) wait in pending_reconciliation: missing_iswc x1, unknown_isrc x1");
}

TEST(reconciliation_report, names_a_dsp_total_that_differs_and_a_broken_identity) {
  auto f = balanced();
  f.pending = 0;
  f.pending_revenue = money{};
  f.pending_reasons.clear();
  f.reported = reported_figures{11, money::from_units(1'100), "SY02 line 3 of r.tsv"};
  auto found = discrepancies(f, "2026-10");
  ASSERT_EQ(found.size(), 3u);
  EXPECT_NE(found[0].find("settled, pending and waiting amounts add to 0.0000075 EUR (difference 0.0000025)"),
            std::string::npos)
      << found[0];
  EXPECT_EQ(
      found[1],
      "spotify reported 0.000011 EUR (SY02 line 3 of r.tsv) but the ledger holds 0.00001 EUR (difference "
      "0.000001)");
  EXPECT_EQ(found[2], "spotify reported 11 records but the ledger holds 10");
}

}  // namespace
}  // namespace dspsync
