// Histograms for request latency and backoff, the recent-pages ring and the triage rules.

#include <gtest/gtest.h>

#include <cmath>

#include "domain/histogram.hpp"
#include "domain/timefmt.hpp"
#include "domain/triage.hpp"

namespace dspsync::test {
namespace {

TEST(histogram, counts_each_value_in_the_first_bucket_whose_bound_holds_it) {
  fixed_histogram h({0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 1.0, 9.0, 11.0, 1000.0}) h.observe(v);
  EXPECT_EQ(h.counts, (std::vector<uint64_t>{2, 2, 1, 2}));
  EXPECT_EQ(h.count, 7u);
  EXPECT_DOUBLE_EQ(h.sum, 0.05 + 0.1 + 0.5 + 1.0 + 9.0 + 11.0 + 1000.0);
  EXPECT_EQ(h.cumulative(0), 2u);
  EXPECT_EQ(h.cumulative(2), 5u);
  EXPECT_EQ(h.cumulative(3), 7u);
  h.observe(NAN);
  EXPECT_EQ(h.count, 7u);
}

TEST(histogram, quantiles_interpolate_inside_a_bucket_like_prometheus) {
  fixed_histogram h({1, 2, 4});
  EXPECT_EQ(h.quantile(0.95), 0);
  for (int i = 0; i < 10; ++i) h.observe(1.5);  // all in (1, 2]
  EXPECT_DOUBLE_EQ(h.quantile(0.5), 1.5);
  EXPECT_DOUBLE_EQ(h.quantile(1.0), 2.0);
  h.observe(100);  // +Inf bucket: answers the last bound
  EXPECT_DOUBLE_EQ(h.quantile(1.0), 4.0);
}

TEST(histogram, the_standard_bucket_sets_are_ascending) {
  for (const auto& h : {fixed_histogram::latency_seconds(), fixed_histogram::backoff_seconds()}) {
    ASSERT_FALSE(h.bounds().empty());
    EXPECT_TRUE(h.counts.empty());  // no memory for counts until something is observed
    for (std::size_t i = 1; i < h.bounds().size(); ++i) EXPECT_LT(h.bounds()[i - 1], h.bounds()[i]);
  }
}

TEST(recent_pages, keeps_the_last_twenty_pages) {
  recent_pages r;
  for (uint64_t i = 0; i < 25; ++i) r.add({100, i < 5 ? 50u : 1u, 2});
  EXPECT_EQ(r.size(), recent_pages::capacity);
  auto t = r.total();
  EXPECT_EQ(t.records_in, 2000u);
  EXPECT_EQ(t.quarantined, 20u);  // the five bad pages fell out
  EXPECT_EQ(t.duplicates, 40u);
  // A page's counts are kept in 32 bits: a larger one is held as the largest, not wrapped.
  recent_pages big;
  big.add({5'000'000'000ull, 1, 0});
  big.add({7, 0, 0});
  EXPECT_EQ(big.total().records_in, 4'294'967'295ull + 7);
}

TEST(cursor_lag, updated_since_measures_the_cursor_others_the_last_commit) {
  const int64_t now_ms = 1'800'000'000'000;
  auto cursor = format_rfc3339(now_ms / 1000 - 3 * 86400);
  EXPECT_EQ(cursor_lag_seconds(true, cursor, 0, now_ms), 3 * 86400);
  EXPECT_FALSE(cursor_lag_seconds(true, "not a time", now_ms, now_ms));
  EXPECT_EQ(cursor_lag_seconds(false, "abc", now_ms - 90'000, now_ms), 90);
  EXPECT_FALSE(cursor_lag_seconds(false, "abc", 0, now_ms));
  EXPECT_EQ(cursor_lag_limit_seconds(false, 3600, 172800, 0), 7200);
  EXPECT_EQ(cursor_lag_limit_seconds(true, 3600, 172800, 600), 7200 + 172800 + 600);
}

TEST(triage, flags_a_rejection_spike_above_five_percent) {
  triage_endpoint e;
  e.name = "spotify";
  e.state = "fetching";
  e.lag_s = 10;
  e.lag_limit_s = 7200;
  e.recent = {1000, 51, 10};
  e.recent_pages = 20;
  auto lines = triage_endpoint_checks(e);
  auto find = [&](const std::string& check) {
    for (const auto& l : lines)
      if (l.check == check) return l;
    ADD_FAILURE() << check;
    return triage_line{};
  };
  EXPECT_FALSE(find("state").attention);
  EXPECT_FALSE(find("cursor_lag").attention);
  EXPECT_TRUE(find("rejections").attention);
  EXPECT_NE(find("rejections").figure.find("5.1%"), std::string::npos) << find("rejections").figure;
  EXPECT_FALSE(find("duplicates").attention);
  EXPECT_FALSE(find("circuit").attention);
  e.recent = {1000, 50, 101};
  e.circuit = "open";
  e.state = "parked";
  e.lag_s = 7201;
  lines = triage_endpoint_checks(e);
  EXPECT_FALSE(find("rejections").attention);  // exactly 5% is not above it
  EXPECT_TRUE(find("duplicates").attention);
  EXPECT_TRUE(find("circuit").attention);
  EXPECT_TRUE(find("state").attention);
  EXPECT_TRUE(find("cursor_lag").attention);
}

TEST(triage, the_pending_backlog_is_judged_against_its_sla) {
  EXPECT_FALSE(triage_pending(1000, 1000).attention);
  EXPECT_TRUE(triage_pending(1001, 1000).attention);
  EXPECT_FALSE(triage_pending(5, 0).attention);
  auto text = format_triage({triage_pending(1001, 1000), {"a", "circuit", false, "closed"}});
  EXPECT_NE(text.find("ledger  pending_backlog  attention  1001 records pending reconciliation (SLA 1000)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("a       circuit          ok         closed"), std::string::npos) << text;
}

}  // namespace
}  // namespace dspsync::test
