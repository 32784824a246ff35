#include "domain/splits.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "domain/catalog.hpp"
#include "domain/settlement.hpp"

namespace dspsync {
namespace {

TEST(largest_remainder, splits_a_cent_three_ways_with_the_leftover_to_the_earliest_largest_remainder) {
  auto parts = allocate_largest_remainder(100, {1, 1, 1});
  ASSERT_TRUE(parts);
  EXPECT_EQ(*parts, (std::vector<int64_t>{34, 33, 33}));
  parts = allocate_largest_remainder(-100, {1, 1, 1});
  ASSERT_TRUE(parts);
  EXPECT_EQ(*parts, (std::vector<int64_t>{-34, -33, -33}));
  // Largest remainder wins over position: 10 * 0.15 = 1.5, 10 * 0.85 = 8.5; tie -> earlier.
  parts = allocate_largest_remainder(10, {15, 85});
  ASSERT_TRUE(parts);
  EXPECT_EQ(*parts, (std::vector<int64_t>{2, 8}));
  parts = allocate_largest_remainder(7, {10, 60, 30});  // 0.7, 4.2, 2.1 -> 1, 4, 2
  ASSERT_TRUE(parts);
  EXPECT_EQ(*parts, (std::vector<int64_t>{1, 4, 2}));
}

TEST(largest_remainder, rejects_unusable_weights) {
  EXPECT_FALSE(allocate_largest_remainder(5, {}));
  EXPECT_FALSE(allocate_largest_remainder(5, {0, 0}));
  EXPECT_FALSE(allocate_largest_remainder(5, {3, -1}));
  auto parts = allocate_largest_remainder(5, {0, 7});
  ASSERT_TRUE(parts);
  EXPECT_EQ(*parts, (std::vector<int64_t>{0, 5}));
}

// Property: over many seeds, random totals (both signs, including the int64 extremes) and random
// weights always allocate parts that sum exactly to the whole, carry its sign, and stay within one
// unit of the exact quota.
TEST(largest_remainder, parts_always_sum_exactly_to_the_whole) {
  for (uint64_t seed = 1; seed <= 3000; ++seed) {
    std::mt19937_64 rng(seed);
    const int n = 1 + static_cast<int>(rng() % 12);
    std::vector<int64_t> weights(static_cast<std::size_t>(n));
    for (auto& w : weights) w = static_cast<int64_t>(rng() % (share_whole + 1));
    if (std::all_of(weights.begin(), weights.end(), [](int64_t w) { return w == 0; })) weights[0] = 1;
    int64_t total = 0;
    switch (seed % 4) {
      case 0:
        total = static_cast<int64_t>(rng());  // anything, int64 extremes included
        break;
      case 1:
        total = static_cast<int64_t>(rng() % 1000) - 500;  // fewer units than parts
        break;
      case 2:
        total = seed % 8 == 2 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
        break;
      default:
        total = static_cast<int64_t>(rng() % 100'000'000'000'000ULL) * (rng() % 2 ? 1 : -1);
    }
    auto parts = allocate_largest_remainder(total, weights);
    ASSERT_TRUE(parts) << "seed " << seed << ": " << parts.error().message;
    __int128 sum = 0, weight_sum = 0;
    for (auto w : weights) weight_sum += w;
    for (std::size_t i = 0; i < parts->size(); ++i) {
      const int64_t p = (*parts)[i];
      sum += p;
      EXPECT_TRUE(p == 0 || (p < 0) == (total < 0)) << "seed " << seed;
      // |p - total * w / W| < 1  <=>  |p * W - total * w| < W
      __int128 diff = static_cast<__int128>(p) * weight_sum - static_cast<__int128>(total) * weights[i];
      if (diff < 0) diff = -diff;
      EXPECT_LT(diff, weight_sum) << "seed " << seed << " part " << i;
    }
    EXPECT_TRUE(sum == total) << "seed " << seed;
  }
}

// Property: a record's settled lines (pools, then holders, random shares summing to 100%) sum
// exactly to its revenue in its currency, whatever the split.
TEST(split_revenue, lines_sum_exactly_to_the_revenue) {
  fx_table fx;
  for (uint64_t seed = 1; seed <= 1500; ++seed) {
    std::mt19937_64 rng(seed * 7919);
    auto random_shares = [&](right_type right, int holders) {
      std::vector<rights_share> out;
      std::vector<int64_t> cuts{0, share_whole};
      for (int i = 1; i < holders; ++i) cuts.push_back(1 + static_cast<int64_t>(rng() % (share_whole - 1)));
      std::sort(cuts.begin(), cuts.end());
      for (int i = 0; i < holders; ++i) {
        const int64_t s = cuts[static_cast<std::size_t>(i) + 1] - cuts[static_cast<std::size_t>(i)];
        if (s == 0) continue;
        out.push_back({"holder " + std::to_string(i), "role", right, "", s});
      }
      return out;
    };
    recording_entry rec;
    rec.isrc = "USRC17607839";
    rec.master = random_shares(right_type::master, 1 + static_cast<int>(rng() % 5));
    work_entry work;
    work.iswc = "T-034.524.680-1";
    work.shares = random_shares(right_type::mechanical, 1 + static_cast<int>(rng() % 4));
    auto perf = random_shares(right_type::performance, 1 + static_cast<int>(rng() % 6));
    work.shares.insert(work.shares.end(), perf.begin(), perf.end());
    pool_split pools;
    pools.master = static_cast<int64_t>(rng() % (share_whole + 1));
    pools.mechanical = static_cast<int64_t>(rng() % static_cast<uint64_t>(share_whole - pools.master + 1));
    pools.performance = share_whole - pools.master - pools.mechanical;
    const auto revenue =
        money::from_units(static_cast<int64_t>(rng() % 10'000'000'000'000ULL) - 5'000'000'000'000LL);
    auto lines = split_revenue(revenue, "USD", "DE", rec, &work, pools, {}, fx);
    ASSERT_TRUE(lines) << "seed " << seed << ": " << lines.error().message;
    int64_t sum = 0;
    for (const auto& l : *lines) {
      sum += l.net.units();
      EXPECT_EQ(l.net, l.payee_net);  // same currency: no conversion
    }
    EXPECT_EQ(sum, revenue.units()) << "seed " << seed;
  }
}

TEST(split_revenue, refuses_incomplete_shares_and_missing_rates) {
  recording_entry rec;
  rec.isrc = "USRC17607839";
  rec.master = {{"Label", "label", right_type::master, "", 90 * money::one}};
  work_entry work;
  work.iswc = "T-034.524.680-1";
  work.shares = {{"Writer", "writer", right_type::mechanical, "", share_whole},
                 {"Writer", "writer", right_type::performance, "", share_whole}};
  fx_table fx;
  auto lines = split_revenue(money::from_units(100), "USD", "US", rec, &work, {}, {}, fx);
  ASSERT_FALSE(lines);
  EXPECT_NE(lines.error().message.find("master shares of USRC17607839 sum to 90%"), std::string::npos);
  rec.master[0].share = share_whole;
  payee_currencies payees;
  payees.by_holder["Label"] = "EUR";
  lines = split_revenue(money::from_units(100), "USD", "US", rec, &work, {}, payees, fx);
  ASSERT_FALSE(lines);
  EXPECT_NE(lines.error().message.find("no rate from USD to EUR"), std::string::npos);
}

TEST(split_revenue, shows_the_combined_share_exactly) {
  settled_line l;
  l.pool_share = 80 * money::one;
  l.holder_share = 50 * money::one;
  EXPECT_EQ(combined_share(l), "40%");
  l.pool_share = 10 * money::one;
  l.holder_share = 3'333'333'333;  // 33.33333333%
  EXPECT_EQ(combined_share(l), "3.333333333%");
}

TEST(periods, next_month_rolls_over_the_year) {
  EXPECT_EQ(next_month("2026-10"), "2026-11");
  EXPECT_EQ(next_month("2026-12"), "2027-01");
  EXPECT_FALSE(next_month("2026-Q4"));
  EXPECT_FALSE(next_month("2026-13"));
}

}  // namespace
}  // namespace dspsync
