// The engine in-process against the replay DSP: every style, the planted counts, quarantine with raw
// bytes, restatements as versions, and a second run that counts everything as a duplicate.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <map>

#include "actors/engine.hpp"
#include "protocol/demo_catalog.hpp"
#include "protocol/log.hpp"
#include "protocol/recording.hpp"
#include "protocol/replay_server.hpp"
#include "storage/catalog_store.hpp"
#include "tests/support/file_watch.hpp"
#include "tests/support/temp_dir.hpp"

namespace dspsync::test {
namespace {

using namespace std::chrono_literals;

struct harness {
  std::vector<recording_options> options;
  std::vector<recording> recordings;
  std::unique_ptr<replay_server> server;
  engine_config cfg;
};

harness make_harness(const std::string& data_dir) {
  log_settings quiet;
  quiet.quiet = true;
  configure_log(quiet);
  harness h;
  std::vector<har_archive> hars;
  int i = 0;
  for (auto style : {pagination_style::cursor, pagination_style::offset, pagination_style::next_url,
                     pagination_style::updated_since}) {
    recording_options ro;
    ro.style = style;
    ro.records = 3000;
    ro.seed = 40 + static_cast<uint64_t>(i);
    ro.page_size = 250;
    ro.endpoint_name = std::string("e2e-") + to_string(style);
    ro.dsp = "dsp" + std::to_string(i++);
    ro.path = "/v1/" + ro.endpoint_name;
    ro.units_field = style == pagination_style::offset ? "play_count" : "streams";
    h.options.push_back(ro);
    h.recordings.push_back(generate_recording(ro));
    hars.push_back(h.recordings.back().har);
  }
  h.server = std::move(*replay_server::start(std::move(hars)));
  h.cfg.data_dir = data_dir;
  for (const auto& r : h.recordings) {
    h.cfg.endpoints.push_back(r.endpoint);
    h.cfg.endpoints.back().base_url = h.server->origin();
  }
  return h;
}

void run_to_completion(const engine_config& cfg) {
  engine_options eo;
  eo.once = true;
  auto eng = engine::start(cfg, eo);
  ASSERT_TRUE(eng) << eng.error().message;
  ASSERT_TRUE((*eng)->wait_done(120s));
  for (const auto& s : (*eng)->status()) EXPECT_EQ(s.state, "caught_up") << s.name << ": " << s.reason;
  (*eng)->stop();
}

TEST(engine, worker_count_is_one_per_core_unless_set) {
  EXPECT_EQ(worker_count(0, 0, 8), 8u);
  EXPECT_EQ(worker_count(0, 0, 2), 2u);
  EXPECT_EQ(worker_count(0, 0, 1), 2u);  // a poller and a validator can always overlap
  EXPECT_EQ(worker_count(0, 0, 0), 2u);  // cores unknown
  EXPECT_EQ(worker_count(0, 3, 8), 3u);  // pipeline.workers
  EXPECT_EQ(worker_count(5, 3, 8), 5u);  // engine_options.workers wins
}

TEST(end_to_end, every_style_ingests_exactly_the_planted_counts) {
  temp_dir dir;
  auto h = make_harness(dir.sub("data"));
  run_to_completion(h.cfg);
  ledger_options lo;
  lo.dir = h.cfg.data_dir;
  lo.read_only = true;
  auto store = std::move(*ledger_store::open(lo));
  for (const auto& r : h.recordings) {
    SCOPED_TRACE(r.endpoint.name);
    auto cp = **store->checkpoint(r.endpoint.name);
    EXPECT_EQ(cp.records_in, r.expected.records_in);
    EXPECT_EQ(cp.inserted, r.expected.unique);
    EXPECT_EQ(cp.restatements, r.expected.restatements);
    EXPECT_EQ(cp.duplicates, r.expected.duplicates);
    EXPECT_EQ(cp.quarantined, r.expected.malformed);
    EXPECT_EQ(cp.records_in, cp.inserted + cp.restatements + cp.duplicates + cp.quarantined);
  }
}

TEST(end_to_end, every_malformed_record_is_in_quarantine_with_its_raw_bytes_and_reason) {
  temp_dir dir;
  auto h = make_harness(dir.sub("data"));
  run_to_completion(h.cfg);
  ledger_options lo;
  lo.dir = h.cfg.data_dir;
  lo.read_only = true;
  auto store = std::move(*ledger_store::open(lo));
  std::map<ec, std::size_t> by_code;
  std::size_t items = 0;
  ASSERT_TRUE(store->for_each_quarantined([&](const stored_quarantine& q) {
    ++items;
    EXPECT_EQ(q.kind, "record");
    ASSERT_FALSE(q.errors.empty());
    by_code[q.errors.front().code]++;
    // The raw bytes are the record exactly as the DSP sent it: one JSON object.
    boost::json::error_code jec;
    auto v = boost::json::parse(q.raw, jec);
    EXPECT_FALSE(jec) << q.raw;
    EXPECT_TRUE(v.is_object()) << q.raw;
    EXPECT_NE(q.raw.find("tx-q"), std::string::npos) << "not one of the planted malformed rows: " << q.raw;
  }));
  std::size_t expected = 0, bad_isrc = 0, bad_currency = 0, missing = 0, broken = 0;
  for (const auto& r : h.recordings) {
    expected += r.expected.malformed;
    bad_isrc += r.expected.bad_isrc;
    bad_currency += r.expected.bad_currency;
    missing += r.expected.missing_field;
    broken += r.expected.broken_number;
  }
  EXPECT_EQ(items, expected);
  EXPECT_EQ(by_code[ec::bad_isrc], bad_isrc);
  EXPECT_EQ(by_code[ec::bad_currency], bad_currency);
  EXPECT_EQ(by_code[ec::missing_field], missing);
  EXPECT_EQ(by_code[ec::bad_number], broken);
}

TEST(end_to_end, a_restatement_is_a_new_version_not_a_duplicate_or_an_overwrite) {
  temp_dir dir;
  auto h = make_harness(dir.sub("data"));
  run_to_completion(h.cfg);
  ledger_options lo;
  lo.dir = h.cfg.data_dir;
  lo.read_only = true;
  auto store = std::move(*ledger_store::open(lo));
  std::size_t second_versions = 0;
  ASSERT_TRUE(store->for_each_record([&](const stored_record& r) {
    if (r.version < 2) return;
    ++second_versions;
    auto versions = *store->versions(r.key);
    ASSERT_GE(versions.size(), 2u);
    const auto& first = versions[0];
    const auto& second = versions[1];
    EXPECT_EQ(first.version, 1u);
    EXPECT_EQ(second.prev_seq, first.seq);
    EXPECT_EQ(first.record.transaction_id, second.record.transaction_id);
    EXPECT_NE(first.record.revenue, second.record.revenue);  // both values kept
  }));
  std::size_t restated = 0;
  for (const auto& r : h.recordings) restated += r.expected.restatements;
  EXPECT_EQ(second_versions, restated);
}

TEST(end_to_end, a_second_run_on_the_same_ledger_adds_nothing) {
  temp_dir dir;
  auto h = make_harness(dir.sub("data"));
  run_to_completion(h.cfg);
  ledger_options lo;
  lo.dir = h.cfg.data_dir;
  lo.read_only = true;
  uint64_t versions_before = 0;
  {
    auto store = std::move(*ledger_store::open(lo));
    versions_before = store->stats()->record_versions;
  }
  // A new data source name on the same ledger replays everything: all duplicates.
  auto h2 = make_harness(dir.sub("data"));
  for (auto& ep : h2.cfg.endpoints) ep.name += "-again";
  run_to_completion(h2.cfg);
  auto store = std::move(*ledger_store::open(lo));
  EXPECT_EQ(store->stats()->record_versions, versions_before);
  for (const auto& ep : h2.cfg.endpoints) {
    auto cp = **store->checkpoint(ep.name);
    EXPECT_EQ(cp.inserted, 0u) << ep.name;
    EXPECT_EQ(cp.restatements, 0u) << ep.name;
  }
}

// `run` reconciles while it ingests: with a catalog loaded, the reconciler moves what the ledger
// commits from `validated` on, sharing the LMDB writer with it; the audit chain stays whole.
TEST(end_to_end, a_running_engine_reconciles_what_lands_while_it_ingests) {
  temp_dir dir;
  auto h = make_harness(dir.sub("data"));
  {
    ledger_options lo;
    lo.dir = h.cfg.data_dir;
    auto store = ledger_store::open(lo);
    ASSERT_TRUE(store) << store.error().message;
    auto loaded = catalog_store(**store).load(make_demo_catalog(h.options).first, "test catalog");
    ASSERT_TRUE(loaded) << loaded.error().message;
  }
  h.cfg.settlement.reconcile_interval_s = 1;
  file_watch commits(h.cfg.data_dir, "data.mdb");  // every commit (ledger or reconciler) wakes us
  ASSERT_TRUE(commits.ok());
  auto eng = engine::start(h.cfg);  // a service: it keeps polling until stopped
  ASSERT_TRUE(eng) << eng.error().message;
  auto store = (*eng)->store();
  uint64_t expected_latest = 0;
  for (const auto& r : h.recordings) expected_latest += r.expected.unique;
  // Done when every planted record has a latest version and none of them is still `validated`.
  std::map<record_state, uint64_t> counts;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  for (;;) {
    auto c = store->latest_state_counts();
    ASSERT_TRUE(c) << c.error().message;
    counts = *c;
    uint64_t latest = 0;
    for (const auto& [state, n] : counts) latest += n;
    if (latest == expected_latest && counts[record_state::validated] == 0) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "still validated: " << counts[record_state::validated] << ", latest " << latest << " of "
        << expected_latest;
    commits.wait(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
  }
  (*eng)->stop();
  EXPECT_GT(counts[record_state::reconciled], 0u);
  // The demo catalog plants faults, so some records wait with a reason.
  EXPECT_GT(counts[record_state::pending_reconciliation], 0u);
  auto audit = store->verify_audit();
  ASSERT_TRUE(audit) << audit.error().message;
  EXPECT_EQ(audit->first_broken_seq, 0u) << audit->detail;
  uint64_t reconciled_entries = 0;
  ASSERT_TRUE(store->for_each_audit([&](const audit_entry& e) {
    if (e.kind == "records.reconciled") ++reconciled_entries;
  }));
  EXPECT_GT(reconciled_entries, 0u);
}

}  // namespace
}  // namespace dspsync::test
