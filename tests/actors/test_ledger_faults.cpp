// Ledger write failures seen from the actors, on CAF's test coordinator: a full ledger stops
// ingestion with one alert and no restart loop, and a bigger map resumes it exactly; a page read
// ahead behind a first page that failed to commit is refused, not stored in its place; and a
// Retry-After that arrives for a poller that died meanwhile binds the poller that replaces it.

#include <gtest/gtest.h>
#include <lmdb.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "actors/actors.hpp"
#include "actors/ledger.hpp"
#include "domain/idempotency.hpp"
#include "tests/actors/sim_fixture.hpp"

namespace dspsync::test {
namespace {

using namespace std::chrono_literals;

recording small_recording(const std::string& name, std::size_t records, uint64_t seed,
                          pagination_style style = pagination_style::cursor) {
  recording_options ro;
  ro.style = style;
  ro.records = records;
  ro.page_size = 50;
  ro.seed = seed;
  ro.endpoint_name = name;
  ro.dsp = name;
  ro.path = "/v1/" + name;
  auto rec = generate_recording(ro);
  rec.endpoint.rate.requests_per_second = 100;
  rec.endpoint.rate.burst = 10;
  return rec;
}

bool all_in(sim_fixture& f, const std::vector<recording>& recs, const std::vector<std::string>& states) {
  for (const auto& r : recs) {
    auto s = f.status_of(r.endpoint.name);
    if (!s || std::find(states.begin(), states.end(), s->state) == states.end()) return false;
  }
  return true;
}

void expect_planted_counts(sim_fixture& f, const recording& r) {
  SCOPED_TRACE(r.endpoint.name);
  auto cp = f.store().checkpoint(r.endpoint.name);
  ASSERT_TRUE(cp && *cp);
  EXPECT_EQ((**cp).pages, r.expected.pages);
  EXPECT_EQ((**cp).records_in, r.expected.records_in);
  EXPECT_EQ((**cp).inserted, r.expected.unique);
  EXPECT_EQ((**cp).restatements, r.expected.restatements);
  EXPECT_EQ((**cp).duplicates, r.expected.duplicates);
  EXPECT_EQ((**cp).quarantined, r.expected.malformed);
}

TEST(ledger_faults, a_full_ledger_stops_ingestion_with_one_alert_and_a_bigger_map_resumes_it) {
  sim_fixture f;
  f.log_alerts();
  std::vector<recording> recs = {small_recording("alpha", 400, 1), small_recording("beta", 400, 2)};
  engine_config cfg;
  for (const auto& r : recs) {
    f.add_dsp(r.endpoint.name, pages_of(r));
    cfg.endpoints.push_back(r.endpoint);
  }
  // Three commits fit, then the map is full.
  auto commits = std::make_shared<int>(0);
  f.store().set_commit_fault([commits] { return ++*commits > 3 ? MDB_MAP_FULL : MDB_SUCCESS; });
  f.start(cfg, true);
  ASSERT_TRUE(f.run_until([&] { return all_in(f, recs, {"failed"}); }));
  for (const auto& s : f.query_status()) {
    SCOPED_TRACE(s.name);
    EXPECT_NE(s.reason.find("the ledger is full"), std::string::npos) << s.reason;
    EXPECT_NE(s.reason.find("map_size_mib"), std::string::npos) << s.reason;
    EXPECT_EQ(s.restarts, 0u) << "a full ledger is not a poller fault: nothing to restart";
    EXPECT_EQ(s.in_flight, 0);
  }
  EXPECT_EQ(f.alerts("ledger.full"), 1u);
  // Stopped means stopped: an hour later the DSPs have seen nothing more and the ledger holds what
  // it held when the map filled up (three group commits' worth, not everything).
  std::vector<std::size_t> asked;
  for (const auto& r : recs) asked.push_back(f.dsp(r.endpoint.name).log.size());
  auto stopped = *f.store().stats();
  f.sched().clock().advance_time(1h);
  f.run_until([] { return false; }, 1000);
  for (std::size_t i = 0; i < recs.size(); ++i) EXPECT_EQ(f.dsp(recs[i].endpoint.name).log.size(), asked[i]);
  auto later = *f.store().stats();
  EXPECT_EQ(later.pages, stopped.pages);
  EXPECT_EQ(later.record_versions, stopped.record_versions);
  EXPECT_EQ(later.audit_entries, stopped.audit_entries);
  EXPECT_LT(stopped.pages, recs[0].expected.pages + recs[1].expected.pages);

  // The operator grows the map and restarts: everything arrives, once.
  f.restart_with_bigger_map(cfg, true, {}, 32 * 1024, 2min);
  ASSERT_TRUE(f.run_until([&] { return all_in(f, recs, {"caught_up"}); }));
  for (const auto& r : recs) expect_planted_counts(f, r);
  EXPECT_EQ(f.alerts("ledger.full"), 1u);
}

TEST(ledger_faults, pages_in_flight_behind_the_page_that_filled_the_ledger_are_refused_quietly) {
  // One page per commit: the page that finds the ledger full fails alone, and the pages the poller
  // had already handed over come to the ledger in commits of their own. Those write nothing (the
  // cursor fence refuses them: they follow a page that was not committed) and so commit fine, even
  // on a full map; the endpoint has stopped for the full ledger and must not take the refusals for
  // a fault of its own (a restart would fetch again only to fail again).
  sim_fixture f;
  f.log_alerts();
  auto rec = small_recording("gamma", 600, 3, pagination_style::offset);
  engine_config cfg;
  cfg.pipeline.max_pages_per_commit = 1;
  f.add_dsp(rec.endpoint.name, pages_of(rec));
  cfg.endpoints.push_back(rec.endpoint);
  auto commits = std::make_shared<int>(0);
  f.store().set_commit_fault([commits] { return ++*commits == 3 ? MDB_MAP_FULL : MDB_SUCCESS; });
  f.start(cfg, true);
  // One message at a time, the DSP answering at once: the next page is fetched and validated
  // before the ledger has answered for the one before it, as with a ledger on its own thread.
  for (int step = 0; step < 100'000; ++step) {
    f.dsp(rec.endpoint.name).answer_all();
    if (!f.sched().try_run_once() && !f.sched().trigger_timeout()) break;
    if (*commits > 3 && all_in(f, {rec}, {"failed", "restarting"})) break;
  }
  f.run_until([] { return false; }, 1000);  // let every page in flight come back
  auto s = f.status_of(rec.endpoint.name);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, "failed") << s->reason;
  EXPECT_NE(s->reason.find("the ledger is full"), std::string::npos) << s->reason;
  EXPECT_EQ(s->restarts, 0u) << s->reason;
  EXPECT_EQ(s->in_flight, 0);
  EXPECT_GT(*commits, 3) << "no page was in flight behind the failed one: the test proves nothing";
  auto cp = f.store().checkpoint(rec.endpoint.name);
  ASSERT_TRUE(cp && *cp);
  EXPECT_EQ((**cp).pages, 2u);  // the two commits before the full one
}

ingest_batch page(const std::string& before, const std::string& after, const std::string& txn) {
  key_deriver keys(
      std::vector<std::string>{"isrc", "upc", "dsp", "reporting_period", "transaction_id", "currency"});
  ingest_batch b;
  b.source = "src";
  b.request = "GET /v1/src?cursor=" + before;
  b.body = "{}";
  b.body_sha256 = to_hex(sha256::digest(b.body));
  b.cursor_before = before;
  b.cursor_after = after;
  keyed_record kr;
  kr.record.isrc = "USRC17607839";
  kr.record.dsp = "spotify";
  kr.record.reporting_period = "2026-10";
  kr.record.transaction_id = txn;
  kr.record.currency = "USD";
  kr.key = keys.key(kr.record);
  b.records.push_back(std::move(kr));
  b.records_in = 1;
  return b;
}

TEST(ledger_faults, a_page_read_ahead_behind_a_first_page_that_failed_to_commit_is_refused) {
  // The poller hands page 2 to the ledger before it learns that page 1's commit failed (with a
  // ledger on its own thread that is the common case). Page 1 was its source's first: there is no
  // checkpoint to fence page 2 against, and storing it would skip page 1's records for good.
  sim_fixture f;
  auto failed_once = std::make_shared<bool>(false);
  f.store().set_commit_fault([failed_once] { return std::exchange(*failed_once, true) ? MDB_SUCCESS : EIO; });
  auto led = f.system().spawn(ledger, f.shared_store(), 1);
  auto p1 = std::make_shared<ingest_batch>(page("", "c1", "t1"));
  auto p2 = std::make_shared<ingest_batch>(page("c1", "c2", "t2"));
  p2->after_uncommitted = true;  // fetched at the cursor page 1 leads to
  caf::error first;
  std::optional<batch_outcome> second;
  f.system().spawn(
      [&](caf::event_based_actor* self, int) {
        self->request(led, caf::infinite, commit_atom::value, p1)
            .then([](const batch_outcome&) { ADD_FAILURE() << "page 1 committed"; },
                  [&](caf::error& e) { first = std::move(e); });
        self->request(led, caf::infinite, commit_atom::value, p2)
            .then([&](const batch_outcome& o) { second = o; },
                  [](caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
      },
      0);
  f.sched().run();
  EXPECT_EQ(code_of(first), ec::storage_failure);
  EXPECT_NE(message_of(first).find("Input/output error"), std::string::npos) << message_of(first);
  ASSERT_TRUE(second);
  EXPECT_NE(second->refused.find("cursor fence"), std::string::npos) << second->refused;
  EXPECT_EQ(f.store().stats()->pages, 0u);
  EXPECT_FALSE(*f.store().checkpoint("src"));
  caf::anon_send(led, stop_atom::value);
  f.sched().run();
}

TEST(ledger_faults, a_retry_after_for_a_poller_that_died_binds_its_successor) {
  // Page 1 arrives and the page after it is asked for at once (read ahead); page 1's commit fails,
  // so the poller dies; then the DSP answers the read-ahead request: 429, Retry-After 20. Nobody
  // reads that answer, but the restarted poller must wait the 20 s all the same.
  sim_fixture f;
  auto rec = small_recording("polite", 300, 3);
  auto& dsp = f.add_dsp("polite", pages_of(rec));
  dsp.fault = [](const http_request&, std::size_t ordinal) -> std::optional<http_response> {
    if (ordinal != 2) return std::nullopt;
    http_response r;
    r.status = 429;
    r.headers.emplace_back("Retry-After", "20");
    return r;
  };
  auto failed_once = std::make_shared<bool>(false);
  f.store().set_commit_fault([failed_once] { return std::exchange(*failed_once, true) ? MDB_SUCCESS : EIO; });
  engine_config cfg;
  cfg.endpoints.push_back(rec.endpoint);
  f.start(cfg, true);
  ASSERT_TRUE(f.run_until([&] { return all_in(f, {rec}, {"caught_up"}); }));
  ASSERT_TRUE(*failed_once);
  EXPECT_EQ(f.status_of("polite")->restarts, 1u);
  const auto& log = dsp.log;
  ASSERT_GT(log.size(), 3u);
  EXPECT_EQ(log[1].status, 429);
  EXPECT_GE(log[2].at - log[1].at, 20s)
      << "asked again " << std::chrono::duration<double>(log[2].at - log[1].at).count()
      << " s after a Retry-After of 20 s";
  expect_planted_counts(f, rec);
}

}  // namespace
}  // namespace dspsync::test
