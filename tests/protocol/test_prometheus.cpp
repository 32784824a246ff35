// The Prometheus text writer: families, escaping, numbers and cumulative histogram buckets, checked
// by the exposition checker (and by promtool where it is installed).

#include <gtest/gtest.h>

#include <cmath>

#include "protocol/prometheus.hpp"
#include "tests/support/exposition_check.hpp"
#include "tests/support/temp_dir.hpp"

namespace dspsync::test {
namespace {

TEST(prometheus, numbers_are_shortest_round_trip_and_special_values_are_spelled) {
  EXPECT_EQ(prom_number(0), "0");
  EXPECT_EQ(prom_number(0.1), "0.1");
  EXPECT_EQ(prom_number(2.5), "2.5");
  EXPECT_EQ(prom_number(1e21), "1e+21");
  EXPECT_EQ(prom_number(INFINITY), "+Inf");
  EXPECT_EQ(prom_number(-INFINITY), "-Inf");
  EXPECT_EQ(prom_number(NAN), "NaN");
}

TEST(prometheus, label_values_are_escaped) { EXPECT_EQ(prom_escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd"); }

TEST(prometheus, a_counter_a_gauge_and_a_histogram_make_a_valid_exposition) {
  prometheus_writer w;
  w.family("dspsync_requests_total", "counter", "HTTP exchanges by code");
  w.sample_int("dspsync_requests_total", {{"endpoint", "a"}, {"code", "200"}}, 7);
  w.sample_int("dspsync_requests_total", {{"endpoint", "we\"ird\\name\n"}, {"code", "429"}}, 2);
  w.family("dspsync_rate_budget_requests_per_second", "gauge", "rate");
  w.sample("dspsync_rate_budget_requests_per_second", {{"endpoint", "a"}}, 2.5);
  w.family("dspsync_backoff_delay_seconds", "histogram", "delays");
  w.histogram("dspsync_backoff_delay_seconds", {{"endpoint", "a"}}, {0.5, 1, 5}, {1, 0, 2, 3}, 42.25);
  const auto& text = w.text();
  EXPECT_NE(text.find("dspsync_backoff_delay_seconds_bucket{endpoint=\"a\",le=\"0.5\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("dspsync_backoff_delay_seconds_bucket{endpoint=\"a\",le=\"1\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("dspsync_backoff_delay_seconds_bucket{endpoint=\"a\",le=\"5\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("dspsync_backoff_delay_seconds_bucket{endpoint=\"a\",le=\"+Inf\"} 6\n"),
            std::string::npos);
  EXPECT_NE(text.find("dspsync_backoff_delay_seconds_sum{endpoint=\"a\"} 42.25\n"), std::string::npos);
  EXPECT_NE(text.find("dspsync_backoff_delay_seconds_count{endpoint=\"a\"} 6\n"), std::string::npos);
  auto parsed = check_exposition(text);
  EXPECT_TRUE(parsed.problems.empty()) << ::testing::PrintToString(parsed.problems) << "\n" << text;
  EXPECT_EQ(parsed.value("dspsync_requests_total", {{"endpoint", "we\"ird\\name\n"}}), 2);
  temp_dir dir;
  if (auto promtool = promtool_check(text, dir.path())) {
    EXPECT_EQ(promtool->first, 0) << promtool->second << "\n" << text;
  }
}

TEST(prometheus, the_checker_finds_what_promtool_would_refuse) {
  auto bad = check_exposition(
      "# TYPE x_total counter\nx_total{a=\"1\"} 1\n# TYPE y gauge\ny 1\nx_total{a=\"2\"} 2\n"
      "# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\nz{a=1} 2\n");
  EXPECT_GE(bad.problems.size(), 3u) << ::testing::PrintToString(bad.problems);
}

}  // namespace
}  // namespace dspsync::test
