// The ledger's lifecycle on LMDB: catalog versions and history, reconciliation decisions that move
// only the state byte, pending records revisited after a catalog fix, drift stored once with both
// values, settlement (exact splits, settle twice changes nothing, late records and restatements as
// adjustments in the next open period, settled rows byte-identical).

#include <gtest/gtest.h>
#include <lmdb.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "domain/idempotency.hpp"
#include "domain/reconcile.hpp"
#include "storage/catalog_store.hpp"
#include "storage/ledger_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace dspsync {
namespace {

constexpr int64_t pct = money::one;

/// Every key and value of one named database, read straight from LMDB (the store must be closed).
std::map<std::string, std::string> raw_db(const std::string& dir, const char* name) {
  std::map<std::string, std::string> out;
  MDB_env* env = nullptr;
  mdb_env_create(&env);
  mdb_env_set_maxdbs(env, 64);
  if (mdb_env_open(env, dir.c_str(), MDB_RDONLY | MDB_NOTLS, 0600) != 0) {
    ADD_FAILURE() << "cannot open " << dir;
    mdb_env_close(env);
    return out;
  }
  MDB_txn* txn = nullptr;
  mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn);
  MDB_dbi dbi = 0;
  if (mdb_dbi_open(txn, name, 0, &dbi) == 0) {
    MDB_cursor* c = nullptr;
    mdb_cursor_open(txn, dbi, &c);
    MDB_val k, v;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
      out.emplace(std::string(static_cast<char*>(k.mv_data), k.mv_size),
                  std::string(static_cast<char*>(v.mv_data), v.mv_size));
    mdb_cursor_close(c);
  }
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return out;
}

royalty_record make_record(const std::string& isrc, const std::string& txn, const std::string& territory,
                           const std::string& period, int64_t revenue_units,
                           const std::string& currency = "EUR") {
  royalty_record r;
  r.isrc = isrc;
  r.upc = "0036000291452";
  r.dsp = "spotify";
  r.territory = territory;
  r.territory_raw = territory;
  r.reporting_period = period;
  r.transaction_id = txn;
  r.currency = currency;
  r.title = "Midnight Echoes";
  r.artists = {"Nova Lane"};
  r.units = 1000;
  r.revenue = money::from_units(revenue_units);
  return r;
}

recording_entry recording(const std::string& isrc, const std::string& iswc,
                          const std::string& label = "Label A") {
  recording_entry r;
  r.isrc = isrc;
  r.title = "Midnight Echoes";
  r.artists = {"Nova Lane"};
  r.upc = "0036000291452";
  r.iswc = iswc;
  r.master = {{label, "label", right_type::master, "", 80 * pct},
              {"Nova Lane", "artist", right_type::master, "", 20 * pct}};
  return r;
}

work_entry work(const std::string& iswc) {
  work_entry w;
  w.iswc = iswc;
  w.title = "Midnight Echoes";
  for (auto right : {right_type::mechanical, right_type::performance}) {
    w.shares.push_back({"Jane Writer", "writer", right, "", 50 * pct});
    w.shares.push_back({"Echo Publishing", "publisher", right, "", 50 * pct});
  }
  return w;
}

const std::string isrc_a = "USRC17607839";
const std::string isrc_b = "GBAYE0601498";
const std::string iswc_a = "T-034.524.680-1";

class lifecycle : public ::testing::Test {
 protected:
  void SetUp() override { open(); }

  void open() {
    ledger_options o;
    o.dir = dir_.path();
    o.map_size_mib = 64;
    auto s = ledger_store::open(o);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  void close() { store_.reset(); }

  /// Commits records as one page of source "src" (state validated, or pending with a fault).
  void ingest(const std::vector<royalty_record>& recs, record_state state = record_state::validated) {
    key_deriver keys(
        std::vector<std::string>{"isrc", "upc", "dsp", "reporting_period", "transaction_id", "currency"});
    ingest_batch b;
    b.source = "src";
    b.request = "GET /page" + std::to_string(page_);
    b.body = "{}";
    b.cursor_before = page_ == 0 ? "" : std::to_string(page_);
    b.cursor_after = std::to_string(++page_);
    b.records_in = recs.size();
    for (std::size_t i = 0; i < recs.size(); ++i) {
      keyed_record kr;
      kr.key = keys.key(recs[i]);
      kr.state = state;
      kr.position = i;
      kr.record = recs[i];
      if (state == record_state::pending_reconciliation) kr.faults = "upc: bad check digit";
      b.records.push_back(kr);
    }
    auto out = store_->commit({&b});
    ASSERT_TRUE(out) << out.error().message;
    ASSERT_TRUE((*out)[0].refused.empty()) << (*out)[0].refused;
  }

  expected<catalog_load_report> load(std::vector<recording_entry> recs, std::vector<work_entry> works) {
    catalog_data d;
    d.recordings = std::move(recs);
    d.works = std::move(works);
    return catalog_store(*store_).load(d, "test");
  }

  reconcile_summary reconcile_now() {
    catalog_store cat(*store_);
    auto data = cat.current();
    auto version = cat.version();
    EXPECT_TRUE(data && version);
    catalog_index index(data->recordings, data->works, *version);
    auto s =
        store_->reconcile([&](const stored_record& r) { return dspsync::reconcile(r.record, index, {}); },
                          *version, 2);  // tiny batches: the chunking is exercised too
    EXPECT_TRUE(s) << s.error().message;
    return s ? *s : reconcile_summary{};
  }

  expected<settle_summary> settle(const std::string& period) {
    fx_table fx;
    return store_->settle(period, [&](const settle_input& in) {
      return split_revenue(in.gross, in.record->record.currency, in.record->record.territory, *in.recording,
                           in.work, pool_split{}, {}, fx);
    });
  }

  std::map<uint64_t, stored_record> records() {
    std::map<uint64_t, stored_record> out;
    EXPECT_TRUE(store_->for_each_record([&](const stored_record& r) { out[r.seq] = r; }));
    return out;
  }

  std::vector<settled_entry> entries(const std::string& period) {
    std::vector<settled_entry> out;
    EXPECT_TRUE(store_->for_each_settlement(period, [&](const settled_entry& e) { out.push_back(e); }));
    return out;
  }

  test::temp_dir dir_;
  std::unique_ptr<ledger_store> store_;
  int page_ = 0;
};

TEST_F(lifecycle, a_catalog_load_makes_a_version_and_keeps_the_history) {
  auto v1 = load({recording(isrc_a, iswc_a)}, {work(iswc_a)});
  ASSERT_TRUE(v1) << v1.error().message;
  EXPECT_TRUE(v1->changed);
  EXPECT_EQ(v1->info.version, 1u);
  EXPECT_EQ(v1->info.recordings_added, 1u);
  // The same catalog again: nothing new, no version.
  auto again = load({recording(isrc_a, iswc_a)}, {work(iswc_a)});
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->info.version, 1u);
  // A changed title and a reassigned label.
  auto changed = recording(isrc_a, iswc_a, "Label B");
  changed.title = "Midnight Echoes (2026 Mix)";
  auto v2 = load({changed}, {});
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->info.version, 2u);
  EXPECT_EQ(v2->info.recordings_changed, 1u);
  ASSERT_EQ(v2->changes.size(), 2u);
  EXPECT_EQ(v2->changes[0],
            "changed recording USRC17607839: title: \"Midnight Echoes\" -> \"Midnight Echoes (2026 Mix)\"");
  ASSERT_EQ(v2->reassignments.size(), 1u);

  catalog_store cat(*store_);
  auto history = cat.recording_history(isrc_a);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].title, "Midnight Echoes");
  EXPECT_EQ((*history)[0].catalog_version, 1u);
  EXPECT_EQ((*history)[1].title, "Midnight Echoes (2026 Mix)");
  EXPECT_EQ((*history)[1].master[0].holder, "Label B");
  auto current = cat.current();
  ASSERT_TRUE(current);
  ASSERT_EQ(current->recordings.size(), 1u);
  EXPECT_EQ(current->recordings[0].catalog_version, 2u);
  EXPECT_EQ(current->works.size(), 1u);  // absent from the second load: kept, never deleted
  auto versions = cat.versions();
  ASSERT_TRUE(versions);
  EXPECT_EQ(versions->size(), 2u);

  // The reassignment is a drift event with both values.
  std::vector<drift_event> drift;
  ASSERT_TRUE(store_->for_each_drift([&](const stored_drift& d) { drift.push_back(d.event); }));
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0].kind, drift_kind::rights_reassignment);
  EXPECT_EQ(drift[0].subject, isrc_a);
  EXPECT_NE(drift[0].reference_value.find("Label A (label) master=80%"), std::string::npos);
  EXPECT_NE(drift[0].observed_value.find("Label B (label) master=80%"), std::string::npos);
  EXPECT_EQ(drift[0].catalog_version, 2u);
}

TEST_F(lifecycle, a_load_listing_an_isrc_twice_stores_nothing) {
  auto twice = load({recording(isrc_a, iswc_a), recording(isrc_a, iswc_a)}, {});
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("recording USRC17607839"), std::string::npos);
  EXPECT_EQ(*catalog_store(*store_).version(), 0u);
}

TEST_F(lifecycle, reconciling_rewrites_only_the_state_byte_and_stores_the_decision) {
  ASSERT_TRUE(load({recording(isrc_a, iswc_a)}, {work(iswc_a)}));
  auto unknown = make_record(isrc_b, "t2", "DE", "2026-10", 7);
  unknown.title = "Paper Roads";
  unknown.artists = {"Yuna"};
  ingest({make_record(isrc_a, "t1", "DE", "2026-10", 400'000'000), unknown});
  close();
  const auto before = raw_db(dir_.path(), "records");
  open();
  auto s = reconcile_now();
  EXPECT_EQ(s.decided, 2u);
  EXPECT_EQ(s.reconciled, 1u);
  EXPECT_EQ(s.pending, 1u);
  EXPECT_EQ(s.pending_by_reason["unknown_isrc"], 1u);
  close();
  const auto after = raw_db(dir_.path(), "records");
  open();
  ASSERT_EQ(before.size(), after.size());
  for (const auto& [k, v] : before) {
    const auto& w = after.at(k);
    ASSERT_EQ(v.size(), w.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i != 1) {
        ASSERT_EQ(v[i], w[i]) << "byte " << i << " changed";
      }
    }
  }
  auto recs = records();
  EXPECT_EQ(recs[1].state, record_state::reconciled);
  EXPECT_EQ(recs[2].state, record_state::pending_reconciliation);
  auto d = store_->decision(2);
  ASSERT_TRUE(d && *d);
  EXPECT_EQ((*d)->decision.reason, pending_reason::unknown_isrc);
  // Nothing new to decide: a second run changes nothing.
  EXPECT_EQ(reconcile_now().decided, 0u);
  // The audit log names the run.
  auto verified = store_->verify_audit();
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->first_broken_seq, 0u);
}

TEST_F(lifecycle, pending_records_are_revisited_when_the_catalog_is_fixed) {
  auto incomplete = work(iswc_a);
  incomplete.shares.push_back({"Echo Publishing", "publisher", right_type::performance, "DE", 4'750'000'000});
  incomplete.shares.push_back({"Jane Writer", "writer", right_type::performance, "DE", 50 * pct});
  ASSERT_TRUE(load({recording(isrc_a, iswc_a)}, {incomplete}));
  auto unknown = make_record(isrc_b, "t3", "DE", "2026-10", 100);
  unknown.title = "Paper Roads";
  unknown.artists = {"Yuna"};
  ingest({make_record(isrc_a, "t1", "DE", "2026-10", 100), make_record(isrc_a, "t2", "FR", "2026-10", 100),
          unknown});
  // A validation fault waits too, but no catalog can fix it.
  ingest({make_record(isrc_a, "t4", "DE", "2026-10", 100)}, record_state::pending_reconciliation);
  auto first = reconcile_now();
  EXPECT_EQ(first.reconciled, 1u);  // FR uses the default lines
  EXPECT_EQ(first.pending_by_reason["performance_shares_incomplete"], 1u);
  EXPECT_EQ(first.pending_by_reason["unknown_isrc"], 1u);
  auto d = store_->decision(1);
  ASSERT_TRUE(d && *d);
  EXPECT_EQ((*d)->decision.message,
            "publishing (performance) shares of T-034.524.680-1 sum to 97.5% in DE (expected 100%)");

  // The registry completes the German lines and adds the unknown recording.
  auto fixed = work(iswc_a);
  fixed.shares.push_back({"Echo Publishing", "publisher", right_type::performance, "DE", 50 * pct});
  fixed.shares.push_back({"Jane Writer", "writer", right_type::performance, "DE", 50 * pct});
  ASSERT_TRUE(load({recording(isrc_a, iswc_a), recording(isrc_b, iswc_a)}, {fixed}));
  auto second = reconcile_now();
  EXPECT_EQ(second.revisited, 2u);
  EXPECT_EQ(second.released, 2u);
  EXPECT_EQ(second.pending, 0u);
  auto recs = records();
  EXPECT_EQ(recs[1].state, record_state::reconciled);
  EXPECT_EQ(recs[3].state, record_state::reconciled);
  EXPECT_EQ(recs[4].state, record_state::pending_reconciliation);  // the validation fault stays
  EXPECT_FALSE(*store_->decision(4));
}

TEST_F(lifecycle, record_drift_is_stored_once_with_both_values) {
  auto r = recording(isrc_a, iswc_a);
  r.upc = "0012345678905";
  ASSERT_TRUE(load({r}, {work(iswc_a)}));
  std::vector<royalty_record> recs;
  for (int i = 0; i < 5; ++i)
    recs.push_back(make_record(isrc_a, "t" + std::to_string(i), "DE", "2026-10", 100));
  recs[0].title = "Midnight Echoes Forever";
  recs[1].title = "Midnight Echoes Forever";
  recs.push_back(make_record(isrc_b, "reissue", "DE", "2026-10", 100));  // unknown ISRC, same track
  ingest(recs);
  auto s = reconcile_now();
  EXPECT_EQ(s.fuzzy_applied, 1u);
  EXPECT_EQ(s.drift_events, 3u);  // UPC mismatch, title change, reissue: each once, however many rows
  std::map<drift_kind, drift_event> seen;
  ASSERT_TRUE(store_->for_each_drift([&](const stored_drift& d) { seen[d.event.kind] = d.event; }));
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[drift_kind::isrc_reissue].reference_value, isrc_a);
  EXPECT_EQ(seen[drift_kind::isrc_reissue].observed_value, isrc_b);
  EXPECT_EQ(seen[drift_kind::upc_mismatch].reference_value, "0012345678905");
  EXPECT_EQ(seen[drift_kind::upc_mismatch].observed_value, "0036000291452");
  EXPECT_EQ(seen[drift_kind::title_change].reference_value, "Midnight Echoes");
  EXPECT_EQ(seen[drift_kind::title_change].observed_value, "Midnight Echoes Forever");
  EXPECT_TRUE(seen[drift_kind::title_change].record.has_value());
}

TEST_F(lifecycle, revenue_outliers_are_flagged_per_group_with_the_median) {
  ASSERT_TRUE(load({recording(isrc_a, iswc_a)}, {work(iswc_a)}));
  std::vector<royalty_record> recs;
  for (int i = 0; i < 12; ++i)
    recs.push_back(
        make_record(isrc_a, "t" + std::to_string(i), "DE", "2026-10", 400'000'000 + i * 1'000'000));
  recs.push_back(make_record(isrc_a, "big", "DE", "2026-10", 4'000'000'000));  // ten times the rate
  ingest(recs);
  auto found = store_->detect_revenue_outliers({});
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(*found, 1u);
  EXPECT_EQ(*store_->detect_revenue_outliers({}), 0u);  // stored once
  std::vector<drift_event> drift;
  ASSERT_TRUE(store_->for_each_drift([&](const stored_drift& d) { drift.push_back(d.event); }));
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0].kind, drift_kind::revenue_outlier);
  EXPECT_EQ(drift[0].subject, "spotify/DE/2026-10/EUR");
  EXPECT_EQ(drift[0].observed_value, "0.04 per unit");
  EXPECT_NE(drift[0].reference_value.find("median 0.00406 per unit"), std::string::npos)
      << drift[0].reference_value;
}

TEST_F(lifecycle, settling_splits_exactly_and_settling_twice_changes_nothing) {
  ASSERT_TRUE(load({recording(isrc_a, iswc_a)}, {work(iswc_a)}));
  auto unknown = make_record(isrc_b, "t4", "DE", "2026-10", 9);
  unknown.title = "Paper Roads";
  unknown.artists = {"Yuna"};
  ingest({make_record(isrc_a, "t1", "DE", "2026-10", 100'000'001),
          make_record(isrc_a, "t2", "DE", "2026-10", -3), make_record(isrc_a, "t3", "DE", "2026-11", 5),
          unknown});
  reconcile_now();
  auto s = settle("2026-10");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_FALSE(s->already_settled);
  EXPECT_EQ(s->info.regular, 2u);
  EXPECT_EQ(s->info.adjustments, 0u);
  EXPECT_EQ(s->info.left_pending, 1u);
  EXPECT_EQ(s->info.gross_by_currency["EUR"], money::from_units(100'000'001 - 3));
  auto settled = entries("2026-10");
  ASSERT_EQ(settled.size(), 2u);
  for (const auto& e : settled) {
    int64_t sum = 0;
    for (const auto& l : e.lines) sum += l.net.units();
    EXPECT_EQ(sum, e.gross.units());
    EXPECT_EQ(e.lines.size(), 6u);  // label, artist; writer, publisher for both publishing rights
  }
  auto recs = records();
  EXPECT_EQ(recs[1].state, record_state::settled);
  EXPECT_EQ(recs[3].state, record_state::reconciled);  // another period
  auto verified = store_->verify_audit();
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->first_broken_seq, 0u) << verified->detail;

  close();
  const auto settlements_before = raw_db(dir_.path(), "settlements");
  const auto records_before = raw_db(dir_.path(), "records");
  const auto audit_before = raw_db(dir_.path(), "audit");
  open();
  auto again = settle("2026-10");
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->already_settled);
  EXPECT_EQ(again->info.regular, 2u);
  close();
  EXPECT_EQ(raw_db(dir_.path(), "settlements"), settlements_before);
  EXPECT_EQ(raw_db(dir_.path(), "records"), records_before);
  EXPECT_EQ(raw_db(dir_.path(), "audit"), audit_before);
  open();
}

TEST_F(lifecycle, late_and_restated_records_become_adjustments_in_the_next_open_period) {
  ASSERT_TRUE(load({recording(isrc_a, iswc_a)}, {work(iswc_a)}));
  ingest({make_record(isrc_a, "t1", "DE", "2026-10", 1'000)});
  reconcile_now();
  ASSERT_TRUE(settle("2026-10"));
  close();
  const auto settled_before = raw_db(dir_.path(), "settlements");
  open();

  // After the period was settled: a late record and a restatement of the settled one.
  auto restated = make_record(isrc_a, "t1", "DE", "2026-10", 1'250);
  restated.units = 1100;
  ingest({make_record(isrc_a, "late", "DE", "2026-10", 70), restated});
  ingest({make_record(isrc_a, "nov", "DE", "2026-11", 30)});
  reconcile_now();
  // Settling 2026-10 again changes nothing: they wait for the next open period.
  auto again = settle("2026-10");
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->already_settled);
  auto nov = settle("2026-11");
  ASSERT_TRUE(nov) << nov.error().message;
  EXPECT_EQ(nov->info.regular, 1u);
  EXPECT_EQ(nov->info.adjustments, 2u);
  EXPECT_EQ(nov->info.gross_by_currency["EUR"], money::from_units(30 + 70 + 250));
  std::map<std::string, settled_entry> by_txn;
  for (auto& e : entries("2026-11")) by_txn[e.original_period + "/" + std::to_string(e.units)] = e;
  ASSERT_EQ(by_txn.count("2026-10/100"), 1u);  // the restatement: +100 units, +250
  EXPECT_EQ(by_txn["2026-10/100"].kind, entry_kind::adjustment);
  EXPECT_EQ(by_txn["2026-10/100"].gross, money::from_units(250));
  EXPECT_EQ(by_txn["2026-10/100"].version, 2u);
  ASSERT_EQ(by_txn.count("2026-10/1000"), 1u);  // the late record, whole
  EXPECT_EQ(by_txn["2026-10/1000"].gross, money::from_units(70));
  EXPECT_EQ(by_txn["2026-10/1000"].kind, entry_kind::adjustment);
  EXPECT_EQ(by_txn.count("2026-11/1000"), 1u);

  // What was settled in October is byte-identical: appended to, never rewritten.
  close();
  const auto settled_after = raw_db(dir_.path(), "settlements");
  for (const auto& [k, v] : settled_before) EXPECT_EQ(settled_after.at(k), v);
  EXPECT_EQ(settled_after.size(), settled_before.size() + 3);
  open();
  // The first version stays settled; its restatement is settled too.
  int settled_versions = 0;
  for (const auto& [seq, r] : records()) settled_versions += r.state == record_state::settled;
  EXPECT_EQ(settled_versions, 4);
}

TEST_F(lifecycle, a_settle_whose_lines_do_not_add_up_stores_nothing) {
  ASSERT_TRUE(load({recording(isrc_a, iswc_a)}, {work(iswc_a)}));
  ingest({make_record(isrc_a, "t1", "DE", "2026-10", 1'000)});
  reconcile_now();
  auto broken = store_->settle("2026-10", [](const settle_input& in) -> expected<std::vector<settled_line>> {
    settled_line l;
    l.holder = "Greedy";
    l.net = money::from_units(in.gross.units() + 1);
    return std::vector<settled_line>{l};
  });
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("nothing was settled"), std::string::npos);
  auto p = store_->period("2026-10");
  ASSERT_TRUE(p);
  EXPECT_FALSE(*p);
  EXPECT_EQ(records()[1].state, record_state::reconciled);
  EXPECT_FALSE(store_->settle("2026-Q4", {}));
}

}  // namespace
}  // namespace dspsync
