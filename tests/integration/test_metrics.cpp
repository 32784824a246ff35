// /metrics on the service's HTTP port: the Prometheus text format (checked by the exposition checker
// and by promtool where it is installed), the figures an operator reads off it, and the webhook
// hook that answers 404 until a receiver is wired.

#include <gtest/gtest.h>

#include <sstream>

#include "actors/engine.hpp"
#include "tests/support/console_client.hpp"
#include "tests/support/console_harness.hpp"
#include "tests/support/exposition_check.hpp"

namespace dspsync::test {
namespace {

using namespace std::chrono_literals;

fault_plan faults_for(const std::vector<std::string>& paths) {
  std::ostringstream o;
  o << R"({"seed": 3, "faults": [)";
  bool first = true;
  for (const auto& p : paths) {
    o << (first ? "" : ",")
      << R"({"at": [2, 3], "kind": "status", "status": 429, "headers": {"Retry-After": "0"}, "path_prefix": ")"
      << p << R"("}, {"at": [5], "kind": "status", "status": 503, "path_prefix": ")" << p << "\"}";
    first = false;
  }
  o << "]}";
  auto plan = parse_fault_plan(o.str(), "test plan");
  EXPECT_TRUE(plan) << plan.error().message;
  return *plan;
}

TEST(metrics, the_exposition_is_valid_prometheus_text_with_the_figures_of_the_run) {
  quiet_logs();
  temp_dir dir;
  harness_options ho;
  ho.faults = faults_for({"/v1/c-cursor", "/v1/c-offset"});
  auto h = make_replay_harness(dir.sub("data"), ho);
  for (auto& ep : h.cfg.endpoints) {
    ep.backoff.base = 20ms;
    ep.backoff.cap = 100ms;
  }
  auto eng = start_console_engine(h.cfg);
  ASSERT_TRUE(eng);
  ASSERT_TRUE(eng->wait_done(120s));
  ASSERT_NE(eng->http_port(), 0);
  EXPECT_EQ(eng->metrics_url(), "http://127.0.0.1:" + std::to_string(eng->http_port()) + "/metrics");

  auto [code, text] = http_get(eng->http_port(), "/metrics");
  ASSERT_EQ(code, 200) << text;
  auto parsed = check_exposition(text);
  EXPECT_TRUE(parsed.problems.empty()) << ::testing::PrintToString(parsed.problems) << "\n" << text;
  if (auto promtool = promtool_check(text, dir.path())) {
    EXPECT_EQ(promtool->first, 0) << promtool->second;
  } else {
    std::cout << "[ note ] promtool not installed: checked by the built-in exposition checker only\n";
  }

  for (const auto& r : h.recordings) {
    const std::string ep = r.endpoint.name;
    SCOPED_TRACE(ep);
    auto cp = **eng->store()->checkpoint(ep);
    EXPECT_EQ(parsed.value("dspsync_records_in_total", {{"endpoint", ep}}), cp.records_in);
    EXPECT_EQ(parsed.value("dspsync_records_total", {{"endpoint", ep}, {"state", "inserted"}}), cp.inserted);
    EXPECT_EQ(parsed.value("dspsync_records_total", {{"endpoint", ep}, {"state", "duplicate"}}),
              cp.duplicates);
    EXPECT_EQ(parsed.value("dspsync_schema_rejections_total", {{"endpoint", ep}, {"dsp", r.endpoint.dsp}}),
              r.expected.malformed);
    EXPECT_EQ(parsed.value("dspsync_requests_total", {{"endpoint", ep}, {"code", "429"}}), 2);
    EXPECT_EQ(parsed.value("dspsync_requests_total", {{"endpoint", ep}, {"code", "503"}}), 1);
    EXPECT_EQ(parsed.value("dspsync_retries_total", {{"endpoint", ep}}), 3);
    EXPECT_EQ(parsed.value("dspsync_backoff_delay_seconds_count", {{"endpoint", ep}}), 3);
    auto requests = parsed.value("dspsync_request_duration_seconds_count", {{"endpoint", ep}});
    ASSERT_TRUE(requests);
    EXPECT_EQ(*requests, r.expected.pages + 3);
    EXPECT_EQ(parsed.value("dspsync_circuit_state", {{"endpoint", ep}, {"state", "closed"}}), 0);
    EXPECT_EQ(parsed.value("dspsync_caught_up", {{"endpoint", ep}}), 1);
    EXPECT_TRUE(parsed.value("dspsync_cursor_lag_seconds", {{"endpoint", ep}}));
    EXPECT_EQ(parsed.value("dspsync_in_flight_pages", {{"endpoint", ep}}), 0);
  }
  EXPECT_TRUE(parsed.value("dspsync_quarantine_size"));
  EXPECT_TRUE(parsed.value("dspsync_pending_size"));
  EXPECT_EQ(parsed.value("dspsync_engine_live"), 1);
  EXPECT_EQ(parsed.types["dspsync_backoff_delay_seconds"], "histogram");
  EXPECT_EQ(parsed.types["dspsync_request_duration_seconds"], "histogram");
  // The ledger's commits: at least one, at most one per page (groups of pages commit together),
  // each with its durable write.
  EXPECT_EQ(parsed.types["dspsync_ledger_commit_duration_seconds"], "histogram");
  EXPECT_EQ(parsed.types["dspsync_ledger_durable_write_duration_seconds"], "histogram");
  uint64_t pages = 0;
  for (const auto& r : h.recordings) pages += r.expected.pages;
  const auto commits = parsed.value("dspsync_ledger_commit_duration_seconds_count");
  ASSERT_TRUE(commits);
  EXPECT_GE(*commits, 1);
  EXPECT_LE(*commits, pages);
  EXPECT_EQ(parsed.value("dspsync_ledger_durable_write_duration_seconds_count"), *commits);
  EXPECT_EQ(parsed.value("dspsync_ledger_commit_duration_seconds_bucket", {{"le", "+Inf"}}), *commits);

  // The webhook hook is there but has no receiver yet; unknown paths and methods are refused.
  EXPECT_EQ(http_get(eng->http_port(), "/webhooks/c-cursor").first, 404);
  EXPECT_EQ(http_get(eng->http_port(), "/nothing-here").first, 404);
  eng->stop();
}

}  // namespace
}  // namespace dspsync::test
