// Safe by default: an endpoint's API token, the console token and a webhook secret are used, and
// never appear in the logs, the console's answers, the metrics, the audit log or the retry ledger
// (nor do the webhook signatures).

#include <gtest/gtest.h>

#include <stdlib.h>

#include <ctime>
#include <fstream>
#include <random>
#include <sstream>

#include "actors/engine.hpp"
#include "protocol/webhook_auth.hpp"
#include "tests/support/console_client.hpp"
#include "tests/support/console_harness.hpp"

namespace dspsync::test {
namespace {

using namespace std::chrono_literals;

std::string random_token(const char* prefix) {
  std::random_device rd;
  std::ostringstream o;
  o << prefix << std::hex << rd() << rd() << rd();
  return o.str();
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(secrets, tokens_never_reach_logs_console_metrics_or_the_audit_log) {
  temp_dir dir;
  const std::string log_path = dir.sub("dspsync.log");
  quiet_logs(log_path);  // every level, to a file
  const std::string api_token = random_token("api-");
  const std::string console_token = random_token("console-");
  const std::string webhook_secret = random_token("webhook-secret-");
  ::setenv("DSPSYNC_SECRETS_TEST_API_TOKEN", api_token.c_str(), 1);
  ::setenv("DSPSYNC_SECRETS_TEST_CONSOLE_TOKEN", console_token.c_str(), 1);
  ::setenv("DSPSYNC_SECRETS_TEST_WEBHOOK_SECRET", webhook_secret.c_str(), 1);

  harness_options ho;
  // A 429 and a 500 make the poller log failures and write the retry ledger for those requests.
  auto plan = parse_fault_plan(
      R"({"faults": [{"at": [2], "kind": "status", "status": 429, "headers": {"Retry-After": "0"}},
                     {"at": [4], "kind": "status", "status": 500}]})",
      "plan");
  ASSERT_TRUE(plan) << plan.error().message;
  ho.faults = *plan;
  auto h = make_replay_harness(dir.sub("data"), ho);
  for (auto& ep : h.cfg.endpoints) {
    ep.auth.token_env = "DSPSYNC_SECRETS_TEST_API_TOKEN";
    ep.backoff.base = 10ms;
    ep.backoff.cap = 50ms;
  }
  h.cfg.console.token_env = "DSPSYNC_SECRETS_TEST_CONSOLE_TOKEN";
  auto& hooked = h.cfg.endpoints[0];
  hooked.webhook.enabled = true;
  hooked.webhook.secret_env = "DSPSYNC_SECRETS_TEST_WEBHOOK_SECRET";
  hooked.webhook.records_pointer = hooked.pagination.records_pointer;
  auto eng = start_console_engine(h.cfg);
  ASSERT_TRUE(eng);
  ASSERT_TRUE(eng->wait_done(120s));

  // Webhooks: accepted, replayed, forged (quarantined with an alert), stale. Each path logs, counts
  // and audits; none may show the secret or a signature.
  std::vector<std::string> signatures;
  {
    const std::string target = "/webhooks/" + hooked.name;
    const std::string body =
        R"({"data":[{"isrc":"USRC17607839","currency":"USD","reporting_period":"2026-10",)"
        R"("revenue":"1.00","transaction_id":"secret-test-1","territory":"US"}]})";
    const std::string now = std::to_string(std::time(nullptr));
    const std::string good = sign_webhook(webhook_secret, now, body);
    const std::string forged = sign_webhook(webhook_secret + "x", now, body);
    const std::string stale_ts = std::to_string(std::time(nullptr) - 86400);
    const std::string stale = sign_webhook(webhook_secret, stale_ts, body);
    signatures = {good.substr(7), forged.substr(7), stale.substr(7)};
    EXPECT_EQ(http_post(eng->http_port(), target, body, {{"X-Timestamp", now}, {"X-Signature", good}}).first,
              200);
    EXPECT_EQ(http_post(eng->http_port(), target, body, {{"X-Timestamp", now}, {"X-Signature", good}}).first,
              409);
    EXPECT_EQ(
        http_post(eng->http_port(), target, body, {{"X-Timestamp", now}, {"X-Signature", forged}}).first,
        401);
    EXPECT_EQ(
        http_post(eng->http_port(), target, body, {{"X-Timestamp", stale_ts}, {"X-Signature", stale}}).first,
        401);
  }
  for (const auto& s : eng->status()) EXPECT_EQ(s.state, "caught_up") << s.name << ": " << s.reason;
  EXPECT_GT(h.server->requests_served(), 0u);

  std::string console_text;
  {
    console_client c(eng->console_port());
    EXPECT_FALSE(c.ask("auth not-the-token").ok());
    ASSERT_TRUE(c.ask("auth " + console_token).ok());
    const std::vector<std::string> commands{"status",
                                            "endpoints",
                                            "endpoint " + h.cfg.endpoints[0].name,
                                            "metrics",
                                            "triage",
                                            "quarantine list",
                                            "pause " + h.cfg.endpoints[1].name,
                                            "resume " + h.cfg.endpoints[1].name,
                                            "pending",
                                            "audit verify"};
    for (const auto& cmd : commands) {
      auto a = c.ask(cmd);
      EXPECT_TRUE(a.ok()) << cmd << "\n" << a.text();
    }
    // The endpoint shows where its token comes from, never the token.
    EXPECT_NE(c.transcript().find("<token from $DSPSYNC_SECRETS_TEST_API_TOKEN, set>"), std::string::npos)
        << c.transcript();
    console_text = c.transcript();
  }
  auto [code, metrics] = http_get(eng->http_port(), "/metrics");
  ASSERT_EQ(code, 200);
  ASSERT_TRUE(eng->wait_done(120s));
  std::string audit, attempts;
  ASSERT_TRUE(eng->store()->for_each_audit([&](const audit_entry& a) {
    audit += a.kind + " " + a.actor + " " + a.subject + " " + a.details + "\n";
  }));
  ASSERT_TRUE(eng->store()->for_each_attempt([&](const attempt_record& a) {
    attempts += a.request + " " + a.error + " " + a.correlation_id + "\n";
  }));
  eng->stop();
  quiet_logs();
  const std::string logs = read_file(log_path);

  EXPECT_FALSE(logs.empty());
  EXPECT_NE(logs.find("\"correlation_id\""), std::string::npos) << "the http logs carry correlation ids";
  EXPECT_NE(audit.find("endpoint.paused"), std::string::npos);
  EXPECT_FALSE(attempts.empty());
  for (const auto& [what, text] :
       std::vector<std::pair<std::string, std::string>>{{"logs", logs},
                                                        {"console", console_text},
                                                        {"metrics", metrics},
                                                        {"audit log", audit},
                                                        {"retry ledger", attempts}}) {
    EXPECT_EQ(text.find(api_token), std::string::npos) << "the API token leaked into the " << what;
    EXPECT_EQ(text.find(console_token), std::string::npos) << "the console token leaked into the " << what;
    EXPECT_EQ(text.find(webhook_secret), std::string::npos) << "the webhook secret leaked into the " << what;
    for (const auto& sig : signatures)
      EXPECT_EQ(text.find(sig), std::string::npos) << "a webhook signature leaked into the " << what;
  }
  EXPECT_NE(logs.find("\"level\":\"alert\""), std::string::npos) << "the forged delivery raised an alert";
  EXPECT_NE(metrics.find("dspsync_webhook_deliveries_total"), std::string::npos);
  ::unsetenv("DSPSYNC_SECRETS_TEST_API_TOKEN");
  ::unsetenv("DSPSYNC_SECRETS_TEST_CONSOLE_TOKEN");
  ::unsetenv("DSPSYNC_SECRETS_TEST_WEBHOOK_SECRET");
}

}  // namespace
}  // namespace dspsync::test
