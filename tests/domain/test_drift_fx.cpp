#include <gtest/gtest.h>

#include "domain/drift.hpp"
#include "domain/fx.hpp"

namespace dspsync {
namespace {

TEST(median_mad, of_small_samples) {
  auto s = median_mad({5, 1, 3, 2, 4});
  EXPECT_EQ(s.median, 3);
  EXPECT_EQ(s.mad, 1);
  s = median_mad({1, 2, 3, 4});  // lower middle
  EXPECT_EQ(s.median, 2);
  EXPECT_EQ(median_mad({}).n, 0u);
}

TEST(outliers, flags_a_rate_far_from_the_group_median) {
  std::vector<int64_t> rates{400'000, 410'000, 390'000, 405'000,  395'000,
                             420'000, 380'000, 400'000, 4'000'000};
  auto found = find_outliers(rates, {});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].index, 8u);
  EXPECT_GT(found[0].z, 3.5);
  rates.pop_back();
  EXPECT_TRUE(find_outliers(rates, {}).empty());
  // Too small a group is not judged.
  EXPECT_TRUE(find_outliers({1, 1, 1, 100}, {}).empty());
  // MAD 0: the mean absolute deviation stands in.
  std::vector<int64_t> flat(20, 500);
  flat.push_back(5000);
  found = find_outliers(flat, {});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].index, 20u);
}

TEST(outliers, revenue_per_unit_is_exact_and_rounds_half_away_from_zero) {
  EXPECT_EQ(revenue_per_unit(money::from_units(400'000'000), 1000), 400'000);
  EXPECT_EQ(revenue_per_unit(money::from_units(-400'000'000), -1000), 400'000);
  EXPECT_EQ(revenue_per_unit(money::from_units(5), 2), 3);
  EXPECT_EQ(revenue_per_unit(money::from_units(-5), 2), -3);
  EXPECT_FALSE(revenue_per_unit(money::from_units(5), 0));
}

TEST(fx, converts_with_half_even_rounding_at_the_money_scale) {
  // 0.00000001 * 0.5 = 0.000000005 -> 0 (even); 0.00000003 * 0.5 = 0.000000015 -> 0.00000002.
  EXPECT_EQ(convert(money::from_units(1), 50'000'000)->units(), 0);
  EXPECT_EQ(convert(money::from_units(3), 50'000'000)->units(), 2);
  EXPECT_EQ(convert(money::from_units(-3), 50'000'000)->units(), -2);
  EXPECT_EQ(convert(*money::parse("12.34"), 92'000'000)->to_string(), "11.3528");
  EXPECT_EQ(round_half_even(*money::parse("0.125"), 2).to_string(), "0.12");
  EXPECT_EQ(round_half_even(*money::parse("0.135"), 2).to_string(), "0.14");
  EXPECT_EQ(round_half_even(*money::parse("-0.125"), 2).to_string(), "-0.12");
  EXPECT_EQ(round_half_even(*money::parse("1234.5"), 0).to_string(), "1234");
}

TEST(fx, parses_a_table_and_names_a_missing_pair) {
  auto t = fx_table::parse_csv("# October\nfrom,to,rate\nEUR,USD,1.08\nusd,JPY,149.85\n", "fx/2026-10.csv");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(*t->rate("EUR", "USD"), 108'000'000);
  EXPECT_EQ(*t->rate("USD", "JPY"), 14'985'000'000);
  EXPECT_EQ(*t->rate("SEK", "SEK"), money::one);
  auto missing = t->rate("USD", "EUR");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("fx/2026-10.csv: no rate from USD to EUR"), std::string::npos);
  auto bad = fx_table::parse_csv("from,to,rate\nEUR,USD,1.08\nEUR,USD,1.09\nQQQ,USD,1\nGBP,USD,-1\n", "f");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("f:3:"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("f:4:"), std::string::npos);
  EXPECT_NE(bad.error().message.find("f:5:"), std::string::npos);
  EXPECT_FALSE(fx_table::parse_csv("currency,rate\nEUR,1\n", "f"));
}

}  // namespace
}  // namespace dspsync
