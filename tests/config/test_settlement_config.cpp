#include "config/settlement.hpp"

#include <gtest/gtest.h>

#include "config/config.hpp"

namespace dspsync {
namespace {

TEST(settlement_config, defaults_apply_when_the_object_is_absent) {
  auto cfg = parse_config(R"({"endpoints": []})");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& s = cfg->settlement;
  EXPECT_DOUBLE_EQ(s.fuzzy_threshold, 0.92);
  EXPECT_DOUBLE_EQ(s.fuzzy_margin, 0.05);
  EXPECT_EQ(s.pools.master + s.pools.mechanical + s.pools.performance, share_whole);
  EXPECT_EQ(s.fx_path("2026-10"), "fx/2026-10.csv");
  EXPECT_EQ(s.payees().of("Anyone", "SEK"), "SEK");  // no default: the record's currency
}

TEST(settlement_config, reads_every_field_exactly) {
  auto cfg = parse_config(R"({"settlement": {
      "fuzzy_threshold": 0.95, "fuzzy_margin": 0,
      "pools": {"master": "72.5", "mechanical": 15, "performance": "12.5"},
      "fx_table": "/srv/fx/{period}/rates-{period}.csv",
      "payee_currencies": {"Café Musique SARL": "eur"}, "default_currency": "USD",
      "outliers": {"min_group": 20, "min_units": 1000, "threshold": 5}}})");
  ASSERT_TRUE(cfg) << cfg.error().message;
  const auto& s = cfg->settlement;
  EXPECT_DOUBLE_EQ(s.reconcile().fuzzy.threshold, 0.95);
  EXPECT_DOUBLE_EQ(s.reconcile().fuzzy.margin, 0.0);
  EXPECT_EQ(s.pools.master, 7'250'000'000);
  EXPECT_EQ(s.fx_path("2026-10"), "/srv/fx/2026-10/rates-2026-10.csv");
  EXPECT_EQ(s.payees().of("Café Musique SARL", "USD"), "EUR");
  EXPECT_EQ(s.payees().of("Other", "SEK"), "USD");
  EXPECT_EQ(s.outliers.min_group, 20u);
  EXPECT_EQ(s.outliers.min_units, 1000);
}

TEST(settlement_config, names_every_wrong_field) {
  auto cfg = parse_config(R"({"settlement": {
      "fuzzy_threshold": 0, "fuzzy_margin": 1, "pools": {"master": 80.5, "mechanical": 10},
      "payee_currencies": {"X": "EURO"}, "default_currency": 5, "fx_tabel": "x",
      "outliers": {"min_group": 1}}})");
  ASSERT_FALSE(cfg);
  const auto& m = cfg.error().message;
  for (const char* want :
       {"settlement.fuzzy_threshold: expected a number above 0 and at most 1, got 0",
        "settlement.fuzzy_margin: expected a number from 0 up to (not including) 1, got 1",
        "settlement.pools.master: expected a percentage as an integer or a decimal string",
        "settlement.payee_currencies[\"X\"]: expected an ISO 4217 currency code, got \"EURO\"",
        "settlement.default_currency: expected an ISO 4217 currency code, got 5",
        "settlement.fx_tabel: unknown field", "settlement.outliers.min_group: expected an integer >= 3"})
    EXPECT_NE(m.find(want), std::string::npos) << want << "\n" << m;
  auto sum = parse_config(R"({"settlement": {"pools": {"master": 80, "mechanical": 10}}})");
  ASSERT_FALSE(sum);
  EXPECT_NE(sum.error().message.find("settlement.pools: expected shares summing to exactly 100, got 90"),
            std::string::npos);
}

}  // namespace
}  // namespace dspsync
