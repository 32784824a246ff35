// Signed webhooks against an engine started in-process, over real HTTP on an ephemeral port: a good
// signature is committed through the ledger (one record whether it came by poll or webhook), a bad
// one is answered 401 and its raw bytes quarantined with an alert, a stale or future timestamp is
// refused, a replay is answered 409 and never ingested twice (also after a restart), and updates
// that arrive before their base record wait in the durable holding buffer and are applied in order
// when the base arrives by webhook or by a poll, across a restart.

#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>

#include "actors/engine.hpp"
#include "domain/idempotency.hpp"
#include "protocol/pagination.hpp"
#include "protocol/replay_server.hpp"
#include "protocol/webhook_auth.hpp"
#include "tests/support/console_client.hpp"
#include "tests/support/console_harness.hpp"

namespace dspsync::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* secret_env = "DSPSYNC_WEBHOOK_TEST_SECRET";
const std::string secret = "whsec-test-5f2a9c0e7d1b4a63";

/// Sets the secret for the life of a test.
struct secret_set {
  secret_set() { ::setenv(secret_env, secret.c_str(), 1); }
  ~secret_set() { ::unsetenv(secret_env); }
};

int64_t now_s() { return static_cast<int64_t>(std::time(nullptr)); }

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

/// One record in canonical member names; `op` "update" makes it an update.
std::string rec(const std::string& tx, const std::string& revenue, const std::string& op = "") {
  return R"({"isrc":"USRC17607839","upc":"012345678905","territory":"US","reporting_period":"2026-10",)"
         R"("units":10,"revenue":")" +
         revenue + R"(","currency":"USD","transaction_id":")" + tx + R"(","title":"Song","artists":["A"])" +
         (op.empty() ? std::string() : R"(,"op":")" + op + "\"") + "}";
}

std::string page(const std::vector<std::string>& records) {
  std::string body = "{\"data\":[";
  for (std::size_t i = 0; i < records.size(); ++i) body += (i ? "," : "") + records[i];
  return body + "]}";
}

endpoint_config endpoint(const std::string& name, bool webhook) {
  endpoint_config ep;
  ep.name = name;
  ep.dsp = "hookdsp";  // one DSP: polled and pushed records share their keys
  ep.path = "/v1/" + name;
  ep.pagination.style = pagination_style::cursor;
  ep.pagination.page_size = 100;
  ep.pagination.records_pointer = "/data";
  ep.pagination.next_pointer = "/next_cursor";
  ep.fields = default_field_aliases();
  ep.key_fields = default_key_fields();
  ep.rate.requests_per_second = 100;
  ep.webhook.enabled = webhook;
  ep.webhook.secret_env = secret_env;
  ep.webhook.records_pointer = "/data";
  return ep;
}

/// A DSP that serves `records` to `ep` as one cursor page; points `ep` at it.
std::unique_ptr<replay_server> serve(endpoint_config& ep, const std::vector<std::string>& records) {
  har_entry e;
  e.method = "GET";
  e.url = "https://dsp.example" + request_target(ep, initial_cursor(ep));
  e.status = 200;
  e.status_text = "OK";
  e.response_headers = {{"Content-Type", "application/json"}};
  e.response_body = page(records);
  e.response_body.insert(e.response_body.size() - 1, ",\"next_cursor\":null");
  har_archive a;
  a.entries.push_back(e);
  auto s = replay_server::start({a});
  EXPECT_TRUE(s) << s.error().message;
  if (!s) return nullptr;
  ep.base_url = (*s)->origin();
  return std::move(*s);
}

struct http_answer {
  int status = 0;
  std::string body;
};

/// `POST target` with the given headers.
http_answer post(uint16_t port, const std::string& target, const std::string& body,
                 const std::vector<std::pair<std::string, std::string>>& headers) {
  auto [status, text] = http_post(port, target, body, headers, 30s);
  return {status, text};
}

/// A delivery signed with `key` at `ts`.
http_answer deliver(engine& eng, const std::string& name, const std::string& body, int64_t ts,
                    const std::string& key = secret) {
  const std::string t = std::to_string(ts);
  return post(eng.http_port(), "/webhooks/" + name, body,
              {{"X-Timestamp", t}, {"X-Signature", sign_webhook(key, t, body)}});
}

std::unique_ptr<engine> start(const engine_config& cfg) {
  auto eng = start_console_engine(cfg);
  if (eng) {
    EXPECT_TRUE(eng->wait_done(60s));
  }
  return eng;
}

/// Every stored version of the record with this transaction id, oldest first.
std::vector<stored_record> versions_of(engine& eng, const std::string& tx) {
  std::vector<stored_record> out;
  EXPECT_TRUE(eng.store()->for_each_record([&](const stored_record& r) {
    if (r.record.transaction_id == tx) out.push_back(r);
  }));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
  return out;
}

source_checkpoint checkpoint_of(engine& eng, const std::string& source) {
  auto cp = eng.store()->checkpoint(source);
  EXPECT_TRUE(cp && *cp) << source;
  return cp && *cp ? **cp : source_checkpoint{};
}

void expect_identity(const source_checkpoint& cp) {
  EXPECT_EQ(cp.records_in, cp.inserted + cp.restatements + cp.duplicates + cp.quarantined);
}

std::vector<audit_entry> audit_of(engine& eng) {
  std::vector<audit_entry> out;
  EXPECT_TRUE(eng.store()->for_each_audit([&](const audit_entry& a) { out.push_back(a); }));
  return out;
}

std::vector<std::string> revenues(const std::vector<stored_record>& versions) {
  std::vector<std::string> out;
  for (const auto& v : versions) out.push_back(*v.record.revenue.to_string(2));
  return out;
}

TEST(webhooks, good_signature_is_committed_through_the_ledger_and_answered_after_it) {
  quiet_logs();
  secret_set env;
  temp_dir dir;
  engine_config cfg;
  cfg.data_dir = dir.sub("data");
  cfg.endpoints.push_back(endpoint("hooks", true));
  auto dsp = serve(cfg.endpoints[0], {rec("polled-1", "4.00")});
  auto eng = start(cfg);
  ASSERT_TRUE(eng);
  ASSERT_EQ(versions_of(*eng, "polled-1").size(), 1u);

  const std::string body = page({rec("wh-1", "1.25"), rec("wh-2", "2.50")});
  auto a = deliver(*eng, "hooks", body, now_s());
  ASSERT_EQ(a.status, 200) << a.body;
  // Answered after the commit: the records are in the ledger when the answer arrives.
  EXPECT_TRUE(contains(a.body, "\"records_in\":2")) << a.body;
  EXPECT_TRUE(contains(a.body, "\"new\":2")) << a.body;
  ASSERT_EQ(versions_of(*eng, "wh-1").size(), 1u);
  ASSERT_EQ(versions_of(*eng, "wh-2").size(), 1u);
  EXPECT_EQ(revenues(versions_of(*eng, "wh-2")), std::vector<std::string>{"2.50"});
  auto cp = checkpoint_of(*eng, "hooks/webhook");
  EXPECT_EQ(cp.records_in, 2u);
  EXPECT_EQ(cp.inserted, 2u);
  expect_identity(cp);
  // The raw delivery is kept like a polled page, with its lineage.
  const auto stored = versions_of(*eng, "wh-1")[0];
  auto raw = eng->store()->page(stored.page_seq);
  ASSERT_TRUE(raw && *raw);
  EXPECT_EQ((**raw).body, body);
  EXPECT_EQ((**raw).source, "hooks/webhook");
  EXPECT_EQ((**raw).request, "POST /webhooks/hooks");

  // The same records in a new delivery (new timestamp, new signature) are duplicates by key, and a
  // record the poll already stored is the same record: idempotency keys do not care how it came.
  auto again = deliver(*eng, "hooks", page({rec("wh-1", "1.25"), rec("polled-1", "4.00")}), now_s() + 1);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_TRUE(contains(again.body, "\"duplicates\":2")) << again.body;
  EXPECT_EQ(versions_of(*eng, "wh-1").size(), 1u);
  EXPECT_EQ(versions_of(*eng, "polled-1").size(), 1u);
  // A changed value under a known key is a restatement, as from a poll.
  auto restated = deliver(*eng, "hooks", page({rec("polled-1", "4.10")}), now_s());
  ASSERT_EQ(restated.status, 200) << restated.body;
  EXPECT_EQ(revenues(versions_of(*eng, "polled-1")), (std::vector<std::string>{"4.00", "4.10"}));
  // A bad record is quarantined like any other, the rest of the delivery goes in.
  auto mixed =
      deliver(*eng, "hooks", page({rec("wh-3", "1.00"), R"({"isrc":"bad","currency":"USD"})"}), now_s());
  ASSERT_EQ(mixed.status, 200) << mixed.body;
  EXPECT_TRUE(contains(mixed.body, "\"quarantined\":1")) << mixed.body;
  cp = checkpoint_of(*eng, "hooks/webhook");
  EXPECT_EQ(cp.records_in, 7u);
  expect_identity(cp);

  bool audited = false;
  for (const auto& e : audit_of(*eng))
    if (e.kind == "page.committed" && e.actor == "hooks/webhook") audited = true;
  EXPECT_TRUE(audited);
  auto [code, metrics] = http_get(eng->http_port(), "/metrics");
  ASSERT_EQ(code, 200);
  EXPECT_TRUE(contains(
      metrics, R"(dspsync_webhook_deliveries_total{endpoint="hooks",dsp="hookdsp",outcome="accepted"} 4)"))
      << metrics;
  EXPECT_TRUE(contains(metrics, "dspsync_webhook_held 0")) << metrics;
  EXPECT_TRUE(contains(metrics, R"(dspsync_records_in_total{endpoint="hooks/webhook",dsp="hookdsp"} 7)"))
      << metrics;
  eng->stop();
}

TEST(webhooks, bad_signature_is_401_quarantined_raw_and_alerted_and_nothing_else_is_stored) {
  temp_dir dir;
  const std::string log_path = dir.sub("log.jsonl");
  quiet_logs(log_path);
  secret_set env;
  engine_config cfg;
  cfg.data_dir = dir.sub("data");
  cfg.endpoints.push_back(endpoint("hooks", true));
  auto dsp = serve(cfg.endpoints[0], {});
  auto eng = start(cfg);
  ASSERT_TRUE(eng);
  const auto before = *eng->store()->stats();

  const std::string body = page({rec("forged-1", "999.00")});
  const std::string ts = std::to_string(now_s());
  const std::string forged_sig = sign_webhook("not-the-secret-at-all-0000", ts, body);
  auto a =
      post(eng->http_port(), "/webhooks/hooks", body, {{"X-Timestamp", ts}, {"X-Signature", forged_sig}});
  EXPECT_EQ(a.status, 401) << a.body;
  EXPECT_TRUE(contains(a.body, "\"quarantined\":true")) << a.body;
  // A body changed after signing, and one without a signature, are refused the same way.
  const std::string good_sig = sign_webhook(secret, ts, body);
  const std::string tampered = page({rec("forged-2", "999.00")});
  EXPECT_EQ(
      post(eng->http_port(), "/webhooks/hooks", tampered, {{"X-Timestamp", ts}, {"X-Signature", good_sig}})
          .status,
      401);
  const std::string unsigned_body = page({rec("forged-3", "999.00")});
  EXPECT_EQ(post(eng->http_port(), "/webhooks/hooks", unsigned_body, {{"X-Timestamp", ts}}).status, 401);

  // Nothing of them is a record or a page; each is kept whole in quarantine with its reason.
  for (const auto* tx : {"forged-1", "forged-2", "forged-3"})
    EXPECT_TRUE(versions_of(*eng, tx).empty()) << tx;
  const auto after = *eng->store()->stats();
  EXPECT_EQ(after.pages, before.pages);
  EXPECT_EQ(after.record_versions, before.record_versions);
  EXPECT_EQ(after.quarantined, before.quarantined + 3);
  std::vector<stored_quarantine> kept;
  ASSERT_TRUE(eng->store()->for_each_quarantined([&](const stored_quarantine& q) {
    if (q.source == "hooks/webhook") kept.push_back(q);
  }));
  ASSERT_EQ(kept.size(), 3u);
  std::vector<std::string> raws;
  for (const auto& q : kept) {
    EXPECT_EQ(q.kind, "page");
    EXPECT_EQ(q.request, "POST /webhooks/hooks");
    ASSERT_FALSE(q.errors.empty());
    EXPECT_EQ(q.errors[0].code, ec::bad_signature) << q.errors[0].message;
    EXPECT_EQ(to_hex(q.key), to_hex(sha256::digest("hooks/webhook\x1f" + q.raw))) << "deterministic key";
    raws.push_back(q.raw);
  }
  std::sort(raws.begin(), raws.end());
  std::vector<std::string> sent{body, tampered, unsigned_body};
  std::sort(sent.begin(), sent.end());
  EXPECT_EQ(raws, sent);
  int audited = 0;
  for (const auto& e : audit_of(*eng))
    if (e.kind == "page.quarantined" && e.actor == "hooks/webhook") ++audited;
  EXPECT_EQ(audited, 3);
  EXPECT_EQ(checkpoint_of(*eng, "hooks/webhook").page_faults, 3u);
  auto [code, metrics] = http_get(eng->http_port(), "/metrics");
  ASSERT_EQ(code, 200);
  EXPECT_TRUE(contains(metrics, R"(outcome="forged"} 3)")) << metrics;
  eng->stop();
  quiet_logs();

  // An alert names the endpoint; never the secret nor a signature.
  const std::string log = read_file(log_path);
  std::istringstream lines(log);
  int alerts = 0;
  for (std::string line; std::getline(lines, line);)
    if (contains(line, R"("level":"alert")") && contains(line, R"("event":"webhook.forged")") &&
        contains(line, R"("endpoint":"hooks")"))
      ++alerts;
  EXPECT_EQ(alerts, 3) << log;
  EXPECT_FALSE(contains(log, secret));
  EXPECT_FALSE(contains(log, forged_sig.substr(7)));
  EXPECT_FALSE(contains(log, good_sig.substr(7)));
}

TEST(webhooks, stale_or_future_timestamp_is_401_and_not_stored) {
  quiet_logs();
  secret_set env;
  temp_dir dir;
  engine_config cfg;
  cfg.data_dir = dir.sub("data");
  cfg.endpoints.push_back(endpoint("hooks", true));
  cfg.endpoints[0].webhook.tolerance = 300s;
  auto dsp = serve(cfg.endpoints[0], {});
  auto eng = start(cfg);
  ASSERT_TRUE(eng);
  const auto before = *eng->store()->stats();
  auto old = deliver(*eng, "hooks", page({rec("late-1", "1.00")}), now_s() - 3600);
  EXPECT_EQ(old.status, 401) << old.body;
  EXPECT_TRUE(contains(old.body, "old; the tolerance is 300 s")) << old.body;
  auto future = deliver(*eng, "hooks", page({rec("late-2", "1.00")}), now_s() + 3600);
  EXPECT_EQ(future.status, 401) << future.body;
  EXPECT_TRUE(contains(future.body, "in the future")) << future.body;
  const auto after = *eng->store()->stats();
  EXPECT_EQ(after.pages, before.pages);
  EXPECT_EQ(after.record_versions, before.record_versions);
  EXPECT_EQ(after.quarantined, before.quarantined) << "authentic but late: not kept";
  EXPECT_TRUE(versions_of(*eng, "late-1").empty());
  // Inside the window it goes in.
  EXPECT_EQ(deliver(*eng, "hooks", page({rec("late-3", "1.00")}), now_s() - 200).status, 200);
  EXPECT_EQ(versions_of(*eng, "late-3").size(), 1u);
  auto [code, metrics] = http_get(eng->http_port(), "/metrics");
  EXPECT_TRUE(contains(metrics, R"(outcome="stale"} 2)")) << metrics;
  eng->stop();
}

TEST(webhooks, replay_is_409_and_never_ingested_twice_even_after_a_restart) {
  quiet_logs();
  secret_set env;
  temp_dir dir;
  engine_config cfg;
  cfg.data_dir = dir.sub("data");
  cfg.endpoints.push_back(endpoint("hooks", true));
  auto dsp = serve(cfg.endpoints[0], {});
  const std::string body = page({rec("once-1", "3.00")});
  const std::string ts = std::to_string(now_s());
  const std::vector<std::pair<std::string, std::string>> headers{
      {"X-Timestamp", ts}, {"X-Signature", sign_webhook(secret, ts, body)}};
  {
    auto eng = start(cfg);
    ASSERT_TRUE(eng);
    auto first = post(eng->http_port(), "/webhooks/hooks", body, headers);
    ASSERT_EQ(first.status, 200) << first.body;
    const auto stats = *eng->store()->stats();
    auto replay = post(eng->http_port(), "/webhooks/hooks", body, headers);
    EXPECT_EQ(replay.status, 409) << replay.body;
    EXPECT_TRUE(contains(replay.body, "replayed delivery")) << replay.body;
    EXPECT_EQ(eng->store()->stats()->pages, stats.pages) << "a replay is not even stored as a duplicate";
    auto cp = checkpoint_of(*eng, "hooks/webhook");
    EXPECT_EQ(cp.records_in, 1u);
    EXPECT_EQ(cp.duplicates, 0u);
    int replays = 0;
    for (const auto& e : audit_of(*eng))
      if (e.kind == "webhook.replayed" && e.actor == "hooks/webhook") ++replays;
    EXPECT_EQ(replays, 1);
    eng->stop();
  }
  // The record of accepted deliveries is durable.
  auto eng = start(cfg);
  ASSERT_TRUE(eng);
  EXPECT_EQ(post(eng->http_port(), "/webhooks/hooks", body, headers).status, 409);
  EXPECT_EQ(versions_of(*eng, "once-1").size(), 1u);
  EXPECT_EQ(checkpoint_of(*eng, "hooks/webhook").records_in, 1u);
  EXPECT_EQ(eng->store()->verify_audit()->first_broken_seq, 0u);
  eng->stop();
}

TEST(webhooks, held_updates_are_released_in_order_when_the_base_arrives_by_webhook) {
  quiet_logs();
  secret_set env;
  temp_dir dir;
  engine_config cfg;
  cfg.data_dir = dir.sub("data");
  cfg.endpoints.push_back(endpoint("hooks", true));
  auto dsp = serve(cfg.endpoints[0], {});
  auto eng = start(cfg);
  ASSERT_TRUE(eng);

  auto u1 = deliver(*eng, "hooks", page({rec("k-1", "2.00", "update")}), now_s());
  ASSERT_EQ(u1.status, 200) << u1.body;
  EXPECT_TRUE(contains(u1.body, "\"held\":1")) << u1.body;
  auto u2 = deliver(*eng, "hooks", page({rec("k-1", "3.00", "update")}), now_s() + 1);
  ASSERT_EQ(u2.status, 200) << u2.body;
  EXPECT_TRUE(versions_of(*eng, "k-1").empty()) << "an update without its base is not a record yet";
  EXPECT_EQ(*eng->store()->held_updates(), 2u);
  auto [code, metrics] = http_get(eng->http_port(), "/metrics");
  ASSERT_EQ(code, 200);
  EXPECT_TRUE(contains(metrics, "dspsync_webhook_held 2")) << metrics;
  expect_identity(checkpoint_of(*eng, "hooks/webhook"));

  auto base = deliver(*eng, "hooks", page({rec("k-1", "1.00", "create")}), now_s());
  ASSERT_EQ(base.status, 200) << base.body;
  EXPECT_TRUE(contains(base.body, "\"released\":2")) << base.body;
  const auto versions = versions_of(*eng, "k-1");
  ASSERT_EQ(versions.size(), 3u);
  EXPECT_EQ(revenues(versions), (std::vector<std::string>{"1.00", "2.00", "3.00"}));
  EXPECT_EQ(versions[0].version, 1u);
  EXPECT_EQ(versions[2].version, 3u);
  EXPECT_EQ(versions[1].prev_seq, versions[0].seq);
  EXPECT_EQ(versions[2].prev_seq, versions[1].seq);
  EXPECT_EQ(*eng->store()->held_updates(), 0u);
  auto cp = checkpoint_of(*eng, "hooks/webhook");
  EXPECT_EQ(cp.records_in, 3u);
  EXPECT_EQ(cp.inserted, 1u);
  EXPECT_EQ(cp.restatements, 2u);
  expect_identity(cp);
  eng->stop();
}

TEST(webhooks, held_updates_survive_a_restart_and_are_released_by_a_poll) {
  quiet_logs();
  secret_set env;
  temp_dir dir;
  engine_config cfg;
  cfg.data_dir = dir.sub("data");
  cfg.endpoints.push_back(endpoint("hooks", true));
  auto hooks_dsp = serve(cfg.endpoints[0], {});
  {
    auto eng = start(cfg);
    ASSERT_TRUE(eng);
    ASSERT_EQ(deliver(*eng, "hooks", page({rec("k-2", "20.00", "update")}), now_s()).status, 200);
    ASSERT_EQ(deliver(*eng, "hooks", page({rec("k-2", "30.00", "update")}), now_s() + 1).status, 200);
    EXPECT_EQ(*eng->store()->held_updates(), 2u);
    eng->stop();
  }
  // After a restart the updates are still held; the base record arrives from a poll of another
  // endpoint of the same DSP, and the updates are applied after it, in arrival order.
  cfg.endpoints.push_back(endpoint("feed", false));
  auto feed_dsp = serve(cfg.endpoints[1], {rec("k-2", "10.00"), rec("other", "5.00")});
  auto eng = start(cfg);
  ASSERT_TRUE(eng);
  const auto versions = versions_of(*eng, "k-2");
  ASSERT_EQ(versions.size(), 3u);
  EXPECT_EQ(revenues(versions), (std::vector<std::string>{"10.00", "20.00", "30.00"}));
  EXPECT_EQ(versions.back().version, 3u);
  EXPECT_EQ(*eng->store()->held_updates(), 0u);
  auto feed = checkpoint_of(*eng, "feed");
  EXPECT_EQ(feed.records_in, 2u);
  EXPECT_EQ(feed.inserted, 2u);
  expect_identity(feed);
  auto hooks = checkpoint_of(*eng, "hooks/webhook");
  EXPECT_EQ(hooks.records_in, 2u);
  EXPECT_EQ(hooks.restatements, 2u);
  expect_identity(hooks);
  bool released = false;
  for (const auto& e : audit_of(*eng))
    if (e.kind == "page.committed" && e.actor == "feed" && contains(e.details, "released=2")) released = true;
  EXPECT_TRUE(released);
  EXPECT_EQ(eng->store()->verify_audit()->first_broken_seq, 0u);
  eng->stop();
}

TEST(webhooks, unconfigured_endpoints_methods_and_missing_secrets_are_refused) {
  quiet_logs();
  temp_dir dir;
  engine_config cfg;
  cfg.data_dir = dir.sub("data");
  cfg.endpoints.push_back(endpoint("hooks", true));
  cfg.endpoints.push_back(endpoint("plain", false));
  auto hooks_dsp = serve(cfg.endpoints[0], {});
  auto plain_dsp = serve(cfg.endpoints[1], {});
  {
    // No secret in the environment: the engine does not start, and says which field.
    ::unsetenv(secret_env);
    engine_options eo;
    eo.once = true;
    eo.ephemeral_ports = true;
    auto refused = engine::start(cfg, eo);
    ASSERT_FALSE(refused);
    EXPECT_TRUE(contains(refused.error().message, "endpoints[0].webhook.secret_env"))
        << refused.error().message;
    EXPECT_TRUE(contains(refused.error().message, secret_env)) << refused.error().message;
    ::setenv(secret_env, "short", 1);
    auto weak = engine::start(cfg, eo);
    ASSERT_FALSE(weak);
    EXPECT_TRUE(contains(weak.error().message, "shorter than 16 bytes")) << weak.error().message;
    EXPECT_FALSE(contains(weak.error().message, "short\"")) << "the value is not echoed";
  }
  secret_set env;
  auto eng = start(cfg);
  ASSERT_TRUE(eng);
  const std::string body = page({rec("x", "1.00")});
  auto plain = deliver(*eng, "plain", body, now_s());
  EXPECT_EQ(plain.status, 404);
  EXPECT_TRUE(contains(plain.body, "no webhook configuration")) << plain.body;
  EXPECT_EQ(deliver(*eng, "nope", body, now_s()).status, 404);
  EXPECT_EQ(http_get(eng->http_port(), "/webhooks/hooks").first, 405);
  EXPECT_EQ(http_get(eng->http_port(), "/webhooks/plain").first, 404);
  // A delivery that is signed but not a records document is kept in quarantine and answered 422.
  auto corrupt = deliver(*eng, "hooks", R"({"rows":[]})", now_s());
  EXPECT_EQ(corrupt.status, 422) << corrupt.body;
  EXPECT_TRUE(versions_of(*eng, "x").empty());
  eng->stop();
}

}  // namespace
}  // namespace dspsync::test
