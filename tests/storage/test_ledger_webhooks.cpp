// The ledger's webhook part: updates of records not yet ingested are held durably and applied in
// arrival order in the transaction that stores their base record (whatever its source), the counts
// keep the identity at every commit, and a replayed delivery is recorded and stores nothing.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "domain/idempotency.hpp"
#include "storage/ledger_store.hpp"

namespace dspsync {
namespace {

class scratch_dir {
 public:
  scratch_dir() {
    char tmpl[] = "/tmp/dspsync-webhook-ledger-XXXXXX";
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

std::vector<std::string> key_fields() {
  return {"isrc", "upc", "dsp", "reporting_period", "transaction_id", "currency"};
}

keyed_record record(const std::string& txn, int64_t revenue_units, bool update = false) {
  royalty_record r;
  r.isrc = "USRC17607839";
  r.upc = "0012345678905";
  r.dsp = "hookdsp";
  r.territory = "US";
  r.territory_raw = "US";
  r.reporting_period = "2026-10";
  r.transaction_id = txn;
  r.currency = "USD";
  r.units = 10;
  r.revenue = money::from_units(revenue_units);
  key_deriver keys(key_fields());
  keyed_record kr;
  kr.key = keys.key(r);
  kr.record = r;
  kr.update = update;
  return kr;
}

ingest_batch batch(const std::string& source, std::vector<keyed_record> records,
                   const std::string& tag = "") {
  ingest_batch b;
  b.source = source;
  b.request = "POST /webhooks/hooks" + tag;
  b.body = "{\"tag\":\"" + tag + "\"}";
  b.records_in = records.size();
  b.records = std::move(records);
  b.caught_up = true;
  return b;
}

batch_outcome commit_one(ledger_store& store, const ingest_batch& b) {
  auto out = store.commit({&b});
  EXPECT_TRUE(out) << out.error().message;
  return out ? (*out)[0] : batch_outcome{};
}

source_checkpoint checkpoint(ledger_store& store, const std::string& source) {
  auto cp = store.checkpoint(source);
  EXPECT_TRUE(cp && *cp) << source;
  return cp && *cp ? **cp : source_checkpoint{};
}

void expect_identity(const source_checkpoint& cp) {
  EXPECT_EQ(cp.records_in, cp.inserted + cp.restatements + cp.duplicates + cp.quarantined);
}

std::vector<int64_t> revenues(ledger_store& store, const record_key& key) {
  std::vector<int64_t> out;
  auto v = store.versions(key);
  EXPECT_TRUE(v);
  if (v)
    for (const auto& s : *v) out.push_back(s.record.revenue.units());
  return out;
}

TEST(ledger_webhooks, updates_wait_for_their_base_and_apply_in_arrival_order) {
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  const auto u1 = record("k", 200, true), u2 = record("k", 300, true), u3 = record("k", 200, true);
  auto o1 = commit_one(*store, batch("hooks/webhook", {u1}, "1"));
  EXPECT_EQ(o1.held, 1u);
  EXPECT_EQ(o1.inserted, 0u);
  auto o2 = commit_one(*store, batch("hooks/webhook", {u2, u3}, "2"));
  EXPECT_EQ(o2.held, 2u);
  EXPECT_EQ(*store->held_updates(), 3u);
  EXPECT_TRUE(revenues(*store, u1.key).empty()) << "nothing stored while the base is missing";
  // Held updates are not counted yet: the identity holds at every commit.
  auto cp = checkpoint(*store, "hooks/webhook");
  EXPECT_EQ(cp.records_in, 0u);
  expect_identity(cp);
  std::vector<held_update> held;
  ASSERT_TRUE(store->for_each_held([&](const held_update& h) { held.push_back(h); }));
  ASSERT_EQ(held.size(), 3u);
  EXPECT_LT(held[0].arrival, held[1].arrival);
  EXPECT_EQ(held[0].record.record.revenue.units(), 200);
  EXPECT_EQ(held[1].record.record.revenue.units(), 300);
  EXPECT_EQ(held[0].source, "hooks/webhook");

  // The base arrives from a poll: the updates are applied after it, in arrival order; the third is
  // a copy of the first update, so a duplicate.
  const auto base = record("k", 100);
  auto o3 = commit_one(*store, batch("feed", {base}, "poll"));
  EXPECT_EQ(o3.inserted, 1u);
  EXPECT_EQ(o3.released, 3u);
  EXPECT_EQ(revenues(*store, base.key), (std::vector<int64_t>{100, 200, 300}));
  EXPECT_EQ(*store->held_updates(), 0u);
  auto versions = *store->versions(base.key);
  EXPECT_EQ(versions.back().version, 3u);
  EXPECT_EQ(versions[1].prev_seq, versions[0].seq);
  EXPECT_EQ(versions[1].page_seq, o1.page_seq) << "lineage: the page the update arrived on";

  cp = checkpoint(*store, "hooks/webhook");
  EXPECT_EQ(cp.records_in, 3u);
  EXPECT_EQ(cp.restatements, 2u);
  EXPECT_EQ(cp.duplicates, 1u);
  expect_identity(cp);
  auto feed = checkpoint(*store, "feed");
  EXPECT_EQ(feed.records_in, 1u);
  EXPECT_EQ(feed.inserted, 1u);
  expect_identity(feed);

  bool audited = false;
  ASSERT_TRUE(store->for_each_audit([&](const audit_entry& a) {
    if (a.actor == "feed" && a.details.find("released=3") != std::string::npos) audited = true;
  }));
  EXPECT_TRUE(audited);
  EXPECT_EQ(store->verify_audit()->first_broken_seq, 0u);
}

TEST(ledger_webhooks, a_base_in_the_same_batch_releases_at_once_and_updates_of_known_keys_restate) {
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  const auto u = record("m", 500, true), base = record("m", 400);
  auto o = commit_one(*store, batch("hooks/webhook", {u, base}));
  EXPECT_EQ(o.held, 1u);
  EXPECT_EQ(o.inserted, 1u);
  EXPECT_EQ(o.released, 1u);
  EXPECT_EQ(revenues(*store, base.key), (std::vector<int64_t>{400, 500}));
  auto cp = checkpoint(*store, "hooks/webhook");
  EXPECT_EQ(cp.records_in, 2u);
  EXPECT_EQ(cp.inserted, 1u);
  EXPECT_EQ(cp.restatements, 1u);
  expect_identity(cp);
  // An update of a stored key is an ordinary restatement.
  auto o2 = commit_one(*store, batch("hooks/webhook", {record("m", 600, true)}, "x"));
  EXPECT_EQ(o2.held, 0u);
  EXPECT_EQ(o2.restatements, 1u);
  EXPECT_EQ(*store->held_updates(), 0u);
}

TEST(ledger_webhooks, held_updates_survive_reopening) {
  scratch_dir dir;
  const auto u = record("r", 900, true);
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    commit_one(*store, batch("hooks/webhook", {u}));
  }
  {
    auto ro = open_store(dir.path(), true);
    ASSERT_TRUE(ro);
    EXPECT_EQ(*ro->held_updates(), 1u);
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->held_updates(), 1u);
  auto o = commit_one(*store, batch("feed", {record("r", 800)}));
  EXPECT_EQ(o.released, 1u);
  EXPECT_EQ(revenues(*store, u.key), (std::vector<int64_t>{800, 900}));
}

TEST(ledger_webhooks, a_replayed_delivery_is_recorded_and_stores_nothing) {
  scratch_dir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto b = batch("hooks/webhook", {record("p", 100)});
  b.replay_key = std::string(32, 'r');
  b.signed_at_s = 1700000000;
  auto first = commit_one(*store, b);
  EXPECT_FALSE(first.replayed);
  EXPECT_EQ(first.inserted, 1u);
  const auto stats = *store->stats();
  auto again = commit_one(*store, b);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.page_seq, first.page_seq);
  EXPECT_EQ(store->stats()->pages, stats.pages);
  EXPECT_EQ(store->stats()->record_versions, stats.record_versions);
  EXPECT_EQ(checkpoint(*store, "hooks/webhook").records_in, 1u);
  bool audited = false;
  ASSERT_TRUE(store->for_each_audit([&](const audit_entry& a) {
    if (a.kind == "webhook.replayed" && a.subject == "page:" + std::to_string(first.page_seq)) audited = true;
  }));
  EXPECT_TRUE(audited);
  // Another signature at the same time is another delivery (a duplicate by content).
  auto other = b;
  other.replay_key = std::string(32, 's');
  auto o = commit_one(*store, other);
  EXPECT_FALSE(o.replayed);
  EXPECT_EQ(o.duplicates, 1u);
  // Once the window has passed, the record is dropped (a replay would fail the timestamp check).
  auto later = batch("hooks/webhook", {record("q", 1)});
  later.replay_key = std::string(32, 't');
  later.signed_at_s = 1700001000;
  later.replays_expire_before_s = 1700000500;
  commit_one(*store, later);
  auto replay = commit_one(*store, b);
  EXPECT_FALSE(replay.replayed) << "the expired record was dropped";
}

}  // namespace
}  // namespace dspsync
