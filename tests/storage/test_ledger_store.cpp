#include "storage/ledger_store.hpp"

#include <gtest/gtest.h>
#include <lmdb.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "domain/idempotency.hpp"
#include "storage/codec.hpp"
#include "storage/lmdb.hpp"

namespace dspsync {
namespace {

// --- fixtures ------------------------------------------------------------------------------------

/// A fresh directory under /tmp, removed with everything in it when the object goes.
class scratch_dir {
 public:
  scratch_dir() {
    char tmpl[] = "/tmp/dspsync-ledger-test-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    if (made != nullptr) path_ = made;
  }
  ~scratch_dir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::unique_ptr<ledger_store> open_store(const std::string& dir, bool read_only = false) {
  ledger_options opts;
  opts.dir = dir;
  opts.map_size_mib = 64;
  opts.read_only = read_only;
  auto s = ledger_store::open(opts);
  if (!s) ADD_FAILURE() << "open " << dir << ": " << s.error().message;
  return s ? std::move(*s) : nullptr;
}

royalty_record make_record(const std::string& isrc, const std::string& txn, int64_t revenue_units) {
  royalty_record r;
  r.isrc = isrc;
  r.upc = "0036000291452";
  r.dsp = "spotify";
  r.territory = "US";
  r.territory_raw = "USA";
  r.reporting_period = "2026-10";
  r.transaction_id = txn;
  r.currency = "USD";
  r.title = "Song " + txn;
  r.artists = {"Artist A", "Artist B"};
  r.units = 1000;
  r.revenue = money::from_units(revenue_units);
  return r;
}

keyed_record keyed(const royalty_record& r, record_state state = record_state::validated) {
  key_deriver keys(
      std::vector<std::string>{"isrc", "upc", "dsp", "reporting_period", "transaction_id", "currency"});
  keyed_record kr;
  kr.key = keys.key(r);
  kr.state = state;
  kr.record = r;
  if (state == record_state::pending_reconciliation) kr.faults = "territory: unknown";
  return kr;
}

keyed_record keyed_with(const record_key& key, const royalty_record& r) {
  keyed_record kr;
  kr.key = key;
  kr.record = r;
  return kr;
}

quarantined_item quarantine_item(const std::string& source, const std::string& raw, uint64_t position) {
  key_deriver keys(std::vector<std::string>{"isrc"});
  quarantined_item q;
  q.key = keys.quarantine_key(source, raw);
  q.position = position;
  q.raw = raw;
  q.errors = {failure{ec::bad_isrc, "isrc: expected 12 characters, got \"X\""},
              failure{ec::missing_field, "currency: required field is missing or empty"}};
  return q;
}

ingest_batch make_batch(const std::string& source, const std::string& before, const std::string& after,
                        std::vector<keyed_record> records, std::vector<quarantined_item> quarantined = {}) {
  ingest_batch b;
  b.source = source;
  b.request = "GET /v1/streams?cursor=" + before;
  b.correlation_id = "corr-" + source + "-" + after;
  b.body = "{\"data\":[],\"next_cursor\":\"" + after + "\"}";
  b.body_sha256 = to_hex(sha256::digest(b.body));
  b.fetched_at_ms = 1'790'000'000'000;
  b.cursor_before = before;
  b.cursor_after = after;
  b.records = std::move(records);
  b.quarantined = std::move(quarantined);
  b.records_in = b.records.size() + b.quarantined.size();
  return b;
}

std::vector<batch_outcome> commit(ledger_store& store, const std::vector<const ingest_batch*>& batches) {
  auto out = store.commit(batches);
  if (!out) {
    ADD_FAILURE() << "commit: " << out.error().message;
    return {};
  }
  EXPECT_EQ(out->size(), batches.size());
  return *out;
}

batch_outcome commit_one(ledger_store& store, const ingest_batch& b) {
  auto out = commit(store, {&b});
  return out.empty() ? batch_outcome{} : out.front();
}

ledger_stats stats_of(const ledger_store& store) {
  auto s = store.stats();
  if (!s) ADD_FAILURE() << s.error().message;
  return s ? *s : ledger_stats{};
}

source_checkpoint checkpoint_of(const ledger_store& store, const std::string& source) {
  auto cp = store.checkpoint(source);
  if (!cp || !cp->has_value()) {
    ADD_FAILURE() << "no checkpoint for " << source;
    return {};
  }
  return **cp;
}

/// Up to `n` records of `all` from `from` on (one page's worth).
std::vector<keyed_record> slice(const std::vector<keyed_record>& all, std::size_t from, std::size_t n) {
  const auto first = all.begin() + static_cast<long>(std::min(all.size(), from));
  return {first, all.begin() + static_cast<long>(std::min(all.size(), from + n))};
}

/// `n` validated records with distinct keys: record i has ISRC `isrc_stem` + (`first` + i),
/// transaction id `txn_stem` + i and `units` + i units.
std::vector<keyed_record> numbered_records(const std::string& isrc_stem, int first, int n,
                                           const std::string& txn_stem, int64_t units) {
  std::vector<keyed_record> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    out.push_back(
        keyed(make_record(isrc_stem + std::to_string(first + i), txn_stem + std::to_string(i), units + i)));
  return out;
}

/// Pages of source "s" committed one after another, each fetched at the cursor the one before it
/// ended at (`prefix`1, `prefix`2, ...).
class page_chain {
 public:
  explicit page_chain(std::string prefix) : prefix(std::move(prefix)) {}
  batch_outcome commit(ledger_store& store, const std::vector<keyed_record>& records) {
    const std::string next = prefix + std::to_string(++page);
    auto o = commit_one(store, make_batch("s", cursor, next, records));
    cursor = next;
    return o;
  }
  /// The next page, not committed: `commit` of the same records makes the same page again.
  ingest_batch next(const std::vector<keyed_record>& records) const {
    return make_batch("s", cursor, prefix + std::to_string(page + 1), records);
  }

 private:
  std::string prefix;
  std::string cursor;
  int page = 0;
};

std::vector<stored_record> versions_of(const ledger_store& store, const record_key& key) {
  auto v = store.versions(key);
  if (!v) ADD_FAILURE() << v.error().message;
  return v ? *v : std::vector<stored_record>{};
}

/// The key index log's entries in `t` as the writer lays them out (values of 16-byte pairs): each
/// as (8-byte big-endian sequence, 8-byte key prefix), oldest first.
std::vector<std::pair<std::string, std::string>> log_entries_in(const lmdb::txn& t) {
  std::vector<std::pair<std::string, std::string>> out;
  lmdb::cursor c(t, lmdb::open_db(t, "keys_log", 0));
  std::string_view k, v;
  for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT))
    for (std::size_t at = 0; at < v.size(); at += 16)
      out.emplace_back(std::string(v.substr(at, 8)), std::string(v.substr(at + 8, 8)));
  return out;
}

std::vector<stored_record> all_records(const ledger_store& store) {
  std::vector<stored_record> out;
  auto st = store.for_each_record([&](const stored_record& r) { out.push_back(r); });
  if (!st) ADD_FAILURE() << st.error().message;
  return out;
}

std::vector<stored_quarantine> all_quarantined(const ledger_store& store) {
  std::vector<stored_quarantine> out;
  auto st = store.for_each_quarantined([&](const stored_quarantine& q) { out.push_back(q); });
  if (!st) ADD_FAILURE() << st.error().message;
  return out;
}

void expect_same_stats(const ledger_stats& a, const ledger_stats& b) {
  EXPECT_EQ(a.pages, b.pages);
  EXPECT_EQ(a.record_versions, b.record_versions);
  EXPECT_EQ(a.quarantined, b.quarantined);
  EXPECT_EQ(a.audit_entries, b.audit_entries);
}

// --- commit and reopen ---------------------------------------------------------------------------

TEST(ledger_store, commit_and_reopen_keeps_everything_and_sequences_continue) {
  scratch_dir dir;
  auto r1 = keyed(make_record("USRC17607839", "t1", 100));
  auto r2 = keyed(make_record("USRC17607839", "t2", 200), record_state::pending_reconciliation);
  auto r3 = keyed(make_record("GBAYE0601498", "t3", -300));
  auto b1 = make_batch("spotify", "", "c1", {r1, r2});
  auto b2 = make_batch("spotify", "c1", "c2", {r3}, {quarantine_item("spotify", "{\"isrc\":\"X\"}", 1)});
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    auto o1 = commit_one(*store, b1);
    auto o2 = commit_one(*store, b2);
    EXPECT_EQ(o1.page_seq, 1u);
    EXPECT_EQ(o2.page_seq, 2u);
    EXPECT_EQ(o1.inserted, 2u);
    EXPECT_EQ(o1.pending, 1u);
    EXPECT_EQ(o2.inserted, 1u);
    EXPECT_EQ(o2.quarantined, 1u);
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto st = stats_of(*store);
  EXPECT_EQ(st.pages, 2u);
  EXPECT_EQ(st.record_versions, 3u);
  EXPECT_EQ(st.quarantined, 1u);
  EXPECT_EQ(st.audit_entries, 2u);
  auto cp = checkpoint_of(*store, "spotify");
  EXPECT_EQ(cp.cursor, "c2");
  EXPECT_EQ(cp.pages, 2u);
  EXPECT_EQ(cp.inserted, 3u);

  auto p1 = store->page(1);
  ASSERT_TRUE(p1);
  ASSERT_TRUE(p1->has_value());
  EXPECT_EQ((*p1)->body, b1.body);
  EXPECT_EQ((*p1)->request, b1.request);
  EXPECT_EQ((*p1)->correlation_id, b1.correlation_id);
  EXPECT_EQ((*p1)->body_sha256, b1.body_sha256);
  EXPECT_EQ((*p1)->cursor_before, "");
  EXPECT_EQ((*p1)->cursor_after, "c1");
  EXPECT_EQ((*p1)->fetched_at_ms, b1.fetched_at_ms);

  // After the reopen, the next page, record and audit entry continue the sequences.
  auto r4 = keyed(make_record("FRZ039800212", "t4", 400));
  auto b3 = make_batch("spotify", "c2", "c3", {r4});
  auto o3 = commit_one(*store, b3);
  EXPECT_EQ(o3.page_seq, 3u);
  auto recs = all_records(*store);
  ASSERT_EQ(recs.size(), 4u);
  for (std::size_t i = 0; i < recs.size(); ++i) EXPECT_EQ(recs[i].seq, i + 1);
  EXPECT_EQ(recs[3].key, r4.key);
  EXPECT_EQ(recs[3].page_seq, 3u);
  EXPECT_EQ(recs[3].record, r4.record);
  EXPECT_EQ(recs[1].state, record_state::pending_reconciliation);
  EXPECT_EQ(recs[1].faults, r2.faults);
  EXPECT_EQ(recs[2].record.revenue.units(), -300);
  auto page3 = store->page(3);
  ASSERT_TRUE(page3 && page3->has_value());
  EXPECT_EQ((*page3)->body, b3.body);
  EXPECT_FALSE(store->page(4)->has_value());
  EXPECT_EQ(stats_of(*store).audit_entries, 3u);
  auto audit = store->verify_audit();
  ASSERT_TRUE(audit) << audit.error().message;
  EXPECT_EQ(audit->entries, 3u);
  EXPECT_EQ(audit->first_broken_seq, 0u) << audit->detail;
}

// --- duplicates and restatements -----------------------------------------------------------------

TEST(ledger_store, repeated_record_is_a_duplicate_across_and_within_batches) {
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto a = keyed(make_record("USRC17607839", "t1", 100));
  auto b = keyed(make_record("USRC17607839", "t2", 100));
  auto o1 = commit_one(*store, make_batch("s", "", "c1", {a}));
  EXPECT_EQ(o1.inserted, 1u);
  auto o2 = commit_one(*store, make_batch("s", "c1", "c2", {a, b, b}));
  EXPECT_EQ(o2.inserted, 1u);
  EXPECT_EQ(o2.duplicates, 2u);
  EXPECT_EQ(o2.restatements, 0u);
  EXPECT_EQ(stats_of(*store).record_versions, 2u);
  EXPECT_EQ(versions_of(*store, a.key).size(), 1u);
  EXPECT_EQ(versions_of(*store, b.key).size(), 1u);
}

TEST(ledger_store, restatement_adds_a_version_chained_to_the_previous_one) {
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto v1 = keyed(make_record("USRC17607839", "t1", 100));
  auto other = keyed(make_record("GBAYE0601498", "t9", 5));
  auto v2 = v1;
  v2.record.revenue = money::from_units(150);
  v2.record.title = "Song (restated)";
  ASSERT_EQ(v1.key, v2.key);
  commit_one(*store, make_batch("s", "", "c1", {v1, other}));
  auto o = commit_one(*store, make_batch("s", "c1", "c2", {v2}));
  EXPECT_EQ(o.restatements, 1u);
  EXPECT_EQ(o.inserted, 0u);
  EXPECT_EQ(o.duplicates, 0u);

  auto vs = versions_of(*store, v1.key);
  ASSERT_EQ(vs.size(), 2u);
  EXPECT_EQ(vs[0].version, 1u);
  EXPECT_EQ(vs[0].prev_seq, 0u);
  EXPECT_EQ(vs[0].record, v1.record);
  EXPECT_EQ(vs[0].page_seq, 1u);
  EXPECT_EQ(vs[1].version, 2u);
  EXPECT_EQ(vs[1].prev_seq, vs[0].seq);
  EXPECT_EQ(vs[1].seq, 3u);
  EXPECT_EQ(vs[1].record, v2.record);
  EXPECT_EQ(vs[1].record.revenue.units(), 150);
  EXPECT_EQ(vs[1].page_seq, 2u);

  // The restated version is now the one a repeat is compared with; a third value makes version 3.
  auto o3 = commit_one(*store, make_batch("s", "c2", "c3", {v2}));
  EXPECT_EQ(o3.duplicates, 1u);
  auto v3 = v2;
  v3.record.units = 7;
  auto o4 = commit_one(*store, make_batch("s", "c3", "c4", {v3}));
  EXPECT_EQ(o4.restatements, 1u);
  vs = versions_of(*store, v1.key);
  ASSERT_EQ(vs.size(), 3u);
  EXPECT_EQ(vs[2].version, 3u);
  EXPECT_EQ(vs[2].prev_seq, vs[1].seq);
  EXPECT_EQ(vs[2].record.units, 7);
  EXPECT_EQ(versions_of(*store, other.key).size(), 1u);
  EXPECT_EQ(stats_of(*store).record_versions, 4u);
}

TEST(ledger_store, versions_of_an_unknown_key_is_empty) {
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  commit_one(*store, make_batch("s", "", "c1", {keyed(make_record("USRC17607839", "t1", 1))}));
  EXPECT_TRUE(versions_of(*store, keyed(make_record("USRC17607839", "zz", 1)).key).empty());
}

// --- cursor fence --------------------------------------------------------------------------------

TEST(ledger_store, cursor_fence_refuses_a_stale_batch_and_leaves_no_trace) {
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  commit_one(*store, make_batch("s", "", "c1", {keyed(make_record("USRC17607839", "t1", 1))}));
  const auto before = stats_of(*store);
  const auto cp_before = checkpoint_of(*store, "s");

  // Alone: refused, nothing changes (no page, record, quarantine, audit entry or checkpoint).
  auto stale_rec = keyed(make_record("USRC17607839", "stale", 9));
  auto stale = make_batch("s", "", "c1", {stale_rec}, {quarantine_item("s", "stale raw", 1)});
  auto refused = commit_one(*store, stale);
  EXPECT_FALSE(refused.refused.empty());
  EXPECT_NE(refused.refused.find("c1"), std::string::npos) << refused.refused;
  EXPECT_EQ(refused.page_seq, 0u);
  EXPECT_EQ(refused.inserted + refused.duplicates + refused.quarantined, 0u);
  expect_same_stats(stats_of(*store), before);
  auto cp = checkpoint_of(*store, "s");
  EXPECT_EQ(cp.cursor, cp_before.cursor);
  EXPECT_EQ(cp.pages, cp_before.pages);
  EXPECT_EQ(cp.records_in, cp_before.records_in);
  EXPECT_TRUE(versions_of(*store, stale_rec.key).empty());
  EXPECT_TRUE(all_quarantined(*store).empty());

  // Mixed with good batches in one commit call: only the stale one is refused.
  auto other_rec = keyed(make_record("GBAYE0601498", "o1", 2));
  auto next_rec = keyed(make_record("USRC17607839", "t2", 3));
  auto other = make_batch("other", "", "o1", {other_rec});
  auto next = make_batch("s", "c1", "c2", {next_rec});
  auto again = make_batch("s", "c1", "c2", {next_rec});  // the same page twice: second is stale
  auto outs = commit(*store, {&stale, &other, &next, &again});
  ASSERT_EQ(outs.size(), 4u);
  EXPECT_FALSE(outs[0].refused.empty());
  EXPECT_TRUE(outs[1].refused.empty()) << outs[1].refused;
  EXPECT_TRUE(outs[2].refused.empty()) << outs[2].refused;
  EXPECT_FALSE(outs[3].refused.empty());
  EXPECT_EQ(outs[1].page_seq, before.pages + 1);
  EXPECT_EQ(outs[2].page_seq, before.pages + 2);
  auto after = stats_of(*store);
  EXPECT_EQ(after.pages, before.pages + 2);
  EXPECT_EQ(after.record_versions, before.record_versions + 2);
  EXPECT_EQ(after.quarantined, 0u);
  EXPECT_EQ(after.audit_entries, before.audit_entries + 2);
  EXPECT_TRUE(versions_of(*store, stale_rec.key).empty());
  EXPECT_EQ(versions_of(*store, other_rec.key).size(), 1u);
  EXPECT_EQ(checkpoint_of(*store, "s").cursor, "c2");
  EXPECT_EQ(checkpoint_of(*store, "s").pages, 2u);
  EXPECT_EQ(checkpoint_of(*store, "other").cursor, "o1");
  auto audit = store->verify_audit();
  ASSERT_TRUE(audit);
  EXPECT_EQ(audit->entries, after.audit_entries);
  EXPECT_EQ(audit->first_broken_seq, 0u);
}

TEST(ledger_store, set_cursor_moves_the_fence_and_is_audited) {
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  commit_one(*store, make_batch("s", "", "c1", {keyed(make_record("USRC17607839", "t1", 1))}));
  ASSERT_TRUE(store->set_cursor("s", "c9", "operator"));
  auto cp = checkpoint_of(*store, "s");
  EXPECT_EQ(cp.cursor, "c9");
  EXPECT_EQ(cp.pages, 1u);
  EXPECT_EQ(cp.inserted, 1u);
  EXPECT_FALSE(commit_one(*store, make_batch("s", "c1", "c2", {})).refused.empty());
  EXPECT_TRUE(commit_one(*store, make_batch("s", "c9", "c10", {})).refused.empty());
  EXPECT_EQ(stats_of(*store).audit_entries, 3u);
  auto audit = store->verify_audit();
  ASSERT_TRUE(audit);
  EXPECT_EQ(audit->entries, 3u);
  EXPECT_EQ(audit->first_broken_seq, 0u);
}

// --- quarantine ----------------------------------------------------------------------------------

TEST(ledger_store, quarantined_items_keep_raw_bytes_and_errors_and_repeats_are_duplicates) {
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  using namespace std::string_literals;
  const std::string raw1 = "{\"isrc\": \"bad\", \"x\": \"caf\xc3\xa9\\u0000\"}\n\t"s;
  const std::string raw2 = "binary\0bytes\xff"s;
  auto q1 = quarantine_item("s", raw1, 3);
  auto q2 = quarantine_item("s", raw2, 4);
  ASSERT_NE(q1.key, q2.key);
  auto b1 = make_batch("s", "", "c1", {}, {q1, q2});
  auto o1 = commit_one(*store, b1);
  EXPECT_EQ(o1.quarantined, 2u);
  EXPECT_EQ(o1.duplicates, 0u);

  auto items = all_quarantined(*store);
  ASSERT_EQ(items.size(), 2u);
  std::map<std::string, stored_quarantine> by_raw;
  for (const auto& q : items) by_raw[q.raw] = q;
  ASSERT_EQ(by_raw.count(raw1), 1u);
  ASSERT_EQ(by_raw.count(raw2), 1u);
  const auto& s1 = by_raw[raw1];
  EXPECT_EQ(s1.key, q1.key);
  EXPECT_EQ(s1.kind, "record");
  EXPECT_EQ(s1.source, "s");
  EXPECT_EQ(s1.request, b1.request);
  EXPECT_EQ(s1.position, 3u);
  ASSERT_EQ(s1.errors.size(), 2u);
  EXPECT_EQ(s1.errors[0].code, ec::bad_isrc);
  EXPECT_EQ(s1.errors[0].message, q1.errors[0].message);
  EXPECT_EQ(s1.errors[1].code, ec::missing_field);
  EXPECT_EQ(s1.errors[1].message, q1.errors[1].message);
  EXPECT_EQ(by_raw[raw2].position, 4u);

  // The same item again (next page, or twice in one page) is counted once, as a duplicate.
  auto o2 = commit_one(*store, make_batch("s", "c1", "c2", {}, {q1, q2, q2}));
  EXPECT_EQ(o2.quarantined, 0u);
  EXPECT_EQ(o2.duplicates, 3u);
  auto q3 = quarantine_item("s", "new raw", 0);
  auto o3 = commit_one(*store, make_batch("s", "c2", "c3", {}, {q3, q3}));
  EXPECT_EQ(o3.quarantined, 1u);
  EXPECT_EQ(o3.duplicates, 1u);
  EXPECT_EQ(stats_of(*store).quarantined, 3u);
  auto cp = checkpoint_of(*store, "s");
  EXPECT_EQ(cp.quarantined, 3u);
  EXPECT_EQ(cp.duplicates, 4u);
}

TEST(ledger_store, corrupt_page_is_quarantined_whole_and_the_cursor_stays) {
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  commit_one(*store, make_batch("s", "", "c1", {keyed(make_record("USRC17607839", "t1", 1))}));
  ingest_batch bad = make_batch("s", "c1", "c2", {});
  bad.body = "{\"data\": [ {\"isrc\": trunc";
  bad.body_sha256 = to_hex(sha256::digest(bad.body));
  bad.page_errors = {failure{ec::bad_json, "s GET: invalid JSON at line 1 column 27"}};
  bad.records_in = 0;
  const auto before = stats_of(*store);
  auto o = commit_one(*store, bad);
  EXPECT_TRUE(o.page_quarantined);
  EXPECT_TRUE(o.refused.empty());
  EXPECT_EQ(o.page_seq, 0u);

  auto cp = checkpoint_of(*store, "s");
  EXPECT_EQ(cp.cursor, "c1");
  EXPECT_EQ(cp.page_faults, 1u);
  EXPECT_EQ(cp.pages, 1u);
  EXPECT_EQ(cp.records_in, 1u);
  auto st = stats_of(*store);
  EXPECT_EQ(st.pages, before.pages);
  EXPECT_EQ(st.record_versions, before.record_versions);
  EXPECT_EQ(st.quarantined, before.quarantined + 1);
  EXPECT_EQ(st.audit_entries, before.audit_entries + 1);
  auto items = all_quarantined(*store);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].kind, "page");
  EXPECT_EQ(items[0].raw, bad.body);
  EXPECT_EQ(items[0].source, "s");
  EXPECT_EQ(items[0].request, bad.request);
  ASSERT_EQ(items[0].errors.size(), 1u);
  EXPECT_EQ(items[0].errors[0].code, ec::bad_json);
  EXPECT_EQ(items[0].errors[0].message, bad.page_errors[0].message);

  // The fetch is retried from the unchanged cursor and succeeds.
  auto retry = make_batch("s", "c1", "c2", {keyed(make_record("USRC17607839", "t2", 1))});
  auto o2 = commit_one(*store, retry);
  EXPECT_TRUE(o2.refused.empty()) << o2.refused;
  EXPECT_EQ(o2.page_seq, 2u);
  EXPECT_EQ(checkpoint_of(*store, "s").cursor, "c2");
  EXPECT_EQ(checkpoint_of(*store, "s").page_faults, 1u);
}

TEST(ledger_store, corrupt_first_page_keeps_the_cursor_it_was_fetched_at) {
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  // An offset-style endpoint starts at "0"; its very first page is not JSON.
  ingest_batch bad = make_batch("offset_src", "0", "1000", {});
  bad.body = "<html>502</html>";
  bad.page_errors = {failure{ec::bad_json, "offset_src: invalid JSON"}};
  bad.records_in = 0;
  auto o = commit_one(*store, bad);
  EXPECT_TRUE(o.page_quarantined);
  auto cp = checkpoint_of(*store, "offset_src");
  EXPECT_EQ(cp.cursor, "0") << "the cursor must stay where the page was fetched";
  EXPECT_EQ(cp.page_faults, 1u);
  // The retry from the same cursor is accepted.
  auto retry = make_batch("offset_src", "0", "1000", {keyed(make_record("USRC17607839", "t1", 1))});
  auto o2 = commit_one(*store, retry);
  EXPECT_TRUE(o2.refused.empty()) << o2.refused;
  EXPECT_EQ(o2.inserted, 1u);
}

// --- checkpoint counters -------------------------------------------------------------------------

TEST(ledger_store, checkpoint_counters_sum_across_batches_and_balance) {
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto a = keyed(make_record("USRC17607839", "a", 1));
  auto b = keyed(make_record("USRC17607839", "b", 2), record_state::pending_reconciliation);
  auto c = keyed(make_record("GBAYE0601498", "c", 3));
  auto a2 = a;
  a2.record.revenue = money::from_units(11);
  auto b2 = b;
  b2.record.units = 3;
  auto q1 = quarantine_item("s", "q1", 0);
  auto q2 = quarantine_item("s", "q2", 1);

  struct step {
    std::vector<keyed_record> records;
    std::vector<quarantined_item> quarantined;
    uint64_t inserted, restatements, duplicates, quarantined_n, pending;
  };
  const std::vector<step> steps = {
      {{a, b}, {q1}, 2, 0, 0, 1, 1},    {{a, c, c}, {q1, q2}, 1, 0, 3, 1, 0},
      {{a2, b2, b}, {}, 0, 2, 1, 0, 1},  // b after b2: a copy of a known version is a duplicate
      {{}, {}, 0, 0, 0, 0, 0},          {{a2, b, c}, {q2}, 0, 0, 4, 0, 0},
  };
  std::vector<ingest_batch> batches;
  for (std::size_t i = 0; i < steps.size(); ++i)
    batches.push_back(make_batch("s", i == 0 ? "" : "c" + std::to_string(i), "c" + std::to_string(i + 1),
                                 steps[i].records, steps[i].quarantined));
  // The first two in one commit call, the rest one by one.
  auto outs = commit(*store, {&batches[0], &batches[1]});
  for (std::size_t i = 2; i < batches.size(); ++i) outs.push_back(commit_one(*store, batches[i]));
  ASSERT_EQ(outs.size(), steps.size());

  source_checkpoint sum;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE("batch " + std::to_string(i));
    const auto& o = outs[i];
    EXPECT_TRUE(o.refused.empty()) << o.refused;
    EXPECT_EQ(o.records_in, batches[i].records_in);
    EXPECT_EQ(o.inserted, steps[i].inserted);
    EXPECT_EQ(o.restatements, steps[i].restatements);
    EXPECT_EQ(o.duplicates, steps[i].duplicates);
    EXPECT_EQ(o.quarantined, steps[i].quarantined_n);
    EXPECT_EQ(o.pending, steps[i].pending);
    EXPECT_EQ(o.records_in, o.inserted + o.restatements + o.duplicates + o.quarantined);
    sum.records_in += o.records_in;
    sum.inserted += o.inserted;
    sum.restatements += o.restatements;
    sum.duplicates += o.duplicates;
    sum.quarantined += o.quarantined;
    sum.pending += o.pending;
  }
  auto cp = checkpoint_of(*store, "s");
  EXPECT_EQ(cp.cursor, "c5");
  EXPECT_EQ(cp.pages, steps.size());
  EXPECT_EQ(cp.records_in, sum.records_in);
  EXPECT_EQ(cp.records_in, 15u);
  EXPECT_EQ(cp.inserted, sum.inserted);
  EXPECT_EQ(cp.restatements, sum.restatements);
  EXPECT_EQ(cp.duplicates, sum.duplicates);
  EXPECT_EQ(cp.quarantined, sum.quarantined);
  EXPECT_EQ(cp.pending, sum.pending);
  EXPECT_EQ(cp.page_faults, 0u);
  EXPECT_EQ(cp.records_in, cp.inserted + cp.restatements + cp.duplicates + cp.quarantined);
  auto st = stats_of(*store);
  EXPECT_EQ(st.record_versions, cp.inserted + cp.restatements);
  EXPECT_EQ(st.quarantined, cp.quarantined);
  EXPECT_EQ(st.pages, steps.size());
  auto all = store->checkpoints();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().first, "s");
  EXPECT_EQ(all->front().second.records_in, cp.records_in);
}

// --- index prefix collision ----------------------------------------------------------------------

TEST(ledger_store, keys_sharing_their_first_eight_bytes_stay_distinct) {
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  record_key k1{}, k2{}, k3{};
  for (std::size_t i = 0; i < 32; ++i) {
    k1[i] = static_cast<uint8_t>(0xA0 + i);
    k2[i] = k1[i];
    k3[i] = k1[i];
  }
  k2[31] ^= 0x01;  // differs only in its last byte
  k3[8] ^= 0x80;   // differs right after the shared prefix
  auto r1 = keyed_with(k1, make_record("USRC17607839", "one", 100));
  auto r2 = keyed_with(k2, make_record("GBAYE0601498", "two", 200));
  auto o1 = commit_one(*store, make_batch("s", "", "c1", {r1, r2}));
  EXPECT_EQ(o1.inserted, 2u);
  EXPECT_EQ(o1.duplicates, 0u);
  auto v1 = versions_of(*store, k1);
  auto v2 = versions_of(*store, k2);
  ASSERT_EQ(v1.size(), 1u);
  ASSERT_EQ(v2.size(), 1u);
  EXPECT_EQ(v1[0].key, k1);
  EXPECT_EQ(v1[0].record, r1.record);
  EXPECT_EQ(v2[0].key, k2);
  EXPECT_EQ(v2[0].record, r2.record);
  EXPECT_TRUE(versions_of(*store, k3).empty());

  // A repeat of each is a duplicate of the right one; a changed r2 restates r2 only.
  auto r2b = r2;
  r2b.record.revenue = money::from_units(250);
  auto o2 = commit_one(*store, make_batch("s", "c1", "c2", {r2, r1, r2b}));
  EXPECT_EQ(o2.duplicates, 2u);
  EXPECT_EQ(o2.restatements, 1u);
  EXPECT_EQ(o2.inserted, 0u);
  v1 = versions_of(*store, k1);
  v2 = versions_of(*store, k2);
  ASSERT_EQ(v1.size(), 1u);
  ASSERT_EQ(v2.size(), 2u);
  EXPECT_EQ(v2[1].record.revenue.units(), 250);
  EXPECT_EQ(v2[1].prev_seq, v2[0].seq);

  // Then a changed r1 restates r1, and the third key is a new record beside both.
  auto r1b = r1;
  r1b.record.units = 1;
  auto r3 = keyed_with(k3, make_record("FRZ039800212", "three", 300));
  auto o3 = commit_one(*store, make_batch("s", "c2", "c3", {r1b, r2b, r3}));
  EXPECT_EQ(o3.restatements, 1u);
  EXPECT_EQ(o3.duplicates, 1u);
  EXPECT_EQ(o3.inserted, 1u);
  v1 = versions_of(*store, k1);
  ASSERT_EQ(v1.size(), 2u);
  EXPECT_EQ(v1[1].record.units, 1);
  EXPECT_EQ(v1[1].key, k1);
  EXPECT_EQ(versions_of(*store, k2).size(), 2u);
  EXPECT_EQ(versions_of(*store, k3).size(), 1u);
  EXPECT_EQ(stats_of(*store).record_versions, 5u);

  // And the index survives a reopen.
  store.reset();
  store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto o4 = commit_one(*store, make_batch("s", "c3", "c4", {r1b, r2b, r3}));
  EXPECT_EQ(o4.duplicates, 3u);
  EXPECT_EQ(o4.inserted + o4.restatements, 0u);
}

TEST(ledger_store, the_key_index_levels_find_every_key_across_merges_and_reopens) {
  // Small limits: the new level merges every 50 keys, the middle one every 200, so 1,000 keys in
  // pages of 37 cross every merge many times; a key's repeat, restatement and look-up must find it
  // whichever level holds it, and each key keeps exactly one index entry.
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  store->set_index_limits(50, 200);
  auto all = numbered_records("USRC1760", 1000, 1000, "t", 100);
  page_chain pages("c");
  auto commit_page = [&](const std::vector<keyed_record>& records) { return pages.commit(*store, records); };
  for (std::size_t i = 0; i < all.size(); i += 37) commit_page(slice(all, i, 37));
  auto st = stats_of(*store);
  EXPECT_EQ(st.index_new + st.index_mid + st.index_main, 1000u);
  EXPECT_GT(st.index_main, 0u);  // both merges happened
  EXPECT_LT(st.index_new, 50u + 37u);
  // Every key is found: repeats of all of them are duplicates, wherever their entry is.
  uint64_t duplicates = 0;
  for (std::size_t i = 0; i < all.size(); i += 100) duplicates += commit_page(slice(all, i, 100)).duplicates;
  EXPECT_EQ(duplicates, 1000u);
  // Restating every third key (in every level) adds a version and keeps one entry per key.
  std::vector<keyed_record> restated;
  for (std::size_t i = 0; i < all.size(); i += 3) {
    auto r = all[i];
    r.record.units += 1;
    restated.push_back(r);
  }
  uint64_t restatements = 0;
  for (std::size_t i = 0; i < restated.size(); i += 41)
    restatements += commit_page(slice(restated, i, 41)).restatements;
  EXPECT_EQ(restatements, restated.size());
  st = stats_of(*store);
  EXPECT_EQ(st.index_new + st.index_mid + st.index_main, 1000u);
  EXPECT_EQ(st.record_versions, 1000u + restated.size());
  // After a reopen (default limits), the latest versions are found and are duplicates again.
  store.reset();
  store = open_store(dir.path());
  ASSERT_TRUE(store);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto v = versions_of(*store, all[i].key);
    ASSERT_EQ(v.size(), i % 3 == 0 ? 2u : 1u) << i;
    EXPECT_EQ(v.back().record.units, all[i].record.units + (i % 3 == 0 ? 1 : 0)) << i;
  }
  auto again = commit_page(restated);
  EXPECT_EQ(again.duplicates, restated.size());
  EXPECT_EQ(again.inserted + again.restatements, 0u);
  // A read-only open sees the same.
  store.reset();
  auto ro = open_store(dir.path(), true);
  ASSERT_TRUE(ro);
  EXPECT_EQ(versions_of(*ro, all[999].key).size(), 2u);
}

TEST(ledger_store, the_middle_level_moves_into_the_main_one_a_slice_at_a_time) {
  // Past its limit the middle level moves into the main one slice by slice of the key space, so
  // no commit moves (and dirties the main level's pages for) the whole of it at once. Keys that
  // share their 8-byte prefix (index duplicates) move with their slice and stay findable.
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  store->set_index_limits(40, 160, 1);
  store->set_index_runs_limit(2);  // folds too move keys that share a prefix
  std::vector<keyed_record> all;
  for (int i = 0; i < 1200; ++i) {
    auto r = make_record("USRC1760" + std::to_string(2000 + i), "s" + std::to_string(i), 7 + i);
    if (i % 100 == 0) {
      // Twelve keys with one prefix: the index holds them as duplicates of one key.
      record_key k{};
      k.fill(0x5a);
      k[31] = static_cast<uint8_t>(i / 100);
      all.push_back(keyed_with(k, r));
    } else {
      all.push_back(keyed(r));
    }
  }
  std::string cursor;
  uint64_t most_moved = 0, main_before = 0;
  int page = 0;
  for (std::size_t i = 0; i < all.size(); i += 30) {
    const std::string next = "p" + std::to_string(++page);
    auto o = commit_one(*store, make_batch("s", cursor, next, slice(all, i, 30)));
    ASSERT_EQ(o.inserted, 30u);
    cursor = next;
    const auto st = stats_of(*store);
    ASSERT_EQ(st.index_new + st.index_mid + st.index_main, i + 30);  // one entry per key, always
    most_moved = std::max(most_moved, st.index_main - main_before);
    main_before = st.index_main;
  }
  const auto st = stats_of(*store);
  EXPECT_GT(st.index_main, 600u);  // the sweep kept up
  // The middle level's tree being swept holds at most what filled it (its limit, and what one
  // pass of ten commits of 30 records merged into the other meanwhile), and so does the other.
  EXPECT_LT(st.index_mid, 2u * (160u + 10u * 30u + 40u));
  EXPECT_GT(most_moved, 0u);
  EXPECT_LT(most_moved, 80u);  // a slice, not the middle level's 160 or more
  for (const auto& kr : all) {
    const auto v = versions_of(*store, kr.key);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v.front().record.transaction_id, kr.record.transaction_id);
  }
  auto again = commit_one(*store, make_batch("s", cursor, "again", all));
  EXPECT_EQ(again.duplicates, all.size());
  // The sweep position survives a reopen (default limits: the levels are simply read).
  store.reset();
  store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(versions_of(*store, all[500].key).size(), 1u);
}

TEST(ledger_store, the_older_levels_filter_grows_with_the_index_and_never_hides_a_key) {
  // Commits skip the older index levels for keys their filter has not seen. The filter is built on
  // a thread of its own, installed by a later commit, and built again larger when it fills; keys
  // merged meanwhile are added when it is installed. With a filter of 16 keys at first and levels
  // of 20 and 80, 1,200 keys cross several rebuilds: each must still be found in every level.
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  store->set_index_limits(20, 80, 8192, 16);
  auto all = numbered_records("USRC1760", 4000, 1200, "f", 3);
  page_chain pages("f");
  auto commit_page = [&](const std::vector<keyed_record>& records) { return pages.commit(*store, records); };
  for (std::size_t i = 0; i < all.size(); i += 25) {
    ASSERT_EQ(commit_page(slice(all, i, 25)).inserted, 25u) << i;
    if (i % 100 == 0) store->wait_index_filter();  // other commits run while a build is under way
  }
  store->wait_index_filter();
  EXPECT_GE(store->index_filter_builds(), 3u);  // the first, then larger ones as it filled
  const auto st = stats_of(*store);
  ASSERT_GT(st.index_main, 0u);
  // Every key is found, whichever level holds it: repeats are duplicates, changes restatements.
  uint64_t duplicates = 0, restatements = 0;
  for (std::size_t i = 0; i < all.size(); i += 60) {
    auto part = slice(all, i, 60);
    for (std::size_t j = 0; j < part.size(); j += 7) part[j].record.units += 1;
    const auto o = commit_page(part);
    duplicates += o.duplicates;
    restatements += o.restatements;
    EXPECT_EQ(o.inserted, 0u) << i;
  }
  EXPECT_EQ(restatements, (all.size() / 60) * 9u);
  EXPECT_EQ(duplicates + restatements, all.size());
  // After a clean reopen the saved filter is taken back and used, with no build.
  store.reset();
  store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->index_filter_loads(), 1u);
  EXPECT_EQ(commit_page(slice(all, 0, 600)).inserted, 0u);
  store->wait_index_filter();
  EXPECT_EQ(commit_page(slice(all, 600, 600)).inserted, 0u);
  EXPECT_EQ(store->index_filter_builds(), 0u);
  EXPECT_EQ(stats_of(*store).record_versions, all.size() + (all.size() / 60) * 9u);
}

TEST(ledger_store, the_older_levels_filter_is_kept_across_a_clean_restart_and_only_then) {
  // A clean close saves the filter; the next open takes it back (no build) when nothing was written
  // in between, and not when something was: a filter that lacked keys written since would make
  // their repeats count as new records.
  scratch_dir dir;
  auto all = numbered_records("GBAYE06", 10000, 600, "k", 9);
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  store->set_index_limits(20, 80);
  ASSERT_EQ(commit_one(*store, make_batch("s", "", "k1", slice(all, 0, 300))).inserted, 300u);
  store->wait_index_filter();
  ASSERT_EQ(commit_one(*store, make_batch("s", "k1", "k2", slice(all, 300, 100))).inserted, 100u);
  ASSERT_EQ(store->index_filter_builds(), 1u);
  ASSERT_GT(stats_of(*store).index_mid + stats_of(*store).index_main, 300u);
  store.reset();  // saves it

  store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->index_filter_loads(), 1u);
  auto again = commit_one(*store, make_batch("s", "k2", "k3", slice(all, 0, 400)));
  EXPECT_EQ(again.duplicates, 400u);
  EXPECT_EQ(store->index_filter_builds(), 0u);  // it used the saved one
  store->set_index_limits(20, 80);
  ASSERT_EQ(commit_one(*store, make_batch("s", "k3", "k4", slice(all, 400, 200))).inserted, 200u);
  store.reset();  // saves it again, with the 200 new keys merged since the open

  // Something writes the ledger after that save (here: a meta key through LMDB directly).
  {
    auto env = lmdb::env::open(dir.path(), 64u << 20, 32, 0);
    auto t = lmdb::txn::begin(env, false);
    lmdb::put(t, lmdb::open_db(t, "meta", 0), "touched", "1");
    t.commit();
  }
  store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->index_filter_loads(), 0u);  // not current: built again instead
  auto repeat = commit_one(*store, make_batch("s", "k4", "k5", all));
  EXPECT_EQ(repeat.duplicates, all.size());
  EXPECT_EQ(repeat.inserted, 0u);
}

TEST(ledger_store, a_commit_sees_its_own_writes_to_keys_the_older_levels_hold_or_lack) {
  // A commit probes its keys in the older index levels before storing anything and skips them for
  // keys found in neither. Within one group commit (two batches), a key in an older level
  // restated twice, and a new key stored, repeated and restated, must count exactly as one by one.
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  store->set_index_limits(4, 8);
  auto old = numbered_records("USRC1760", 7000, 20, "o", 10);
  ASSERT_EQ(commit_one(*store, make_batch("s", "", "c1", old)).inserted, 20u);
  auto st = stats_of(*store);
  ASSERT_GT(st.index_mid + st.index_main, 0u);  // the old keys sit in the older levels
  auto bump = [](keyed_record r, int by) {
    r.record.units += by;
    return r;
  };
  const auto fresh = keyed(make_record("GBAYE0601498", "new-1", 5));
  auto first = make_batch("s", "c1", "c2", {bump(old[3], 1), fresh, old[5], bump(old[3], 2)});
  auto second = make_batch("s", "c2", "c3", {fresh, bump(fresh, 1), bump(old[3], 2), bump(old[19], 1)});
  auto out = commit(*store, {&first, &second});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].inserted, 1u);      // fresh
  EXPECT_EQ(out[0].restatements, 2u);  // old[3] +1, then +2
  EXPECT_EQ(out[0].duplicates, 1u);    // old[5]
  EXPECT_EQ(out[1].inserted, 0u);
  EXPECT_EQ(out[1].duplicates, 2u);    // fresh again, old[3] +2 again
  EXPECT_EQ(out[1].restatements, 2u);  // fresh +1, old[19] +1
  EXPECT_EQ(versions_of(*store, old[3].key).size(), 3u);
  EXPECT_EQ(versions_of(*store, fresh.key).size(), 2u);
  st = stats_of(*store);
  EXPECT_EQ(st.index_new + st.index_mid + st.index_main, 21u);  // one entry per key
}

/// Every key of `all` has exactly one version found, the latest given.
void expect_latest(const ledger_store& store, const std::vector<keyed_record>& all) {
  for (const auto& kr : all) {
    const auto v = versions_of(store, kr.key);
    ASSERT_FALSE(v.empty()) << kr.record.isrc;
    EXPECT_EQ(v.back().record.units, kr.record.units) << kr.record.isrc;
  }
}

/// The end of a run of index levels: every key's latest version is found, a repeat of all of them
/// is all duplicates, and a read-only open of `dir` (which `store` is closed for) finds the same.
void expect_latest_then_repeats_are_duplicates(std::unique_ptr<ledger_store>& store, const std::string& dir,
                                               page_chain& pages, const std::vector<keyed_record>& all) {
  expect_latest(*store, all);
  EXPECT_EQ(pages.commit(*store, all).duplicates, all.size());
  store.reset();
  auto ro = open_store(dir, true);
  ASSERT_TRUE(ro);
  expect_latest(*ro, all);
}

/// Mid-way through a run of index levels: closes `store`, checks that a read-only open finds the
/// latest version of every key `written` so far, and reopens it for writing with `setup` applied;
/// the counts still say one entry per key.
void reopen_mid_way(std::unique_ptr<ledger_store>& store, const std::string& dir,
                    const std::vector<keyed_record>& written,
                    const std::function<void(ledger_store&)>& setup) {
  store.reset();
  auto ro = open_store(dir, true);
  ASSERT_TRUE(ro);
  expect_latest(*ro, written);
  ro.reset();
  store = open_store(dir);
  ASSERT_TRUE(store);
  setup(*store);
  const auto again = stats_of(*store);
  EXPECT_EQ(again.index_new + again.index_mid + again.index_main, written.size());
}

TEST(ledger_store, restating_keys_of_the_middle_level_being_swept_leaves_one_entry_each) {
  // During a pass the middle tree being swept holds entries already copied to the main level
  // (behind the position) and entries still to copy. A restatement of either removes the old
  // entry wherever it is, so once the pass empties the tree the main level has no stale one: the
  // counts stay one entry per key and every key's latest version is found.
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  store->set_index_limits(20, 100, 1);
  auto all = numbered_records("USRC1792", 1000, 400, "m", 2);
  page_chain pages("m");
  std::size_t committed = 0;
  auto check_counts = [&] {
    const auto st = stats_of(*store);
    ASSERT_EQ(st.index_new + st.index_mid + st.index_main, committed);
  };
  while (committed < 200) {
    pages.commit(*store, slice(all, committed, 20));
    committed += 20;
    check_counts();
  }
  // Restate a key in every commit from here on, taking each from the oldest keys (in the levels
  // being swept or already in the main one), while the pass goes on.
  for (std::size_t i = 0; committed < all.size(); ++i) {
    auto batch = slice(all, committed, 20);
    for (std::size_t j : {i * 7 % 200, (i * 13 + 5) % 200}) {
      all[j].record.units += 1000;
      batch.push_back(all[j]);
    }
    const auto o = pages.commit(*store, batch);
    ASSERT_EQ(o.restatements, 2u);
    committed += 20;
    check_counts();
  }
  expect_latest_then_repeats_are_duplicates(store, dir.path(), pages, all);
}

TEST(ledger_store, the_new_level_moves_into_the_middle_one_a_slice_at_a_time) {
  // Past its limit the new level is copied into the middle one a slice of the key space per
  // commit; a copied entry stays in the new level until the pass's last slice. Meanwhile keys are
  // added, restated (copied ones and ones not copied yet) and repeated, the ledger is reopened for
  // writing and read-only, and sweeps into the main level run between the passes: every count
  // says one entry per key, every key's latest version is found, and no commit moves the level
  // at once.
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto limits = [](ledger_store& s) {
    s.set_index_limits(40, 120, 1);
    s.set_index_slice_entries(4);
  };
  limits(*store);
  auto all = numbered_records("USRC1794", 1000, 600, "v", 2);
  page_chain pages("v");
  std::size_t committed = 0;
  uint64_t most_moved = 0, mid_before = 0, commits_with_copies_in_both = 0;
  for (std::size_t i = 0; committed < all.size(); ++i) {
    auto batch = slice(all, committed, 3);
    // From the second pass on, restate one of the oldest keys in every other commit.
    if (committed >= 60 && i % 2 == 0) {
      const std::size_t j = (i * 11) % (committed - 20);
      all[j].record.units += 100;
      batch.push_back(all[j]);
    }
    const auto o = pages.commit(*store, batch);
    ASSERT_EQ(o.inserted, 3u);
    ASSERT_EQ(o.restatements, batch.size() - 3);
    committed += 3;
    const auto st = stats_of(*store);
    ASSERT_EQ(st.index_new + st.index_mid + st.index_main, committed);  // one entry per key, always
    if (st.index_mid > mid_before) most_moved = std::max(most_moved, st.index_mid - mid_before);
    mid_before = st.index_mid;
    if (st.index_new > 0 && st.index_mid > 0 && st.index_main == 0) ++commits_with_copies_in_both;
    if (committed == 300) {
      // Reopened mid-way: the pass goes on from where the last commit left it.
      reopen_mid_way(store, dir.path(), slice(all, 0, committed), limits);
      ASSERT_TRUE(store);
    }
  }
  EXPECT_GT(most_moved, 0u);
  EXPECT_LT(most_moved, 40u);  // a slice, never the level's 40 or more at once
  EXPECT_GT(commits_with_copies_in_both, 0u);
  EXPECT_GT(stats_of(*store).index_main, 0u);  // sweeps ran between the passes
  expect_latest_then_repeats_are_duplicates(store, dir.path(), pages, all);
}

/// Commits `page` with the commit fault raised (`fail`, which the store's fault reads): the commit
/// fails and no count of the ledger or its key index changes.
void expect_failed_commit_changes_nothing(ledger_store& store, const ingest_batch& page, bool& fail) {
  const auto before = stats_of(store);
  fail = true;
  const bool committed = static_cast<bool>(store.commit({&page}));
  fail = false;
  ASSERT_FALSE(committed);
  const auto after = stats_of(store);
  EXPECT_EQ(after.index_new, before.index_new);
  EXPECT_EQ(after.index_mid, before.index_mid);
  EXPECT_EQ(after.index_main, before.index_main);
  EXPECT_EQ(after.index_runs, before.index_runs);
  EXPECT_EQ(after.record_versions, before.record_versions);
}

TEST(ledger_store, a_failed_commit_in_a_merge_pass_leaves_the_pass_where_it_was) {
  // Commits that copy a slice, and the one that ends the pass (taking the copied entries out of
  // the new level's table and log), fail; the same pages then count as if nothing had failed.
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  store->set_index_limits(20, 100000);
  store->set_index_slice_entries(4);
  bool fail = false;
  store->set_commit_fault([&fail] { return fail ? EIO : MDB_SUCCESS; });
  auto all = numbered_records("USRC1795", 1000, 200, "x", 2);
  page_chain pages("x");
  std::size_t committed = 0;
  int failures = 0;
  for (std::size_t i = 0; committed < all.size(); ++i) {
    auto records = slice(all, committed, 2);
    if (committed >= 10 && i % 3 == 0) {
      const std::size_t j = (i * 7) % committed;
      all[j].record.units += 1;
      records.push_back(all[j]);
    }
    const auto page = make_batch("s", "x" + std::to_string(i), "x" + std::to_string(i + 1), records);
    if (i % 4 == 1) {
      ASSERT_NO_FATAL_FAILURE(expect_failed_commit_changes_nothing(*store, page, fail));
      ++failures;
    }
    const auto o = commit_one(*store, page);
    ASSERT_EQ(o.inserted, 2u);
    ASSERT_EQ(o.restatements, records.size() - 2);
    committed += 2;
    const auto st = stats_of(*store);
    ASSERT_EQ(st.index_new + st.index_mid + st.index_main, committed);
  }
  EXPECT_GT(failures, 20);
  EXPECT_GT(stats_of(*store).index_mid, 100u);
  expect_latest(*store, all);
  store.reset();
  store = open_store(dir.path());
  ASSERT_TRUE(store);
  expect_latest(*store, all);
}

/// Entries of the named database `name` in the ledger at `dir` (closed).
uint64_t entries_in(const std::string& dir, const char* name) {
  auto env = lmdb::env::open(dir, 64u << 20, 32, MDB_RDONLY);
  auto t = lmdb::txn::begin(env, true);
  MDB_stat st{};
  lmdb::check(mdb_stat(t.get(), lmdb::open_db(t, name, 0), &st), "mdb_stat");
  return static_cast<uint64_t>(st.ms_entries);
}

/// A `meta` number of the ledger at `dir` (closed); 0 when absent.
uint64_t meta_number(const std::string& dir, const char* name) {
  auto env = lmdb::env::open(dir, 64u << 20, 32, MDB_RDONLY);
  auto t = lmdb::txn::begin(env, true);
  std::string_view v;
  if (!lmdb::get(t, lmdb::open_db(t, "meta", 0), name, v)) return 0;
  return codec::reader::decode_u64be(v);
}

TEST(ledger_store, the_main_level_gathers_sorted_runs_and_folds_them_into_its_tree_a_slice_at_a_time) {
  // Each sweep writes the middle tree it empties as a sorted run; once three runs are gathered
  // the runs trees swap and a fold pass copies the full one into the main B-tree a slice per
  // commit, while sweeps go on writing runs into the other. Meanwhile keys are added, restated
  // wherever their entry is (a run, a run being folded, copied or not yet, the main tree) and
  // repeated, every commit first fails once (so one fails at every pass's start, slice and end),
  // and the ledger is reopened during a fold: every count says one entry per key, and every key's
  // latest version is found.
  scratch_dir dir;
  bool fail = false;
  auto setup = [&fail](ledger_store& s) {
    s.set_index_limits(20, 40, 1);
    s.set_index_slice_entries(4);
    s.set_index_runs_limit(3);
    s.set_commit_fault([&fail] { return fail ? EIO : MDB_SUCCESS; });
  };
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  setup(*store);
  auto all = numbered_records("USRC1798", 1000, 900, "r", 2);
  page_chain pages("r");
  std::size_t committed = 0;
  uint64_t most_runs = 0, runs_before = 0, folding_before = 0, most_folded = 0, most_folding = 0;
  int folds = 0, fold_commits = 0;
  bool reopened = false;
  for (std::size_t i = 0; committed < all.size(); ++i) {
    auto records = slice(all, committed, 4);
    if (committed >= 100 && i % 2 == 0) {
      const std::size_t j = (i * 17) % (committed - 40);
      all[j].record.units += 10;
      records.push_back(all[j]);
    }
    ASSERT_NO_FATAL_FAILURE(expect_failed_commit_changes_nothing(*store, pages.next(records), fail));
    const auto o = pages.commit(*store, records);
    ASSERT_EQ(o.inserted, 4u);
    ASSERT_EQ(o.restatements, records.size() - 4);
    committed += 4;
    const auto st = stats_of(*store);
    ASSERT_EQ(st.index_new + st.index_mid + st.index_main, committed);  // one entry per key, always
    most_runs = std::max(most_runs, st.index_runs);
    if (st.index_runs < runs_before) ++folds;
    runs_before = st.index_runs;
    if (st.index_folding > 0) ++fold_commits;
    most_folding = std::max(most_folding, st.index_folding);
    if (folding_before > st.index_folding)
      most_folded = std::max(most_folded, folding_before - st.index_folding);
    folding_before = st.index_folding;
    if (committed >= 500 && st.index_folding > 0 && !reopened) {
      // Reopened during a fold, read-only then for writing: it goes on from where it was.
      reopened = true;
      reopen_mid_way(store, dir.path(), slice(all, 0, committed), setup);
      ASSERT_TRUE(store);
      EXPECT_EQ(stats_of(*store).index_runs, st.index_runs);
      EXPECT_EQ(stats_of(*store).index_folding, st.index_folding);
    }
  }
  EXPECT_TRUE(reopened);
  EXPECT_GE(folds, 3);
  EXPECT_GE(most_runs, 3u);
  EXPECT_LE(most_runs, 6u);  // a full tree being folded and the other gathering: folds keep pace
  // Each fold is spread over many commits, none moving more than a slice of what it folds.
  EXPECT_GE(fold_commits, 3 * 9);  // ten slices at least, the last of which ends the fold
  EXPECT_GT(most_folded, 0u);
  EXPECT_LT(2 * most_folded, most_folding);
  expect_latest_then_repeats_are_duplicates(store, dir.path(), pages, all);
  EXPECT_GT(entries_in(dir.path(), "keys"), 300u);  // the folds filled the main tree
}

TEST(ledger_store, a_sweep_begun_by_the_fourth_format_ends_in_the_main_tree_and_later_ones_write_runs) {
  // `dspsync-ledger/4` swept the middle level into the main B-tree itself and had no runs trees.
  // Such a ledger with a sweep under way is read as it is, then opened for writing by this build:
  // the sweep goes on into the main tree (the entries it copied are there), restatements of
  // copied and uncopied keys leave one entry each, the sweeps after it write sorted runs, and the
  // ledger is stamped `/5`.
  scratch_dir dir;
  auto setup = [](ledger_store& s) {
    s.set_index_limits(20, 60, 1);
    s.set_index_slice_entries(4);
  };
  auto all = numbered_records("USRC1799", 1000, 500, "f", 2);
  page_chain pages("f");
  std::size_t committed = 0;
  auto check_counts = [&](ledger_store& s) {
    const auto st = stats_of(s);
    ASSERT_EQ(st.index_new + st.index_mid + st.index_main, committed);
  };
  // Commit (reopening for each page) until a sweep has copied some of the middle tree into `keys`
  // and has more to copy.
  do {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    setup(*store);
    store->set_index_sweep_into_keys(true);
    pages.commit(*store, slice(all, committed, 4));
    committed += 4;
    check_counts(*store);
    EXPECT_EQ(stats_of(*store).index_runs, 0u);
  } while (committed < 300 && meta_number(dir.path(), "index_sweep") == 0);
  ASSERT_NE(meta_number(dir.path(), "index_sweep"), 0u);  // a sweep is under way
  ASSERT_EQ(meta_number(dir.path(), "index_sweep_run"), 0u);
  const uint64_t not_copied = meta_number(dir.path(), "index_sweep_left");
  ASSERT_GT(not_copied, 0u);
  // What the old sweep copied so far: the prefixes in `keys`. Then the ledger is made what a `/4`
  // build left: no runs trees, the older tag.
  std::set<std::string> copied;
  {
    auto env = lmdb::env::open(dir.path(), 64u << 20, 32, 0);
    auto t = lmdb::txn::begin(env, false);
    {
      lmdb::cursor c(t, lmdb::open_db(t, "keys", 0));
      std::string_view k, v;
      for (bool more = c.get(k, v, MDB_FIRST); more; more = c.get(k, v, MDB_NEXT)) copied.emplace(k);
    }
    for (const char* name : {"keys_runs", "keys_runs_b"})
      lmdb::check(mdb_drop(t.get(), lmdb::open_db(t, name, 0), 1), "mdb_drop");
    lmdb::put(t, lmdb::open_db(t, "meta", 0), "format", "dspsync-ledger/4");
    t.commit();
  }
  ASSERT_FALSE(copied.empty());
  {
    auto ro = open_store(dir.path(), true);
    ASSERT_TRUE(ro);
    expect_latest(*ro, slice(all, 0, committed));
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  setup(*store);
  int restated_copied = 0;
  for (std::size_t i = 0; committed < all.size(); ++i) {
    auto records = slice(all, committed, 4);
    // Restate the oldest keys first: those the old sweep copied, or has still to copy.
    if (i % 2 == 0) {
      const std::size_t j = (i * 5) % 120;
      all[j].record.units += 7;
      records.push_back(all[j]);
      restated_copied +=
          copied.count(std::string(reinterpret_cast<const char*>(all[j].key.data()), 8)) != 0 ? 1 : 0;
    }
    const auto o = pages.commit(*store, records);
    ASSERT_EQ(o.restatements, records.size() - 4);
    committed += 4;
    check_counts(*store);
  }
  EXPECT_GT(restated_copied, 0);
  EXPECT_GT(stats_of(*store).index_runs, 0u);  // later sweeps wrote runs
  expect_latest_then_repeats_are_duplicates(store, dir.path(), pages, all);
  // The old sweep ended in `keys`; no later one wrote there.
  EXPECT_LE(entries_in(dir.path(), "keys"), copied.size() + not_copied);
  EXPECT_GT(entries_in(dir.path(), "keys_runs"), 0u);
  auto env = lmdb::env::open(dir.path(), 64u << 20, 32, MDB_RDONLY);
  auto t = lmdb::txn::begin(env, true);
  std::string_view fmt;
  ASSERT_TRUE(lmdb::get(t, lmdb::open_db(t, "meta", 0), "format", fmt));
  EXPECT_EQ(fmt, "dspsync-ledger/5");
}

TEST(ledger_store, every_successful_commit_is_timed_whole_and_its_durable_write_apart) {
  // The durations behind /metrics' ledger histograms: one observation per successful record
  // commit (a group of pages counts once), none for a failed one; the durable write is a part of
  // the whole commit.
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->commit_durations().commit.count, 0u);
  auto all = numbered_records("USRC1798", 1000, 40, "z", 2);
  const auto p1 = make_batch("s", "", "z1", slice(all, 0, 10));
  const auto p2 = make_batch("s", "z1", "z2", slice(all, 10, 10));
  const auto p3 = make_batch("s", "z2", "z3", slice(all, 20, 10));
  ASSERT_TRUE(store->commit({&p1}));
  ASSERT_TRUE(store->commit({&p2, &p3}));  // one transaction for two pages
  bool fail = true;
  store->set_commit_fault([&fail] { return fail ? EIO : MDB_SUCCESS; });
  const auto p4 = make_batch("s", "z3", "z4", slice(all, 30, 10));
  ASSERT_FALSE(store->commit({&p4}));
  fail = false;
  const auto t = store->commit_durations();
  EXPECT_EQ(t.commit.count, 2u);
  EXPECT_EQ(t.durable.count, 2u);
  EXPECT_GT(t.commit.sum, 0.0);
  EXPECT_GT(t.durable.sum, 0.0);
  EXPECT_LE(t.durable.sum, t.commit.sum);
  EXPECT_EQ(t.commit.cumulative(t.commit.bounds().size()), 2u);
  ASSERT_TRUE(store->commit({&p4}));
  EXPECT_EQ(store->commit_durations().commit.count, 3u);
}

TEST(ledger_store, a_ledger_of_the_third_format_is_moved_on_when_written) {
  // `dspsync-ledger/3` moved the new level in one commit, so it never has a merge pass under way:
  // it is read as it is, and an open for writing stamps it `/5`.
  scratch_dir dir;
  auto all = numbered_records("USRC1797", 1000, 30, "y", 2);
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    page_chain pages("y");
    pages.commit(*store, all);
  }
  auto format = [&] {
    auto env = lmdb::env::open(dir.path(), 64u << 20, 32, 0);
    auto t = lmdb::txn::begin(env, true);
    std::string_view fmt;
    EXPECT_TRUE(lmdb::get(t, lmdb::open_db(t, "meta", 0), "format", fmt));
    return std::string(fmt);
  };
  {
    auto env = lmdb::env::open(dir.path(), 64u << 20, 32, 0);
    auto t = lmdb::txn::begin(env, false);
    lmdb::put(t, lmdb::open_db(t, "meta", 0), "format", "dspsync-ledger/3");
    t.commit();
  }
  {
    auto ro = open_store(dir.path(), true);
    ASSERT_TRUE(ro);
    expect_latest(*ro, all);
  }
  EXPECT_EQ(format(), "dspsync-ledger/3");
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  expect_latest(*store, all);
  store.reset();
  EXPECT_EQ(format(), "dspsync-ledger/5");
}

TEST(ledger_store, a_merge_into_an_empty_middle_tree_appends_keys_that_share_a_prefix) {
  // The first merge into an empty middle tree appends its sorted entries; keys whose 8-byte
  // prefixes are equal are appended as duplicates of one key, in sequence order.
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  store->set_index_limits(20, 1000);
  std::vector<keyed_record> all;
  for (int i = 0; i < 40; ++i) {
    auto r = make_record("USRC1796" + std::to_string(1000 + i), "a" + std::to_string(i), 3 + i);
    if (i % 4 == 0) {
      record_key k{};
      k.fill(0x33);
      k[31] = static_cast<uint8_t>(i);
      all.push_back(keyed_with(k, r));
    } else {
      all.push_back(keyed(r));
    }
  }
  page_chain pages("a");
  ASSERT_EQ(pages.commit(*store, slice(all, 0, 20)).inserted, 20u);  // merged: appended
  ASSERT_EQ(stats_of(*store).index_mid, 20u);
  ASSERT_EQ(pages.commit(*store, slice(all, 20, 20)).inserted, 20u);  // merged among them
  EXPECT_EQ(stats_of(*store).index_mid, 40u);
  expect_latest(*store, all);
  EXPECT_EQ(pages.commit(*store, all).duplicates, all.size());
}

TEST(ledger_store, a_failed_commit_that_starts_a_sweep_pass_leaves_the_middle_level_as_it_was) {
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  store->set_index_limits(10, 30, 1);
  bool fail = false;
  store->set_commit_fault([&fail] { return fail ? EIO : MDB_SUCCESS; });
  auto all = numbered_records("USRC1793", 1000, 120, "f", 2);
  page_chain pages("f");
  std::size_t committed = 0;
  // Up to just below the middle level's limit, then a page that fills it (and starts a pass).
  for (; stats_of(*store).index_mid + 10 < 30; committed += 10)
    pages.commit(*store, slice(all, committed, 10));
  const auto before = stats_of(*store);
  ASSERT_EQ(before.index_main, 0u);
  const auto page =
      make_batch("s", "f" + std::to_string(committed / 10), "failed", slice(all, committed, 10));
  fail = true;
  ASSERT_FALSE(store->commit({&page}));
  fail = false;
  const auto after = stats_of(*store);
  EXPECT_EQ(after.index_mid, before.index_mid);
  EXPECT_EQ(after.index_main, 0u);
  // The same page again starts the pass, and the rest goes on as if nothing had failed.
  for (; committed < all.size(); committed += 10) {
    pages.commit(*store, slice(all, committed, 10));
    const auto st = stats_of(*store);
    ASSERT_EQ(st.index_new + st.index_mid + st.index_main, committed + 10);
  }
  EXPECT_GT(stats_of(*store).index_main, 0u);
  expect_latest(*store, all);
}

TEST(ledger_store, a_pass_under_way_in_the_earlier_middle_level_goes_on_in_the_two_trees) {
  // Before the middle level's two trees, `keys_mid` was the only one and a pass deleted what it
  // moved, so below the position it held only what was merged since the pass started. Such a
  // ledger, stopped mid-pass, is opened for writing: those entries go to the tree taking merges,
  // the pass finishes, and every key stays found once.
  scratch_dir dir;
  auto all = numbered_records("USRC1794", 1000, 300, "e", 2);
  page_chain pages("e");
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    store->set_index_limits(1000, 100000);  // nothing merged: written by hand below
    ASSERT_EQ(pages.commit(*store, all).inserted, all.size());
  }
  // Rewritten as the earlier layout had it mid-pass: the new level empty, the keys above the
  // position in `keys_mid` (not swept yet), a third below it (merged after the pass started), the
  // rest below it in `keys` (swept).
  std::vector<std::pair<std::string, std::string>> entries;  // (prefix, sequence)
  {
    auto env = lmdb::env::open(dir.path(), 64u << 20, 32, 0);
    auto t = lmdb::txn::begin(env, false);
    const MDB_dbi log = lmdb::open_db(t, "keys_log", 0);
    for (const auto& [seq, prefix] : log_entries_in(t)) entries.emplace_back(prefix, seq);
    ASSERT_EQ(entries.size(), all.size());
    std::sort(entries.begin(), entries.end());
    ASSERT_EQ(mdb_drop(t.get(), log, 0), MDB_SUCCESS);
    const std::string position = entries[entries.size() / 2].first;
    const MDB_dbi mid = lmdb::open_db(t, "keys_mid", 0);
    const MDB_dbi main = lmdb::open_db(t, "keys", 0);
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const bool ahead = entries[i].first >= position;
      lmdb::put(t, ahead || i % 3 == 0 ? mid : main, entries[i].first, entries[i].second);
    }
    const MDB_dbi meta = lmdb::open_db(t, "meta", 0);
    lmdb::put(t, meta, "index_sweep", position);
    lmdb::put(t, meta, "format", "dspsync-ledger/2");
    ASSERT_EQ(mdb_drop(t.get(), lmdb::open_db(t, "keys_mid_b", 0), 1), MDB_SUCCESS);
    lmdb::del(t, meta, "index_mid_roles");
    lmdb::del(t, meta, "index_sweep_left");
    t.commit();
  }
  {
    auto ro = open_store(dir.path(), true);
    ASSERT_TRUE(ro);
    expect_latest(*ro, all);
    const auto st = stats_of(*ro);
    EXPECT_EQ(st.index_new + st.index_mid + st.index_main, all.size());
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  store->set_index_limits(10, 1000, 1);
  expect_latest(*store, all);
  auto st = stats_of(*store);
  EXPECT_EQ(st.index_new + st.index_mid + st.index_main, all.size());
  const uint64_t main_before = st.index_main;
  auto more = numbered_records("USRC1795", 1000, 300, "g", 4);
  std::size_t committed = 0;
  for (; committed < more.size(); committed += 10) {
    auto batch = slice(more, committed, 10);
    if (committed / 10 < all.size()) {
      auto& old = all[(committed / 10) * 7 % all.size()];
      old.record.units += 1;
      batch.push_back(old);
    }
    pages.commit(*store, batch);
    st = stats_of(*store);
    ASSERT_EQ(st.index_new + st.index_mid + st.index_main, all.size() + committed + 10);
  }
  EXPECT_GT(st.index_main, main_before);  // the pass went on
  expect_latest(*store, all);
  expect_latest(*store, more);
}

TEST(ledger_store, a_prepared_batch_is_stored_as_the_same_batch_unprepared) {
  // `prepare` encodes the records' contents on the producer's thread; the commit must store the
  // same bytes as when it encodes them itself, so each ledger takes the other's page as duplicates.
  // Contents that no longer match the records (one removed after preparing) are not used.
  scratch_dir dir_a, dir_b;
  auto a = open_store(dir_a.path());
  auto b = open_store(dir_b.path());
  ASSERT_TRUE(a && b);
  auto all = numbered_records("USRC1797", 1000, 50, "p", 9);
  all[7].state = record_state::pending_reconciliation;
  all[7].faults = "upc: check digit";
  const auto plain = make_batch("s", "", "p1", all);
  auto prepared = plain;
  ledger_store::prepare(prepared);
  ASSERT_EQ(prepared.content_ends.size(), all.size());
  ASSERT_EQ(commit_one(*a, plain).inserted, all.size());
  ASSERT_EQ(commit_one(*b, prepared).inserted, all.size());
  const auto ra = all_records(*a), rb = all_records(*b);
  ASSERT_EQ(ra.size(), rb.size());
  for (std::size_t i = 0; i < ra.size(); ++i) {
    EXPECT_EQ(ra[i].record, rb[i].record);
    EXPECT_EQ(ra[i].key, rb[i].key);
    EXPECT_EQ(ra[i].state, rb[i].state);
    EXPECT_EQ(ra[i].faults, rb[i].faults);
  }
  auto again_plain = make_batch("s", "p1", "p2", all);
  auto again_prepared = again_plain;
  ledger_store::prepare(again_prepared);
  EXPECT_EQ(commit_one(*a, again_prepared).duplicates, all.size());
  EXPECT_EQ(commit_one(*b, again_plain).duplicates, all.size());
  // Prepared, then changed: the commit encodes the records itself.
  auto changed = make_batch("s", "p2", "p3", all);
  ledger_store::prepare(changed);
  changed.records.erase(changed.records.begin());
  changed.records.front().record.units += 1;  // all[1], restated
  changed.records_in = changed.records.size();
  const auto o = commit_one(*a, changed);
  EXPECT_EQ(o.restatements, 1u);
  EXPECT_EQ(o.duplicates, all.size() - 2);
  EXPECT_EQ(versions_of(*a, all[1].key).back().record.units, all[1].record.units + 1);
}

TEST(ledger_store, a_failed_commit_leaves_the_new_level_as_its_log_has_it) {
  // The key index's new level is a table in memory beside its log on disk. A commit that fails
  // after restating a key of the new level, adding keys and merging the level into the middle one
  // must leave the table as the log is: the same page then counts exactly as if it came first.
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  store->set_index_limits(8, 1000);
  bool fail = false;
  store->set_commit_fault([&fail] { return fail ? EIO : MDB_SUCCESS; });
  auto all = numbered_records("GBAYE07", 20000, 10, "n", 4);
  ASSERT_EQ(commit_one(*store, make_batch("s", "", "p1", slice(all, 0, 6))).inserted, 6u);
  ASSERT_EQ(stats_of(*store).index_new, 6u);
  auto restated = all[2];
  restated.record.units += 5;
  std::vector<keyed_record> second = slice(all, 6, 4);
  second.insert(second.begin(), restated);  // a restatement of a new-level key, then 4 new keys
  const auto page2 = make_batch("s", "p1", "p2", second);

  fail = true;
  ASSERT_FALSE(store->commit({&page2}));  // would have merged the level: 10 entries, limit 8
  fail = false;
  auto st = stats_of(*store);
  EXPECT_EQ(st.index_new, 6u);
  EXPECT_EQ(st.index_mid, 0u);
  EXPECT_EQ(st.record_versions, 6u);

  const auto again = commit_one(*store, page2);
  EXPECT_EQ(again.restatements, 1u);
  EXPECT_EQ(again.inserted, 4u);
  EXPECT_EQ(again.duplicates, 0u);
  st = stats_of(*store);
  EXPECT_EQ(st.index_new + st.index_mid + st.index_main, 10u);  // one entry per key
  EXPECT_EQ(st.index_new, 0u);                                  // merged this time
  auto all_now = all;
  all_now[2] = restated;
  EXPECT_EQ(commit_one(*store, make_batch("s", "p2", "p3", all_now)).duplicates, 10u);
  // Without a merge: a failed commit's restatement and new key are undone one by one.
  const auto lone = keyed(make_record("GBAYE0730001", "y", 2));
  ASSERT_EQ(commit_one(*store, make_batch("s", "p3", "p3b", {lone})).inserted, 1u);
  auto lone_restated = lone;
  lone_restated.record.units += 1;
  const auto page3c =
      make_batch("s", "p3b", "p3c", {lone_restated, keyed(make_record("GBAYE0730002", "z", 3))});
  fail = true;
  ASSERT_FALSE(store->commit({&page3c}));
  fail = false;
  EXPECT_EQ(stats_of(*store).index_new, 1u);
  const auto third = commit_one(*store, page3c);
  EXPECT_EQ(third.restatements, 1u);
  EXPECT_EQ(third.inserted, 1u);
  EXPECT_EQ(stats_of(*store).index_new, 2u);
  // Rebuilt from the log at a reopen, the table finds the same.
  ASSERT_EQ(
      commit_one(*store, make_batch("s", "p3c", "p4", {keyed(make_record("GBAYE0730000", "x", 1))})).inserted,
      1u);
  store.reset();
  store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(stats_of(*store).index_new, 3u);
  EXPECT_EQ(versions_of(*store, all[2].key).size(), 2u);
  EXPECT_EQ(versions_of(*store, lone.key).size(), 2u);
  const auto repeat =
      commit_one(*store, make_batch("s", "p4", "p5", {keyed(make_record("GBAYE0730000", "x", 1))}));
  EXPECT_EQ(repeat.duplicates, 1u);
  EXPECT_EQ(repeat.inserted, 0u);
}

TEST(ledger_store, restatements_take_entries_out_of_the_new_levels_log_wherever_they_sit) {
  // The new level's log keeps a transaction's entries in chunks of 120 (sequence, prefix) pairs.
  // A restatement removes its key's old entry: the first or last of a chunk, one in the middle,
  // one written earlier in the same transaction (not in the log yet). The log must then say what
  // the table says: a reopen rebuilds the table from it, a read-only open reads it.
  scratch_dir dir;
  auto all = numbered_records("USRC1790", 1000, 300, "c", 3);
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  page_chain pages("c");
  ASSERT_EQ(pages.commit(*store, slice(all, 0, 250)).inserted, 250u);  // chunks [0,120) [120,240) [240,250)
  std::vector<keyed_record> restated;
  for (std::size_t i : {0u, 119u, 120u, 60u, 249u, 245u}) {
    auto r = all[i];
    r.record.units += 100;
    restated.push_back(r);
  }
  // The same transaction inserts a key and restates it twice.
  auto fresh = all[250];
  auto fresh2 = fresh, fresh3 = fresh;
  fresh2.record.units += 1;
  fresh3.record.units += 2;
  restated.push_back(fresh);
  restated.push_back(fresh2);
  restated.push_back(fresh3);
  const auto o = pages.commit(*store, restated);
  EXPECT_EQ(o.restatements, 8u);
  EXPECT_EQ(o.inserted, 1u);
  EXPECT_EQ(stats_of(*store).index_new, 251u);  // one entry per key
  store.reset();

  auto ro = open_store(dir.path(), true);
  ASSERT_TRUE(ro);
  EXPECT_EQ(stats_of(*ro).index_new, 251u);
  for (std::size_t i : {0u, 119u, 120u, 60u, 249u, 245u}) {
    const auto v = versions_of(*ro, all[i].key);
    ASSERT_EQ(v.size(), 2u) << i;
    EXPECT_EQ(v.back().record.units, all[i].record.units + 100) << i;
  }
  ASSERT_EQ(versions_of(*ro, fresh.key).size(), 3u);
  EXPECT_EQ(versions_of(*ro, fresh.key).back().record.units, fresh3.record.units);
  EXPECT_EQ(versions_of(*ro, all[1].key).size(), 1u);
  ro.reset();

  // Rebuilt from the log, the table finds each key's latest version: every record again is a
  // duplicate, and each restated one restated once more is one restatement.
  store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(stats_of(*store).index_new, 251u);
  std::vector<keyed_record> again(all.begin(), all.begin() + 250);
  for (const auto& r : restated) again.push_back(r);
  const auto repeat = pages.commit(*store, again);
  EXPECT_EQ(repeat.duplicates, again.size());
  auto once_more = restated.front();
  once_more.record.units += 1;
  EXPECT_EQ(pages.commit(*store, {once_more}).restatements, 1u);
  EXPECT_EQ(versions_of(*store, once_more.key).size(), 3u);
  EXPECT_EQ(stats_of(*store).index_new, 251u);
}

TEST(ledger_store, a_ledger_of_the_second_format_is_read_as_it_is_and_restated_in_place) {
  // `dspsync-ledger/2` kept one log entry per index entry (sequence -> prefix). Such a log is read
  // as it is, by a read-only open and by the table's rebuild; a restatement removes an old-style
  // entry; new entries go in chunks after it; the ledger is stamped `/5`.
  scratch_dir dir;
  auto all = numbered_records("USRC1791", 1000, 200, "w", 5);
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  page_chain pages("w");
  for (std::size_t i = 0; i < 150; i += 50) pages.commit(*store, slice(all, i, 50));
  store.reset();
  {
    auto env = lmdb::env::open(dir.path(), 64u << 20, 32, 0);
    auto t = lmdb::txn::begin(env, false);
    const MDB_dbi log = lmdb::open_db(t, "keys_log", 0);
    const auto entries = log_entries_in(t);
    ASSERT_EQ(entries.size(), 150u);
    ASSERT_EQ(mdb_drop(t.get(), log, 0), MDB_SUCCESS);
    for (const auto& [seq, prefix] : entries) lmdb::put(t, log, seq, prefix, MDB_APPEND);
    lmdb::put(t, lmdb::open_db(t, "meta", 0), "format", "dspsync-ledger/2");
    t.commit();
  }
  auto ro = open_store(dir.path(), true);
  ASSERT_TRUE(ro);
  EXPECT_EQ(stats_of(*ro).index_new, 150u);
  EXPECT_EQ(versions_of(*ro, all[77].key).size(), 1u);
  ro.reset();

  store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto restated = all[77];
  restated.record.units += 9;
  auto more = slice(all, 150, 50);
  more.push_back(restated);
  const auto o = pages.commit(*store, more);
  EXPECT_EQ(o.inserted, 50u);
  EXPECT_EQ(o.restatements, 1u);
  EXPECT_EQ(stats_of(*store).index_new, 200u);
  store.reset();
  store = open_store(dir.path());
  ASSERT_TRUE(store);
  all[77] = restated;
  EXPECT_EQ(pages.commit(*store, all).duplicates, all.size());
  store.reset();
  auto env = lmdb::env::open(dir.path(), 64u << 20, 32, 0);
  auto t = lmdb::txn::begin(env, true);
  std::string_view fmt;
  ASSERT_TRUE(lmdb::get(t, lmdb::open_db(t, "meta", 0), "format", fmt));
  EXPECT_EQ(fmt, "dspsync-ledger/5");
}

TEST(ledger_store, a_ledger_of_the_first_format_is_read_as_it_is_and_moved_on_when_written) {
  // `dspsync-ledger/1` kept the key index's new level as a B-tree, `keys_new` (prefix ->
  // sequence). A read-only open reads it there; an open for writing moves it into the log and
  // stamps the ledger `dspsync-ledger/5`, which earlier builds refuse instead of missing keys.
  scratch_dir dir;
  auto all = numbered_records("USRC1770", 1000, 130, "v", 7);
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  store->set_index_limits(50, 200);
  page_chain pages("q");
  for (std::size_t i = 0; i < all.size(); i += 40) pages.commit(*store, slice(all, i, 40));
  auto restated = all[125];
  restated.record.units += 1;
  ASSERT_EQ(pages.commit(*store, {restated}).restatements, 1u);
  const auto before = stats_of(*store);
  ASSERT_GT(before.index_new, 0u);
  ASSERT_GT(before.index_mid, 0u);
  store.reset();
  // Written back the way the first format kept it.
  {
    auto env = lmdb::env::open(dir.path(), 64u << 20, 32, 0);
    auto t = lmdb::txn::begin(env, false);
    const MDB_dbi log = lmdb::open_db(t, "keys_log", 0);
    const MDB_dbi v1 = lmdb::open_db(t, "keys_new", MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED);
    for (const auto& [seq, prefix] : log_entries_in(t)) lmdb::put(t, v1, prefix, seq);
    ASSERT_EQ(mdb_drop(t.get(), log, 1), MDB_SUCCESS);
    lmdb::put(t, lmdb::open_db(t, "meta", 0), "format", "dspsync-ledger/1");
    t.commit();
  }
  auto ro = open_store(dir.path(), true);
  ASSERT_TRUE(ro);
  EXPECT_EQ(stats_of(*ro).index_new, before.index_new);
  EXPECT_EQ(versions_of(*ro, all[125].key).size(), 2u);
  EXPECT_EQ(versions_of(*ro, all[0].key).size(), 1u);
  ro.reset();

  store = open_store(dir.path());
  ASSERT_TRUE(store);
  const auto moved = stats_of(*store);
  EXPECT_EQ(moved.index_new, before.index_new);
  EXPECT_EQ(moved.index_new + moved.index_mid + moved.index_main, all.size());
  all[125] = restated;
  const auto repeat = pages.commit(*store, all);
  EXPECT_EQ(repeat.duplicates, all.size());
  EXPECT_EQ(repeat.inserted + repeat.restatements, 0u);
  store.reset();
  {
    auto env = lmdb::env::open(dir.path(), 64u << 20, 32, 0);
    auto t = lmdb::txn::begin(env, true);
    std::string_view fmt;
    ASSERT_TRUE(lmdb::get(t, lmdb::open_db(t, "meta", 0), "format", fmt));
    EXPECT_EQ(fmt, "dspsync-ledger/5");
    EXPECT_THROW(lmdb::open_db(t, "keys_new", 0), lmdb::error);  // gone
  }
}

// --- audit chain ---------------------------------------------------------------------------------

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(ledger_store, intact_audit_chain_verifies) {
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto empty = store->verify_audit();
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->entries, 0u);
  EXPECT_EQ(empty->first_broken_seq, 0u);
  auto b1 = make_batch("s", "", "c1", {keyed(make_record("USRC17607839", "t1", 1))});
  auto b2 = make_batch("s", "c1", "c2", {});
  commit(*store, {&b1, &b2});
  ASSERT_TRUE(store->audit("record.released", "operator", "abc", "because"));
  ASSERT_TRUE(store->set_cursor("s", "c7", "operator"));
  auto v = store->verify_audit();
  ASSERT_TRUE(v);
  EXPECT_EQ(v->entries, 4u);
  EXPECT_EQ(v->entries, stats_of(*store).audit_entries);
  EXPECT_EQ(v->first_broken_seq, 0u) << v->detail;
}

class ledger_audit_tamper : public ::testing::TestWithParam<uint64_t> {};

TEST_P(ledger_audit_tamper, names_the_entry_whose_bytes_changed) {
  const uint64_t target = GetParam();
  constexpr uint64_t total = 4;
  scratch_dir dir;
  std::string marker;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    for (uint64_t i = 1; i <= total; ++i) {
      auto b = make_batch("s", i == 1 ? "" : "c" + std::to_string(i - 1), "c" + std::to_string(i),
                          {keyed(make_record("USRC17607839", "t" + std::to_string(i), 1))});
      // The correlation id is in the page too, but "correlation=" only in the audit entry's details.
      b.correlation_id = "tamper-marker-" + std::to_string(i) + "-x";
      b.request = "GET /tamper-marker-" + std::to_string(i);
      commit_one(*store, b);
    }
    marker = "correlation=tamper-marker-" + std::to_string(target) + "-x";
    auto v = store->verify_audit();
    ASSERT_TRUE(v);
    ASSERT_EQ(v->first_broken_seq, 0u);
  }
  const std::string data_path = dir.sub("data.mdb");
  std::string bytes = read_file(data_path);
  ASSERT_FALSE(bytes.empty());
  std::size_t hits = 0;
  for (auto pos = bytes.find(marker); pos != std::string::npos; pos = bytes.find(marker, pos + 1)) {
    bytes[pos + marker.size() - 1] ^= 0x01;  // 'x' -> 'y': a one-bit change in the details text
    ++hits;
  }
  // Copy-on-write may leave stale copies in free pages; flipping those too is harmless.
  ASSERT_GE(hits, 1u);
  write_file(data_path, bytes);

  auto store = open_store(dir.path(), /*read_only=*/true);
  ASSERT_TRUE(store);
  auto v = store->verify_audit();
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->first_broken_seq, target) << v->detail;
  EXPECT_FALSE(v->detail.empty());
}

INSTANTIATE_TEST_SUITE_P(first_middle_last, ledger_audit_tamper, ::testing::Values(1u, 2u, 3u, 4u));

// --- open ----------------------------------------------------------------------------------------

TEST(ledger_store, second_open_of_the_same_directory_fails_while_the_first_is_open) {
  scratch_dir dir;
  auto first = open_store(dir.path());
  ASSERT_TRUE(first);
  ledger_options opts;
  opts.dir = dir.path();
  opts.map_size_mib = 64;
  auto second = ledger_store::open(opts);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ec::storage_failure);
  EXPECT_NE(second.error().message.find("another dspsync engine"), std::string::npos)
      << second.error().message;
  // The refused open did not disturb the first engine, and the lock goes with it.
  auto b = make_batch("s", "", "c1", {keyed(make_record("USRC17607839", "t1", 1))});
  EXPECT_EQ(commit_one(*first, b).inserted, 1u);
  first.reset();
  auto third = ledger_store::open(opts);
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_EQ((*third)->stats()->record_versions, 1u);
}

TEST(ledger_store, foreign_lmdb_environment_is_refused) {
  scratch_dir dir;
  {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), MDB_SUCCESS);
    ASSERT_EQ(mdb_env_set_maxdbs(env, 4), MDB_SUCCESS);
    ASSERT_EQ(mdb_env_open(env, dir.path().c_str(), 0, 0600), MDB_SUCCESS);
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), MDB_SUCCESS);
    MDB_dbi dbi = 0;
    ASSERT_EQ(mdb_dbi_open(txn, "other", MDB_CREATE, &dbi), MDB_SUCCESS);
    std::string k = "key", v = "value";
    MDB_val kv{k.size(), k.data()}, vv{v.size(), v.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &kv, &vv, 0), MDB_SUCCESS);
    ASSERT_EQ(mdb_txn_commit(txn), MDB_SUCCESS);
    mdb_env_close(env);
  }
  ledger_options opts;
  opts.dir = dir.path();
  opts.map_size_mib = 64;
  auto s = ledger_store::open(opts);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ec::storage_failure);
  EXPECT_NE(s.error().message.find("not a dspsync ledger"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find(dir.path()), std::string::npos) << s.error().message;
}

TEST(ledger_store, environment_with_another_format_tag_is_refused) {
  scratch_dir dir;
  {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), MDB_SUCCESS);
    ASSERT_EQ(mdb_env_set_maxdbs(env, 4), MDB_SUCCESS);
    ASSERT_EQ(mdb_env_open(env, dir.path().c_str(), 0, 0600), MDB_SUCCESS);
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), MDB_SUCCESS);
    MDB_dbi dbi = 0;
    ASSERT_EQ(mdb_dbi_open(txn, "meta", MDB_CREATE, &dbi), MDB_SUCCESS);
    std::string k = "format", v = "someone-else/3";
    MDB_val kv{k.size(), k.data()}, vv{v.size(), v.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &kv, &vv, 0), MDB_SUCCESS);
    ASSERT_EQ(mdb_txn_commit(txn), MDB_SUCCESS);
    mdb_env_close(env);
  }
  ledger_options opts;
  opts.dir = dir.path();
  opts.map_size_mib = 64;
  auto s = ledger_store::open(opts);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("someone-else/3"), std::string::npos) << s.error().message;
}

TEST(ledger_store, open_errors_name_the_directory) {
  scratch_dir dir;
  struct open_case {
    std::string what;
    std::string path;
    bool read_only;
    bool create;
    std::string expect;
  };
  write_file(dir.sub("plain-file"), "not a directory");
  const std::vector<open_case> cases = {
      {"missing parent", dir.sub("no/such/parent"), false, true, "parent"},
      {"not a directory", dir.sub("plain-file"), false, true, "not a directory"},
      {"read-only on a missing dir", dir.sub("missing"), true, true, "missing"},
      {"no create on a missing dir", dir.sub("missing2"), false, false, "missing2"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    ledger_options opts;
    opts.dir = c.path;
    opts.map_size_mib = 64;
    opts.read_only = c.read_only;
    opts.create = c.create;
    auto s = ledger_store::open(opts);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ec::storage_failure);
    EXPECT_NE(s.error().message.find(c.path), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find(c.expect), std::string::npos) << s.error().message;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.sub("missing")));
  EXPECT_FALSE(std::filesystem::exists(dir.sub("missing2")));
}

TEST(ledger_store, creates_a_missing_directory_and_keeps_its_files_private) {
  scratch_dir dir;
  const std::string data_dir = dir.sub("ledger");
  auto store = open_store(data_dir);
  ASSERT_TRUE(store);
  commit_one(*store, make_batch("s", "", "c1", {keyed(make_record("USRC17607839", "t1", 1))}));
  struct stat st {};
  ASSERT_EQ(::stat((data_dir + "/data.mdb").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(data_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << "the data directory is readable by others";
}

TEST(ledger_store, read_only_open_reads_but_does_not_lock_out_the_writer) {
  scratch_dir dir;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    commit_one(*store, make_batch("s", "", "c1", {keyed(make_record("USRC17607839", "t1", 1))}));
  }
  auto ro = open_store(dir.path(), /*read_only=*/true);
  ASSERT_TRUE(ro);
  EXPECT_EQ(stats_of(*ro).record_versions, 1u);
  EXPECT_EQ(checkpoint_of(*ro, "s").cursor, "c1");
}

}  // namespace
}  // namespace dspsync
