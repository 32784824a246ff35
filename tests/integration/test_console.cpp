// The operator console over a real TCP connection to an engine started in-process: every command,
// the audit trail of operator actions, release from quarantine after a config fix, auth and its
// slow-down, over-long lines, unknown commands, idle timeout, and the refusal to listen beyond
// loopback without a token.

#include <gtest/gtest.h>

#include <stdlib.h>

#include <sys/socket.h>

#include <chrono>
#include <random>

#include "actors/engine.hpp"
#include "config/config.hpp"
#include "protocol/console_protocol.hpp"
#include "tests/support/console_client.hpp"
#include "tests/support/console_harness.hpp"

namespace dspsync::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

source_checkpoint checkpoint_of(engine& eng, const std::string& name) {
  auto cp = eng.store()->checkpoint(name);
  EXPECT_TRUE(cp && *cp) << name;
  return cp && *cp ? **cp : source_checkpoint{};
}

std::vector<audit_entry> audit_log(engine& eng) {
  std::vector<audit_entry> out;
  EXPECT_TRUE(eng.store()->for_each_audit([&](const audit_entry& a) { out.push_back(a); }));
  return out;
}

const audit_entry* find_audit(const std::vector<audit_entry>& log, const std::string& kind) {
  for (const auto& a : log)
    if (a.kind == kind) return &a;
  return nullptr;
}

TEST(console, every_command_answers_over_tcp_and_operator_actions_are_audited) {
  quiet_logs();
  temp_dir dir;
  auto h = make_replay_harness(dir.sub("data"));
  auto eng = start_console_engine(h.cfg);
  ASSERT_TRUE(eng);
  ASSERT_TRUE(eng->wait_done(120s));
  ASSERT_NE(eng->console_port(), 0);
  const std::string cursor_ep = h.cfg.endpoints[0].name;  // cursor style
  const std::string offset_ep = h.cfg.endpoints[1].name;

  console_client c(eng->console_port());
  ASSERT_TRUE(c.connected());
  auto help = c.ask("help");
  EXPECT_TRUE(help.ok()) << help.text();
  EXPECT_TRUE(contains(help.text(), "lineage KEY"));

  auto status = c.ask("status");
  ASSERT_TRUE(status.ok()) << status.text();
  EXPECT_TRUE(contains(status.text(), "engine: 2 endpoints")) << status.text();
  EXPECT_TRUE(contains(status.text(), cursor_ep) && contains(status.text(), offset_ep)) << status.text();
  EXPECT_TRUE(contains(status.text(), "ledger: ")) << status.text();

  auto endpoints = c.ask("endpoints");
  ASSERT_TRUE(endpoints.ok()) << endpoints.text();
  EXPECT_TRUE(contains(endpoints.text(), "caught_up")) << endpoints.text();

  auto one = c.ask("endpoint " + cursor_ep);
  ASSERT_TRUE(one.ok()) << one.text();
  for (const char* field :
       {"dsp:", "cursor:", "records:", "requests:", "latency:", "backoff:", "recent pages:"})
    EXPECT_TRUE(contains(one.text(), field)) << field << "\n" << one.text();
  EXPECT_EQ(c.ask("endpoint nope").status, "ERR no endpoint named 'nope' (see endpoints)");
  EXPECT_EQ(c.ask("endpoint").status, "ERR usage: endpoint NAME");

  // Cursor: shown, refused while the endpoint runs, set when paused (audited by the ledger).
  auto cursor = c.ask("cursor " + cursor_ep);
  ASSERT_TRUE(cursor.ok()) << cursor.text();
  EXPECT_TRUE(contains(cursor.text(), "cursor of " + cursor_ep)) << cursor.text();
  auto refused = c.ask("cursor " + cursor_ep + " set \"\"");
  EXPECT_TRUE(contains(refused.status, "pause it first")) << refused.text();

  const auto before = checkpoint_of(*eng, cursor_ep);
  auto pause = c.ask("pause " + cursor_ep);
  ASSERT_TRUE(pause.ok()) << pause.text();
  EXPECT_TRUE(contains(pause.text(), "paused " + cursor_ep)) << pause.text();
  auto paused = c.ask("endpoint " + cursor_ep);
  EXPECT_TRUE(contains(paused.text(), "\npaused:") && contains(paused.text(), " yes\n")) << paused.text();
  auto set = c.ask("cursor " + cursor_ep + " set \"\"");
  ASSERT_TRUE(set.ok()) << set.text();
  EXPECT_EQ(checkpoint_of(*eng, cursor_ep).cursor, "");

  // Resume from the start: everything comes again and is counted as duplicates, nothing twice.
  auto resume = c.ask("resume " + cursor_ep);
  ASSERT_TRUE(resume.ok()) << resume.text();
  ASSERT_TRUE(eng->wait_done(120s));
  const auto after = checkpoint_of(*eng, cursor_ep);
  EXPECT_EQ(after.inserted, before.inserted);
  EXPECT_EQ(after.restatements, before.restatements);
  EXPECT_EQ(after.quarantined, before.quarantined);
  EXPECT_EQ(after.records_in, 2 * before.records_in);
  EXPECT_EQ(after.records_in, after.inserted + after.restatements + after.duplicates + after.quarantined);

  auto restart = c.ask("restart " + offset_ep);
  ASSERT_TRUE(restart.ok()) << restart.text();
  EXPECT_TRUE(contains(restart.text(), "restarting " + offset_ep)) << restart.text();
  EXPECT_EQ(c.ask("restart nope").status, "ERR no endpoint named 'nope' (see endpoints)");

  // Quarantine: list, show, and a release that is refused because the record is still invalid.
  std::size_t malformed = 0;
  for (const auto& r : h.recordings) malformed += r.expected.malformed;
  ASSERT_GT(malformed, 0u);
  auto list = c.ask("quarantine list");
  ASSERT_TRUE(list.ok()) << list.text();
  EXPECT_TRUE(contains(list.body.at(0), std::to_string(malformed) + " items in quarantine")) << list.text();
  std::string qkey;
  ASSERT_TRUE(eng->store()->for_each_quarantined([&](const stored_quarantine& q) {
    if (qkey.empty()) qkey = to_hex(q.key);
  }));
  auto show = c.ask("quarantine show " + qkey);
  ASSERT_TRUE(show.ok()) << show.text();
  EXPECT_TRUE(contains(show.text(), "raw (")) << show.text();
  EXPECT_TRUE(contains(show.text(), "tx-q")) << show.text();
  auto release = c.ask("quarantine release " + qkey);
  EXPECT_TRUE(contains(release.status, "still invalid")) << release.text();
  EXPECT_FALSE(release.body.empty()) << release.text();
  EXPECT_TRUE(c.ask("quarantine show " + std::string(64, '0')).status.rfind("ERR nothing in quarantine", 0) ==
              0);
  EXPECT_EQ(c.ask("quarantine").status, "ERR usage: quarantine list|show KEY|release KEY");

  auto pending = c.ask("pending");
  ASSERT_TRUE(pending.ok()) << pending.text();
  EXPECT_TRUE(contains(pending.text(), "records pending reconciliation")) << pending.text();
  auto drift = c.ask("drift");
  ASSERT_TRUE(drift.ok()) << drift.text();
  EXPECT_TRUE(contains(drift.text(), "no drift events recorded")) << drift.text();
  auto metrics = c.ask("metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status;
  EXPECT_TRUE(contains(metrics.text(), "dspsync_records_total{endpoint=\"" + cursor_ep)) << metrics.text();
  auto verify = c.ask("audit verify");
  ASSERT_TRUE(verify.ok()) << verify.text();
  EXPECT_TRUE(contains(verify.text(), "audit chain intact")) << verify.text();
  EXPECT_EQ(c.ask("audit").status, "ERR usage: audit verify");
  auto triage = c.ask("triage");
  ASSERT_TRUE(triage.ok()) << triage.text();
  for (const char* check : {"state", "cursor_lag", "rejections", "duplicates", "circuit", "pending_backlog"})
    EXPECT_TRUE(contains(triage.text(), check)) << check << "\n" << triage.text();

  // Lineage of a restated record: both versions, their pages, requests and correlation ids, and
  // the audit entries of those pages.
  std::string restated;
  ASSERT_TRUE(eng->store()->for_each_record([&](const stored_record& r) {
    if (restated.empty() && r.version == 2) restated = to_hex(r.key);
  }));
  ASSERT_FALSE(restated.empty());
  auto lineage = c.ask("lineage " + restated);
  ASSERT_TRUE(lineage.ok()) << lineage.text();
  for (const char* part :
       {"2 version(s)", "version 1", "version 2", "request: GET /v1/", "correlation_id: c-", "raw record: {",
        "page.committed by " /* audit entries of its pages */})
    EXPECT_TRUE(contains(lineage.text(), part)) << part << "\n" << lineage.text();
  EXPECT_TRUE(c.ask("lineage " + std::string(64, 'a')).status.rfind("ERR no record under", 0) == 0);
  EXPECT_TRUE(c.ask("lineage " + qkey).status.rfind("ERR no record under", 0) == 0);

  // Operator actions are in the audit log with the old and the new values, and the chain holds.
  auto log = audit_log(*eng);
  const auto* paused_entry = find_audit(log, "endpoint.paused");
  ASSERT_NE(paused_entry, nullptr);
  EXPECT_EQ(paused_entry->subject, cursor_ep);
  EXPECT_TRUE(contains(paused_entry->details, "paused no -> yes")) << paused_entry->details;
  EXPECT_TRUE(paused_entry->actor.rfind("console@127.0.0.1:", 0) == 0) << paused_entry->actor;
  const auto* resumed_entry = find_audit(log, "endpoint.resumed");
  ASSERT_NE(resumed_entry, nullptr);
  EXPECT_TRUE(contains(resumed_entry->details, "paused yes -> no")) << resumed_entry->details;
  const auto* cursor_entry = find_audit(log, "cursor.set");
  ASSERT_NE(cursor_entry, nullptr);
  EXPECT_EQ(cursor_entry->details, "cursor \"" + before.cursor + "\" -> \"\"");
  ASSERT_NE(find_audit(log, "endpoint.restarted"), nullptr);
  EXPECT_TRUE(contains(find_audit(log, "endpoint.restarted")->details, "restarts 0"))
      << find_audit(log, "endpoint.restarted")->details;
  EXPECT_EQ(eng->store()->verify_audit()->first_broken_seq, 0u);

  auto quit = c.ask("quit");
  EXPECT_TRUE(quit.ok());
  std::string rest;
  EXPECT_TRUE(c.raw().read_to_close(rest, clock_type::now() + 10s));
  eng->stop();
}

TEST(console, release_commits_a_quarantined_record_that_a_config_fix_made_valid) {
  quiet_logs();
  temp_dir dir;
  harness_options ho;
  ho.records = 200;
  ho.malformed_rate = 0;
  ho.styles = {pagination_style::cursor};
  auto h = make_replay_harness(dir.sub("data"), ho);
  const std::string name = h.cfg.endpoints[0].name;
  {
    // A mapping that looks for revenue under a name the DSP does not use: every record is corrupt.
    auto broken = h.cfg;
    broken.endpoints[0].fields["revenue"] = {"gross_amount"};
    auto eng = start_console_engine(broken);
    ASSERT_TRUE(eng);
    ASSERT_TRUE(eng->wait_done(120s));
    eng->stop();
  }
  // The fixed config: the engine is caught up and fetches nothing; the console releases.
  auto eng = start_console_engine(h.cfg);
  ASSERT_TRUE(eng);
  ASSERT_TRUE(eng->wait_done(120s));
  const auto before = checkpoint_of(*eng, name);
  ASSERT_GT(before.quarantined, 0u);
  EXPECT_EQ(before.inserted, 0u);
  std::string qkey;
  ASSERT_TRUE(eng->store()->for_each_quarantined([&](const stored_quarantine& q) {
    if (qkey.empty()) qkey = to_hex(q.key);
  }));
  console_client c(eng->console_port());
  auto release = c.ask("quarantine release " + qkey);
  ASSERT_TRUE(release.ok()) << release.text();
  const std::string line = release.body.at(0);
  const std::string marker = "validated record ";
  const auto at = line.find(marker);
  ASSERT_NE(at, std::string::npos) << line;
  const std::string record_key_hex = line.substr(at + marker.size(), 64);
  ASSERT_TRUE(parse_record_key(record_key_hex)) << line;
  EXPECT_TRUE(contains(line, record_key_hex + " version 1")) << line;

  const auto after = checkpoint_of(*eng, name);
  EXPECT_EQ(after.records_in, before.records_in);
  EXPECT_EQ(after.quarantined, before.quarantined - 1);
  EXPECT_EQ(after.inserted, 1u);
  EXPECT_EQ(after.records_in, after.inserted + after.restatements + after.duplicates + after.quarantined);
  EXPECT_TRUE(c.ask("quarantine show " + qkey).status.rfind("ERR nothing in quarantine", 0) == 0);
  EXPECT_FALSE(c.ask("quarantine release " + qkey).ok());  // released once only

  auto lineage = c.ask("lineage " + record_key_hex);
  ASSERT_TRUE(lineage.ok()) << lineage.text();
  EXPECT_TRUE(contains(lineage.text(), "version 1")) << lineage.text();
  EXPECT_TRUE(contains(lineage.text(), "quarantine.released by console@")) << lineage.text();
  EXPECT_TRUE(contains(lineage.text(), "correlation_id: ")) << lineage.text();
  EXPECT_FALSE(contains(lineage.text(), "page 0 position")) << "the record is linked to its page\n"
                                                            << lineage.text();
  auto log = audit_log(*eng);
  const auto* entry = find_audit(log, "quarantine.released");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->subject, "quarantine:" + qkey);
  EXPECT_TRUE(contains(entry->details, "state quarantined -> validated record " + record_key_hex))
      << entry->details;
  EXPECT_EQ(eng->store()->verify_audit()->first_broken_seq, 0u);
  eng->stop();
}

TEST(console, a_token_is_required_first_and_failed_attempts_are_slowed_down) {
  quiet_logs();
  temp_dir dir;
  ::setenv("DSPSYNC_CONSOLE_TEST_TOKEN", "console-s3cret-token", 1);
  auto h = make_replay_harness(dir.sub("data"));
  h.cfg.console.token_env = "DSPSYNC_CONSOLE_TEST_TOKEN";
  auto eng = start_console_engine(h.cfg);
  ASSERT_TRUE(eng);
  console_client c(eng->console_port());
  EXPECT_EQ(c.ask("status").status, "ERR authentication required: auth TOKEN");
  EXPECT_TRUE(c.ask("help").ok());
  auto t0 = clock_type::now();
  EXPECT_EQ(c.ask("auth wrong").status, "ERR authentication failed");
  auto first = clock_type::now() - t0;
  auto t1 = clock_type::now();
  EXPECT_EQ(c.ask("auth console-s3cret-tokeX").status, "ERR authentication failed");
  auto second = clock_type::now() - t1;
  EXPECT_GE(first, 250ms);
  EXPECT_GE(second, 500ms);
  EXPECT_EQ(c.ask("status").status, "ERR authentication required: auth TOKEN");
  EXPECT_TRUE(c.ask("auth console-s3cret-token").ok());
  EXPECT_TRUE(c.ask("status").ok());
  EXPECT_FALSE(contains(c.transcript(), "console-s3cret-token"));
  // Another session starts unauthenticated, with no delay carried over.
  console_client other(eng->console_port());
  EXPECT_EQ(other.ask("endpoints").status, "ERR authentication required: auth TOKEN");
  eng->stop();
  ::unsetenv("DSPSYNC_CONSOLE_TEST_TOKEN");
}

TEST(console, an_over_long_line_is_refused_and_the_session_survives) {
  quiet_logs();
  temp_dir dir;
  auto h = make_replay_harness(dir.sub("data"));
  auto eng = start_console_engine(h.cfg);
  ASSERT_TRUE(eng);
  console_client c(eng->console_port());
  c.raw().send(std::string(5000, 'x') + "\n");
  EXPECT_EQ(c.read_answer().status, "ERR line too long");
  c.raw().send(std::string(1 << 20, 'y'));  // a megabyte without a newline...
  c.raw().send("\nhelp\n");                 // ...then the end of it and a command
  EXPECT_EQ(c.read_answer().status, "ERR line too long");
  EXPECT_TRUE(c.read_answer().ok());
  // Exactly the limit is a line (here: an unknown command).
  auto at_limit = c.ask(std::string(4096, 'z'));
  EXPECT_TRUE(at_limit.status.rfind("ERR unknown command 'zzz", 0) == 0) << at_limit.status;
  EXPECT_EQ(c.ask("frobnicate now").status, "ERR unknown command 'frobnicate' (try help)");
  // Commands are case-insensitive, blank lines are ignored, CRLF works (telnet).
  c.raw().send("\r\n\r\nSTATUS\r\n");
  EXPECT_TRUE(c.read_answer().ok());
  eng->stop();
}

TEST(console, an_idle_session_is_closed_after_the_configured_timeout) {
  quiet_logs();
  temp_dir dir;
  auto h = make_replay_harness(dir.sub("data"));
  h.cfg.console.idle_timeout = 300ms;
  auto eng = start_console_engine(h.cfg);
  ASSERT_TRUE(eng);
  console_client c(eng->console_port());
  auto t0 = clock_type::now();
  EXPECT_TRUE(c.ask("help").ok());
  // No sleep: wait (with a deadline) for the server to say so and close the socket.
  auto bye = c.read_answer(10s);
  EXPECT_TRUE(bye.status.rfind("ERR idle for", 0) == 0) << bye.text();
  std::string rest;
  EXPECT_TRUE(c.raw().read_to_close(rest, clock_type::now() + 10s));
  EXPECT_GE(clock_type::now() - t0, 300ms);
  eng->stop();
}

TEST(console, listening_beyond_loopback_needs_a_token) {
  quiet_logs();
  temp_dir dir;
  engine_config cfg;
  cfg.data_dir = dir.sub("data");
  cfg.console.listen = "0.0.0.0";
  engine_options eo;
  eo.once = true;
  eo.ephemeral_ports = true;
  auto refused = engine::start(cfg, eo);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(contains(refused.error().message, "not loopback")) << refused.error().message;
  EXPECT_TRUE(contains(refused.error().message, "token")) << refused.error().message;

  cfg.console.token_env = "DSPSYNC_CONSOLE_TEST_UNSET";
  ::unsetenv("DSPSYNC_CONSOLE_TEST_UNSET");
  auto unset = engine::start(cfg, eo);
  ASSERT_FALSE(unset);
  EXPECT_TRUE(contains(unset.error().message, "DSPSYNC_CONSOLE_TEST_UNSET is not set"))
      << unset.error().message;

  // The config loader refuses it too, naming the field.
  auto parsed = parse_config(R"({"console": {"listen": "0.0.0.0", "port": 7070}})");
  ASSERT_FALSE(parsed);
  EXPECT_TRUE(contains(parsed.error().message, "console.token_env")) << parsed.error().message;

  ::setenv("DSPSYNC_CONSOLE_TEST_UNSET", "a-token", 1);
  auto started = engine::start(cfg, eo);
  ASSERT_TRUE(started) << started.error().message;
  console_client c((*started)->console_port());
  EXPECT_EQ(c.ask("status").status, "ERR authentication required: auth TOKEN");
  (*started)->stop();
  ::unsetenv("DSPSYNC_CONSOLE_TEST_UNSET");
}

// Hostile clients while the engine ingests: binary garbage, a line of megabytes, a client that
// sends a byte at a time, one that sends commands and never reads the answers, one that leaves
// mid-line with a reset, and a flood of connections beyond the session limit. Ingestion must end
// exactly as an undisturbed run of the same recordings does, and an operator still gets answers.
TEST(console, hostile_clients_harm_neither_ingestion_nor_other_sessions) {
  quiet_logs();
  temp_dir dir;
  harness_options ho;
  ho.records = 3000;
  auto quiet = make_replay_harness(dir.sub("quiet"), ho);
  for (auto& ep : quiet.cfg.endpoints) ep.rate.requests_per_second = 1000;  // the reference needs no pacing
  auto reference = start_console_engine(quiet.cfg);
  ASSERT_TRUE(reference);
  ASSERT_TRUE(reference->wait_done(120s));
  std::vector<source_checkpoint> expected;
  for (const auto& ep : quiet.cfg.endpoints) expected.push_back(checkpoint_of(*reference, ep.name));
  reference->stop();

  auto h = make_replay_harness(dir.sub("data"), ho);
  h.cfg.console.max_sessions = 8;
  auto eng = start_console_engine(h.cfg);
  ASSERT_TRUE(eng);
  const auto port = eng->console_port();
  ASSERT_NE(port, 0);

  std::mt19937 rng(8);
  std::string garbage(256 * 1024, '\0');
  for (auto& ch : garbage) ch = static_cast<char>(rng());
  tcp_client noise(port);
  ASSERT_TRUE(noise.connected());
  EXPECT_TRUE(noise.send(garbage));

  tcp_client huge(port);
  ASSERT_TRUE(huge.connected());
  const std::string mebibyte(1 << 20, 'h');
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(huge.send(mebibyte));

  console_client slow(port);
  for (char ch : std::string("status\n")) ASSERT_TRUE(slow.raw().send(std::string(1, ch)));

  tcp_client deaf(port);  // never reads: its answers back up, and only its session waits
  std::string commands;
  for (int i = 0; i < 2000; ++i) commands += "help\n";
  EXPECT_TRUE(deaf.send(commands));

  {
    tcp_client leaver(port);
    leaver.send("endpoi");
    linger hard{1, 0};  // close with a reset, mid-line
    ::setsockopt(leaver.fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  }

  // Five sessions are open (noise, huge, slow, deaf, perhaps the leaver's until it is noticed):
  // a flood of 20 more is refused beyond the limit of 8, each told why.
  std::vector<std::unique_ptr<console_client>> flood;
  int refused = 0;
  for (int i = 0; i < 20; ++i) {
    flood.push_back(std::make_unique<console_client>(port));
    ASSERT_TRUE(flood.back()->connected());
  }
  for (auto& c : flood) {
    auto a = c->ask("help", 10s);
    if (a.status == "ERR too many console sessions (8 open); try again later") ++refused;
  }
  EXPECT_GE(refused, 12) << "the session limit let too many in";
  flood.clear();  // their sessions close; the slots come back

  EXPECT_TRUE(slow.read_answer().ok()) << slow.transcript();
  EXPECT_TRUE(huge.send("\nhelp\n"));
  auto h1 = huge.read_line(clock_type::now() + 20s);
  ASSERT_TRUE(h1);
  EXPECT_EQ(*h1, "ERR line too long");

  ASSERT_TRUE(eng->wait_done(120s));
  for (std::size_t i = 0; i < h.cfg.endpoints.size(); ++i) {
    SCOPED_TRACE(h.cfg.endpoints[i].name);
    const auto got = checkpoint_of(*eng, h.cfg.endpoints[i].name);
    EXPECT_TRUE(got.caught_up);
    EXPECT_EQ(got.cursor, expected[i].cursor);
    EXPECT_EQ(got.records_in, expected[i].records_in);
    EXPECT_EQ(got.inserted, expected[i].inserted);
    EXPECT_EQ(got.duplicates, expected[i].duplicates);
    EXPECT_EQ(got.restatements, expected[i].restatements);
    EXPECT_EQ(got.quarantined, expected[i].quarantined);
  }
  // An operator still gets through, while the deaf client's answers are still unread.
  console_client op(port);
  auto st = op.ask("status", 20s);
  EXPECT_TRUE(st.ok()) << st.text();
  eng->stop();
}

TEST(console, config_reads_the_idle_timeout_the_pending_sla_and_the_session_limit) {
  auto cfg = parse_config(
      R"({"console": {"port": 7070, "idle_timeout_s": 60, "pending_sla": 25, "max_sessions": 3}})");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->console.idle_timeout, std::chrono::milliseconds(60'000));
  EXPECT_EQ(cfg->console.pending_sla, 25u);
  EXPECT_EQ(cfg->console.max_sessions, 3);
  auto none = parse_config(R"({"console": {"max_sessions": 0}})");
  ASSERT_FALSE(none);
  EXPECT_TRUE(contains(none.error().message, "console.max_sessions")) << none.error().message;
  auto defaults = parse_config(R"({})");
  ASSERT_TRUE(defaults) << defaults.error().message;
  EXPECT_EQ(defaults->console.idle_timeout, std::chrono::milliseconds(300'000));
  EXPECT_EQ(defaults->console.pending_sla, 1000u);
  EXPECT_EQ(defaults->console.max_sessions, 16);
  auto bad = parse_config(R"({"console": {"idle_timeout_s": 0}})");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(contains(bad.error().message, "console.idle_timeout_s")) << bad.error().message;
}

}  // namespace
}  // namespace dspsync::test
